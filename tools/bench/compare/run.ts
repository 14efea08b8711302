// `npm run bench -- compare`, the peer comparison (issue #8 part 4): the same four scenarios against
// BullMQ + Redis (tools/bench/peer/) and against this project (a private `wrangler dev`, started as
// `npm run dev` starts it), one system at a time, in one run on this machine; prints a side-by-side
// table and writes the JSON to docs/results/bench/<date>-<commit>-compare.json. See docs/benchmarks.md, "Peer comparison".
//
//   npm run bench -- compare [--systems bullmq,scheduler] [--quick] [--out FILE] [...]
//
// Traffic goes to 127.0.0.1 only; every loop is bounded in count and time; a watchdog (--max-seconds)
// ends the run regardless, and every server started is stopped on exit, error or signal.
import os from "node:os";
import { commandLine, parseCommand } from "../../harness/cli";
import { cpuBetween, cpuSnapshot } from "../../harness/cpu-window";
import { load1, loadAverage, machine, waitForLoad } from "../../harness/machine";
import { headCommit, SERVED, uncommittedChanges } from "../../harness/project";
import { writeResult } from "../../harness/results";
import { guardMeasurement } from "../../harness/run-guard";
import { round } from "../../harness/stats";
import { type Log, makeLog } from "../../harness/util";
import { startPeer } from "./peer-system";
import { type Recorder, startRecorder } from "./recorder";
import { comparisonRows, markdownTable } from "./report";
import { startScheduler } from "./scheduler-system";
import { settle } from "./settle";
import { batchSubmits, singleSubmits } from "./submit-scenarios";
import type { SystemUnderTest } from "./system";
import { herd, steadyLoad } from "./timing-scenarios";

const SYSTEMS = ["bullmq", "scheduler"] as const;
const SCENARIOS = ["singles", "batch", "steady", "steady300", "herd"] as const;

const usage = `usage: npm run bench -- compare [options]      (or npm run bench:compare -- [options])
  --systems LIST      bullmq,scheduler (default: both, in that order)
  --quick             smaller runs (600 singles, 4,000 batched, 5 s steady, 1,000 herd) for a smoke test
  --scenarios LIST    singles,batch,steady,steady300,herd (default: all, in that order)
  --out FILE          where to write the JSON (default docs/results/bench/<date>-<commit>-compare.json)
  --port N            first port tried for wrangler dev (default 8855); the peer takes the first free from N+20
  --redis-port N      Redis for the peer (default 6390)
  --wait-for-load X   before each system, wait (at most 300 s) until the 1-minute load is ≤ X
  --keep-state        keep the scheduler's temporary state directory and log (whose info events, such
                      as attempts_reported, are there only with --server-logs)
  --server-logs       serve the scheduler with wrangler's full log (a line per request served, and the
                      scheduler's info events) instead of npm run dev -- --quiet (docs/benchmarks.md)
  --max-seconds N     watchdog for the whole run (default 2400)`;

function options(argv: string[]) {
  const cli = parseCommand(argv, {
    name: "bench compare",
    usage,
    options: {
      systems: { type: "string", default: SYSTEMS.join(",") },
      scenarios: { type: "string", default: SCENARIOS.join(",") },
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      port: { type: "string", default: "8855" },
      "redis-port": { type: "string", default: "6390" },
      "wait-for-load": { type: "string", default: "0" },
      "keep-state": { type: "boolean", default: false },
      "server-logs": { type: "boolean", default: false },
      "max-seconds": { type: "string", default: "2400" },
    },
  });
  const { values, number: num } = cli;
  const q = values.quick;
  return {
    systems: cli.list("systems", values.systems, SYSTEMS),
    scenarios: cli.list("scenarios", values.scenarios, SCENARIOS),
    quick: q,
    out: values.out,
    port: num("port", values.port, 1024, 65000),
    redisPort: num("redis-port", values["redis-port"], 1024, 65535),
    waitForLoad: num("wait-for-load", values["wait-for-load"], 0, 100),
    keepState: values["keep-state"],
    serverLogs: values["server-logs"],
    maxSeconds: num("max-seconds", values["max-seconds"], 60, 3600),
    singles: { jobs: q ? 600 : 3000, clients: 32 },
    batch: { jobs: q ? 4000 : 20_000, perRequest: 500, inFlight: 4 },
    steady: { rate: 100, seconds: q ? 5 : 15, dueAfterMs: 2000, maxInFlight: 64, settleSeconds: 120 },
    // Issue 16: a steady 300 jobs/s must hold p99 lateness within 1 s.
    steady300: { rate: 300, seconds: q ? 5 : 15, dueAfterMs: 2000, maxInFlight: 64, settleSeconds: 120 },
    herd: {
      jobs: q ? 1000 : 5000,
      perRequest: 500,
      inFlight: 4,
      clients: 32,
      minLeadSeconds: 5,
      maxLeadSeconds: 300,
      drainSeconds: 300,
    },
  };
}
type Options = ReturnType<typeof options>;

/** Files whose uncommitted changes would make the results another code's than the commit's. */
const MEASURED = [...SERVED, "tools"];

/** Runs the scenarios against one system, in order; a failed scenario is recorded and the next runs. */
async function runScenarios(sys: SystemUnderTest, recorder: Recorder, o: Options, log: Log) {
  const results: Record<string, Record<string, unknown>> = {};
  const run = async (name: (typeof SCENARIOS)[number], scenario: () => Promise<object>) => {
    if (!o.scenarios.includes(name)) return;
    const settled = await settle(() => sys.processGroups());
    const started = Date.now();
    const loadBefore = load1();
    log(
      `${sys.name}: scenario ${name} (load ${loadBefore}; quiet ${settled.quiet} after ${settled.waited_s} s)`,
    );
    let result: Record<string, unknown>;
    const cpuBefore = cpuSnapshot(sys.processGroups());
    try {
      result = { ...(await scenario()) };
    } catch (err) {
      log(`${sys.name}: scenario ${name} failed: ${err instanceof Error ? err.stack : err}`);
      result = { error: String(err) };
    }
    results[name] = {
      // Where the machine's CPU went meanwhile (a scenario may say over which part: steadyLoad's is
      // its load alone): a miss on a machine at capacity reads differently from one on an idle machine.
      cpu: cpuBetween(cpuBefore, cpuSnapshot(sys.processGroups()), os.availableParallelism()),
      ...result,
      settled_before: settled,
      elapsed_s: round((Date.now() - started) / 1000, 1),
      load1_before: loadBefore,
      load1_after: load1(),
      server_errors: sys.errorsSince(started),
    };
    log(`${sys.name}: scenario ${name} took ${results[name]?.elapsed_s} s`);
  };
  await run("singles", () => singleSubmits(sys, o.singles));
  await run("batch", () => batchSubmits(sys, o.batch));
  await run("steady", () => steadyLoad(sys, recorder, o.steady, log));
  await run("steady300", () => steadyLoad(sys, recorder, o.steady300, log));
  const batch = results.batch as { available?: boolean; jobs_per_s?: number } | undefined;
  const byBatch = batch?.available === true;
  const expectedPerSecond = byBatch
    ? (batch?.jobs_per_s ?? null)
    : ((results.singles as { jobs_per_s?: number } | undefined)?.jobs_per_s ?? null);
  await run("herd", () => herd(sys, recorder, o.herd, { byBatch, expectedPerSecond }, log));
  return results;
}

export async function main(argv: string[]): Promise<undefined> {
  const o = options(argv);
  const t0 = Date.now();
  const log = makeLog(t0);
  let current: SystemUnderTest | undefined;
  let recorder: Recorder | undefined;
  const cleanup = async () => {
    await current?.stop().catch(() => {});
    await recorder?.close().catch(() => {});
  };
  const guard = guardMeasurement("compare", o.maxSeconds, log, cleanup);
  const commit = headCommit();
  // Taken before anything runs: the results are of the code as it was when the run started.
  const dirty = (uncommittedChanges(MEASURED)?.length ?? 0) > 0;

  const info = machine();
  log(`compare: load average at start ${info.load_average_at_start.join(" ")} (${info.nproc} cores)`);
  const systems: Record<string, unknown> = {};
  const results: Record<string, Record<string, Record<string, unknown>>> = {};
  recorder = await startRecorder();
  try {
    for (const name of o.systems) {
      await waitForLoad(o.waitForLoad, log, "compare");
      const loadAtStart = load1();
      const started = Date.now();
      current =
        name === "bullmq"
          ? await startPeer({ firstPort: o.port + 20, redisPort: o.redisPort }, log)
          : await startScheduler({ firstPort: o.port, keepState: o.keepState, quiet: !o.serverLogs }, log);
      try {
        results[name] = await runScenarios(current, recorder, o, log);
        systems[name] = {
          ...current.describe(),
          load1_at_start: loadAtStart,
          load1_at_end: load1(),
          elapsed_s: round((Date.now() - started) / 1000),
        };
      } finally {
        await current.stop();
        current = undefined;
      }
    }
  } finally {
    guard.dispose();
    await cleanup();
  }

  const summary = {
    command: commandLine("bench", ["compare", ...argv]),
    commit: commit?.slice(0, 7) ?? null,
    uncommitted_changes_at_start: dirty,
    started_at: new Date(t0).toISOString(),
    elapsed_s: round((Date.now() - t0) / 1000),
    machine: { ...info, load_average_at_end: loadAverage() },
    systems,
    results,
  };
  // docs/results/bench/<date>-<commit>-compare.json (harness/results.ts names), unless --out says otherwise.
  const what = o.quick ? "compare-quick" : "compare";
  const [file] = writeResult(JSON.stringify(summary, null, 2), {
    kind: "bench",
    ...(o.out ? { out: o.out } : { save: { startedAt: t0, commit, dirty, what } }),
  });
  const loads = o.systems
    .map((s) => {
      const sys = systems[s] as { load1_at_start?: number; load1_at_end?: number } | undefined;
      return `${s} ${sys?.load1_at_start ?? "?"} → ${sys?.load1_at_end ?? "?"}`;
    })
    .join("; ");
  console.log(markdownTable(comparisonRows(results.bullmq ?? {}, results.scheduler ?? {})));
  console.log();
  console.log(
    `machine: ${info.nproc} cores, shared; 1-minute load average at start ${info.load_average_at_start[0]}, ` +
      `per system (start → end) ${loads}, at end ${summary.machine.load_average_at_end[0]}`,
  );
  const served = (systems.scheduler as { started_as?: string } | undefined)?.started_as;
  if (served) console.log(`scheduler: ${served}`);
  console.log(`JSON: ${file}`);
}
