// Writes saved soak summaries (`npm run soak -- --save WHAT`, or --out FILE) into the generated block of
// the "Crash-restart soak" section of docs/reliability.md: a side-by-side comparison of the runs, then
// the full table of the first one. Prose around the block and other sections are kept.
//
//   node_modules/.bin/tsx soak/render.ts soak/results/a.json [soak/results/b.json ...] [--print]
import { readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../harness/project";
import { renderMarkdown, updateDocs } from "./lib/report";
import type { Summary } from "./phases/verify";

const args = process.argv.slice(2);
const print = args.includes("--print");
const files = args.filter((a) => a !== "--print");
if (files.length === 0) {
  console.error("usage: node_modules/.bin/tsx soak/render.ts SUMMARY.json... [--print]");
  process.exit(2);
}
const block = renderMarkdown(files.map((f) => JSON.parse(readFileSync(f, "utf8")) as Summary));
if (print) console.log(block);
else {
  updateDocs(path.join(projectRoot, "docs/reliability.md"), block, "");
  console.error("soak: wrote the figures into docs/reliability.md");
}
