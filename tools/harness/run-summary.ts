// A measurement's summary file, as every bench subcommand on a server session writes it: the machine
// at the end, the command line, what was served, when it started, then the run's own fields; written
// where the command line asked (--out FILE, --save WHAT under docs/results/bench/), even for a run that
// failed part-way (what was measured until then). Returns the JSON text.
import os from "node:os";
import { commandLine } from "./cli";
import { loadAverage } from "./machine";
import { writeResult } from "./results";
import type { ServerSession } from "./session";
import type { Log } from "./util";

export interface RunSummary {
  /** The subcommand: "bulk", "watch", "requests". */
  name: string;
  argv: readonly string[];
  session: ServerSession;
  startedAt: number;
  /** --save WHAT, --out FILE. */
  save?: string | undefined;
  out?: string | undefined;
  /** The run's own figures and parameters, after the common fields. */
  fields: Record<string, unknown>;
  log: Log;
}

export function writeRunSummary({
  name,
  argv,
  session,
  startedAt,
  save,
  out,
  fields,
  log,
}: RunSummary): string {
  const source = session.source();
  const summary = {
    machine: {
      nproc: os.availableParallelism(),
      cpu_model: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      load_average_at_end: loadAverage(),
    },
    command: commandLine("bench", [name, ...argv]),
    source,
    started_at: new Date(startedAt).toISOString(),
    ...fields,
  };
  const json = JSON.stringify(summary, null, 2);
  const saved = save && {
    startedAt,
    commit: source.commit,
    dirty: (source.uncommitted_changes_in_served_files ?? 0) > 0,
    what: save,
  };
  for (const file of writeResult(json, { kind: "bench", out, save: saved || undefined }))
    log(`${name}: written to ${file}`);
  return json;
}
