// `npm run bench` (the scenarios command): benchmarks of the scheduler on a private `wrangler dev` (see
// docs/benchmarks.md for the figures and what they mean). A server session (harness/session.ts: first
// free port from 8797, a temporary state folder and vars file, a frozen copy of the code, a local
// webhook target); runs the scenarios one after another; prints a table and writes a JSON summary;
// always stops its server's process group on exit.
//
//   npm run bench -- [scenarios] [--scenarios pool,flood,herd] [--quick] [--save WHAT | --out FILE] [...]
//
// Every loop is bounded in count and time; a watchdog (--max-seconds) ends the run regardless.
import os from "node:os";
import { commandLine, parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import type { DevServer } from "../../harness/dev-server";
import { EventCounter } from "../../harness/log-events";
import { parseQueueBatch } from "../../harness/log-lines";
import { loadAverage, machine, waitForLoad } from "../../harness/machine";
import { writeResult } from "../../harness/results";
import { guardMeasurement } from "../../harness/run-guard";
import { ServerSession } from "../../harness/session";
import { mean, round } from "../../harness/stats";
import { makeLog, mapLimit } from "../../harness/util";
import { compactArrays, rowsFor, table } from "../lib/report";
import { batchSubmit } from "./batch-submit";
import type { Bench } from "./context";
import { herdFairness } from "./herd-fairness";
import { poolUtilisation } from "./pool-utilisation";
import { priorityFlood } from "./priority-flood";

const SCENARIOS = ["pool", "flood", "herd", "batch"] as const;

const usage = `usage: npm run bench -- [scenarios] [options]
  --scenarios LIST        pool,flood,herd,batch (default: pool,flood,herd)
  --quick                 smaller runs (pool 60 jobs, herd 2000 jobs) for a smoke test
  --port N                API port (default: first free from 8797)
  --save WHAT             also write the JSON summary to docs/results/bench/<date>-<commit>-<WHAT>.json
  --out FILE              also write the JSON summary here
  --keep-state            keep the temporary state directory and log
  --max-seconds N         watchdog for the whole run (default 1500)
  --var NAME=value        an extra server variable (repeatable), e.g. --var DISPATCH_WINDOW=25
  --wait-for-load X       before each scenario, wait (at most 300 s) until the 1-minute load is ≤ X
  --pool-capacity N       (4)      --pool-jobs N (200)      --pool-delay-ms N (200)   --pool-sample-ms N (100)
  --aging-seconds X       PRIORITY_AGING_SECONDS for the server (0.1)
  --flood-backlog N       high jobs kept waiting during the flood (2)
  --herd-jobs N           (10000)  --herd-concurrency N (32)
  --batch-jobs N          (20000)  --batch-size N (500)     --batch-concurrency N (4)`;

function options(argv: string[]) {
  const cli = parseCommand(argv, {
    name: "bench",
    usage,
    options: {
      scenarios: { type: "string", default: "pool,flood,herd" },
      quick: { type: "boolean", default: false },
      port: { type: "string" },
      out: { type: "string" },
      save: { type: "string" },
      "keep-state": { type: "boolean", default: false },
      "max-seconds": { type: "string", default: "1500" },
      "wait-for-load": { type: "string", default: "0" },
      var: { type: "string", multiple: true, default: [] },
      "pool-capacity": { type: "string", default: "4" },
      "pool-jobs": { type: "string" },
      "pool-delay-ms": { type: "string", default: "200" },
      "pool-sample-ms": { type: "string", default: "100" },
      "aging-seconds": { type: "string", default: "0.1" },
      "flood-backlog": { type: "string", default: "2" },
      "herd-jobs": { type: "string" },
      "herd-concurrency": { type: "string", default: "32" },
      "batch-jobs": { type: "string" },
      "batch-size": { type: "string", default: "500" },
      "batch-concurrency": { type: "string", default: "4" },
    },
  });
  const { values, number: num } = cli;
  return {
    scenarios: cli.list("scenarios", values.scenarios, SCENARIOS),
    quick: values.quick,
    port: values.port === undefined ? undefined : num("port", values.port, 1024, 65535),
    out: values.out,
    save: cli.what("save", values.save),
    keepState: values["keep-state"],
    maxSeconds: num("max-seconds", values["max-seconds"], 60, 3600),
    waitForLoad: num("wait-for-load", values["wait-for-load"], 0, 100),
    vars: cli.vars("var", values.var),
    pool: {
      capacity: num("pool-capacity", values["pool-capacity"], 1, 1000),
      jobs: num("pool-jobs", values["pool-jobs"] ?? (values.quick ? "60" : "200"), 1, 5000),
      delayMs: num("pool-delay-ms", values["pool-delay-ms"], 0, 10_000),
      sampleMs: num("pool-sample-ms", values["pool-sample-ms"], 20, 5000),
      leadMs: 3000,
      maxSeconds: 180,
    },
    flood: {
      agingSeconds: num("aging-seconds", values["aging-seconds"], 0.01, 10),
      low: 10,
      high: 90,
      backlog: num("flood-backlog", values["flood-backlog"], 1, 50),
      warmupSeconds: 5,
      afterSeconds: 3,
      maxSeconds: 90,
    },
    herd: {
      jobs: num("herd-jobs", values["herd-jobs"] ?? (values.quick ? "2000" : "10000"), 1, 50_000),
      concurrency: num("herd-concurrency", values["herd-concurrency"], 1, 256),
      probeJobs: 300,
      bOffsetsSeconds: [0, 2, 5, 10, 20, 35, 60],
      maxLeadSeconds: 360,
      drainMaxSeconds: 300,
    },
    batch: {
      jobs: num("batch-jobs", values["batch-jobs"] ?? (values.quick ? "2000" : "20000"), 1, 200_000),
      batchSize: num("batch-size", values["batch-size"], 1, 1000),
      concurrency: num("batch-concurrency", values["batch-concurrency"], 1, 64),
    },
  };
}

/** wrangler's own calls home, which fail on a machine without internet access: not the scheduler's. */
const OFFLINE = /ENOTFOUND workers\.cloudflare\.com/;

/** The local HTTP ceiling: GET /v1/health (no auth, no Durable Object) at the herd's concurrency. */
async function calibrate(api: ApiClient, concurrency: number) {
  const n = 600;
  const started = Date.now();
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    () => api.expect([200], "GET", "/v1/health"),
  );
  return { health_requests: n, concurrency, per_s: Math.round(n / ((Date.now() - started) / 1000)) };
}

/** What the server logged during a scenario: events by name, and other lines that look like errors. */
function serverLog(server: DevServer, from: number) {
  const lines = server.lines(from);
  const events = new EventCounter();
  const errors = lines.filter(
    (l) =>
      events.add(l.text) === null &&
      /error|failed|exception/i.test(l.text) &&
      parseQueueBatch(l.text) === null &&
      !OFFLINE.test(l.text),
  );
  return {
    // Should be 0: the served copy does not change. A reload restarts the Worker mid-measurement.
    server_reloads: lines.filter((l) => /Reloading local server/i.test(l.text)).length,
    server_events: events.sorted(),
    server_error_lines: { count: errors.length, first: errors.slice(0, 5).map((l) => l.text.slice(0, 300)) },
  };
}

export async function main(argv: string[]): Promise<undefined> {
  const o = options(argv);
  const t0 = Date.now();
  const log = makeLog(t0);
  const session = new ServerSession({
    name: "bench",
    vars: [`PRIORITY_AGING_SECONDS=${o.flood.agingSeconds}`, ...o.vars],
    ...(o.port ? { port: o.port } : { firstPort: 8797 }),
    logFile: true,
    keepLines: 500_000,
    target: { answer: () => ({ status: 200, afterMs: o.pool.delayMs }) },
    keepState: o.keepState,
  });
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= session.close().catch(() => {});
    return cleaning;
  };
  const guard = guardMeasurement("bench", o.maxSeconds, log, cleanup);

  const results: Record<string, unknown> = {};
  const info = machine();
  const loads: { at: number; load1: number }[] = [];
  const loadSampler = setInterval(() => loads.push({ at: Date.now(), load1: os.loadavg()[0] ?? 0 }), 5000);
  try {
    log(`bench: starting wrangler dev (state ${session.dir})`);
    const readyMs = await session.start();
    const { server, target, adminToken } = session;
    const source = session.source();
    log(
      `bench: server ready on ${server.baseUrl} in ${readyMs} ms, serving a copy of the project ` +
        `(commit ${source.commit?.slice(0, 7)}, src digest ${source.src_digest})`,
    );
    const api = new ApiClient(server.baseUrl);
    const bench: Bench = { api, adminToken, server, target, log };

    for (const s of o.scenarios) {
      // The machine may be shared: optionally wait (bounded) for it to calm down, then note its load
      // and the local HTTP ceiling before each scenario.
      await waitForLoad(o.waitForLoad, log, "bench");
      const health = await calibrate(api, o.herd.concurrency);
      log(`bench: scenario ${s} (GET /v1/health ${health.per_s}/s, load ${os.loadavg()[0]?.toFixed(2)})`);
      const started = Date.now();
      const limitedBefore = api.stats.rateLimited;
      try {
        if (s === "pool") results.pool = await poolUtilisation(bench, o.pool);
        if (s === "flood") results.flood = await priorityFlood(bench, o.flood);
        if (s === "herd") results.herd = await herdFairness(bench, o.herd);
        if (s === "batch") results.batch = await batchSubmit(bench, o.batch);
      } catch (err) {
        log(`bench: scenario ${s} failed: ${(err as Error).stack ?? err}`);
        results[s] = { error: String(err) };
      }
      log(`bench: scenario ${s} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const during = [...loads.filter((l) => l.at >= started).map((l) => l.load1), os.loadavg()[0] ?? 0];
      Object.assign(results[s] as Record<string, unknown>, {
        elapsed_s: Math.round((Date.now() - started) / 1000),
        health_per_s_before: health.per_s,
        load1_during: {
          min: Math.min(...during),
          max: Math.max(...during),
          mean: round(mean(during) ?? 0, 2),
        },
        rate_limited_retries: api.stats.rateLimited - limitedBefore,
        ...serverLog(server, started),
      });
    }
  } finally {
    guard.dispose();
    clearInterval(loadSampler);
    const source = session.source();
    const summary = {
      machine: { ...info, load_average_at_end: loadAverage() },
      command: commandLine("bench", argv),
      source,
      server: {
        port: session.port,
        aging_seconds: o.flood.agingSeconds,
        extra_vars: o.vars,
        log: o.keepState ? session.logFile : null,
      },
      started_at: new Date(t0).toISOString(),
      elapsed_s: Math.round((Date.now() - t0) / 1000),
      results,
    };
    // Arrays of numbers on one line; the per-sample series only in the saved files.
    const json = compactArrays(JSON.stringify(summary, null, 2));
    const brief = compactArrays(JSON.stringify(summary, (k, v) => (k === "series" ? undefined : v), 2));
    const save = o.save && {
      startedAt: t0,
      commit: source.commit,
      dirty: Number(source.uncommitted_changes_in_served_files ?? 0) > 0,
      what: o.save,
    };
    const written = writeResult(json, { kind: "bench", out: o.out, save: save || undefined });
    await cleanup();
    console.log(brief);
    console.log();
    console.log(table(rowsFor(results)));
    for (const file of written) log(`bench: JSON written to ${file}`);
  }
}
