#!/usr/bin/env node
// Writes saved soak summaries (the JSON of `node soak/run.mjs --out FILE`) into the generated block of
// the "Crash-restart soak" section of docs/reliability.md: a side-by-side comparison of the runs, then
// the full table of the first one. Prose around the block and other sections are kept.
//
//   node soak/render.mjs soak/results/a.json [soak/results/b.json ...] [--print]
import { readFileSync } from "node:fs";
import path from "node:path";
import { renderMarkdown, updateDocs } from "./lib/report.mjs";
import { projectRoot } from "./lib/server.mjs";

const args = process.argv.slice(2);
const print = args.includes("--print");
const files = args.filter((a) => a !== "--print");
if (files.length === 0) {
  console.error("usage: node soak/render.mjs SUMMARY.json... [--print]");
  process.exit(2);
}
const block = renderMarkdown(files.map((f) => JSON.parse(readFileSync(f, "utf8"))));
if (print) console.log(block);
else {
  updateDocs(path.join(projectRoot, "docs/reliability.md"), block, "");
  console.error("soak: wrote the figures into docs/reliability.md");
}
