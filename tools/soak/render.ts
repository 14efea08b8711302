// `npm run soak -- render`: writes saved soak summaries (`npm run soak -- --save WHAT`, or --out FILE)
// into the generated block of the "Crash-restart soak" section of docs/reliability.md: a side-by-side
// comparison of the runs, then the full table of the first one. Prose around the block and other
// sections are kept.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseCommand } from "../harness/cli";
import { projectRoot } from "../harness/project";
import { renderMarkdown, updateDocs } from "./lib/report";
import type { Summary } from "./phases/verify";

const usage = `usage: npm run soak -- render SUMMARY.json... [--print]
  e.g. npm run soak -- render docs/results/soak/a.json docs/results/soak/b.json
  --print   print the block instead of writing it into docs/reliability.md`;

export async function main(argv: string[]): Promise<undefined> {
  const { values, positionals, fail } = parseCommand(argv, {
    name: "soak render",
    usage,
    options: { print: { type: "boolean", default: false } },
    positionals: true,
  });
  if (positionals.length === 0) fail("name at least one summary");
  const block = renderMarkdown(positionals.map((f) => JSON.parse(readFileSync(f, "utf8")) as Summary));
  if (values.print) console.log(block);
  else {
    updateDocs(path.join(projectRoot, "docs/reliability.md"), block, "");
    console.error("soak: wrote the figures into docs/reliability.md");
  }
}
