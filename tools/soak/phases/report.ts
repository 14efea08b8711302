// Phase 7, report: the table on stderr, the JSON summary on stdout and in the files asked for, the
// figures in docs/reliability.md with --write-docs, and the raw records when the run is kept.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../../harness/project";
import { resultsDirectory, saveResult } from "../../harness/results";
import { renderMarkdown, renderTable, updateDocs } from "../lib/report";
import type { Kill, SoakDelivery, SoakJob } from "../lib/types";
import type { SoakOptions } from "../options";
import type { Summary } from "./verify";

const INTRO =
  "`npm run soak` kills the local server (the whole `wrangler dev` process group, SIGKILL) in the middle " +
  "of a run of thousands of jobs, restarts it on the same state, and checks every job afterwards.";

export function publish(summary: Summary, opts: SoakOptions): void {
  process.stderr.write(`\n${renderTable(summary)}\n\n`);
  const json = `${JSON.stringify(summary, null, 2)}\n`;
  process.stdout.write(json);
  if (opts.out) {
    mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    writeFileSync(opts.out, json);
  }
  if (opts.save) {
    const { commit, uncommittedChanges } = summary.code;
    const name = {
      startedAt: Date.parse(summary.startedAt),
      commit,
      dirty: uncommittedChanges === null || uncommittedChanges.length > 0,
      what: opts.save,
    };
    const file = saveResult(resultsDirectory("soak"), name, json);
    process.stderr.write(`soak: summary written to ${path.relative(process.cwd(), file)}\n`);
  }
  if (opts.writeDocs) {
    updateDocs(path.join(projectRoot, "docs/reliability.md"), renderMarkdown([summary]), INTRO);
    process.stderr.write("soak: wrote the figures into docs/reliability.md\n");
  }
}

/** The raw records, for a run that is kept (a failure, or --keep-state): enough to analyse it again. */
export function keepRecords(tmp: string, jobs: SoakJob[], deliveries: SoakDelivery[], kills: Kill[]): void {
  writeFileSync(path.join(tmp, "jobs.json"), JSON.stringify(jobs.map(({ token: _t, ...j }) => j)));
  writeFileSync(path.join(tmp, "deliveries.json"), JSON.stringify(deliveries));
  writeFileSync(path.join(tmp, "kills.json"), JSON.stringify(kills));
}
