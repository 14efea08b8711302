// Benchmarks of the scheduler on a private `wrangler dev` (see docs/benchmarks.md for the figures and
// what they mean). Starts its own server on 127.0.0.1 (first free port from 8797), with a temporary
// state directory and vars file, and a local webhook target; runs the scenarios one after another;
// prints a table and writes a JSON summary; always stops its server's process group on exit.
//
//   npm run bench -- [--scenarios pool,flood,herd] [--quick] [--save WHAT | --out FILE] [...]
//
// Every loop is bounded in count and time; a watchdog (--max-seconds) ends the run regardless.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { nodeForWrangler } from "../../scripts/lib/wrangler.mjs";
import { ApiClient } from "../harness/client";
import { DevServer } from "../harness/dev-server";
import { EventCounter } from "../harness/log-events";
import { parseQueueBatch } from "../harness/log-lines";
import { projectRoot as root, snapshotProject, wranglerVersion } from "../harness/project";
import { checkWhat, resultsDirectory, saveResult } from "../harness/results";
import { guardRun } from "../harness/run-guard";
import { mean, round } from "../harness/stats";
import { startTarget, type Target } from "../harness/target";
import { freePortFrom, makeLog, mapLimit, sleep } from "../harness/util";
import { compactArrays, rowsFor, table } from "./lib/report";
import { batchSubmit } from "./scenarios/batch-submit";
import { herdFairness } from "./scenarios/herd-fairness";
import { poolUtilisation } from "./scenarios/pool-utilisation";
import { priorityFlood } from "./scenarios/priority-flood";

const usage = `usage: npm run bench -- [options]      (or node_modules/.bin/tsx bench/run.ts [options])
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

function options() {
  const { values } = parseArgs({
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
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`bench: --${name} must be a number in ${min}..${max}\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  const scenarios = values.scenarios.split(",").map((s) => s.trim());
  for (const s of scenarios) {
    if (!["pool", "flood", "herd", "batch"].includes(s)) {
      console.error(`bench: unknown scenario ${s}\n${usage}`);
      process.exit(2);
    }
  }
  if (values.save !== undefined) {
    try {
      checkWhat(values.save);
    } catch (err) {
      console.error(`bench: --save: ${(err as Error).message}\n${usage}`);
      process.exit(2);
    }
  }
  return {
    scenarios,
    quick: values.quick,
    port: values.port === undefined ? undefined : num("port", values.port, 1024, 65535),
    out: values.out,
    save: values.save,
    keepState: values["keep-state"],
    maxSeconds: num("max-seconds", values["max-seconds"], 60, 3600),
    waitForLoad: num("wait-for-load", values["wait-for-load"], 0, 100),
    vars: values.var.map((v) => {
      if (!/^[A-Z][A-Z0-9_]*=[^\n]*$/.test(v)) {
        console.error(`bench: --var wants NAME=value, not ${v}\n${usage}`);
        process.exit(2);
      }
      return v;
    }),
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

function sh(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

function machine() {
  return {
    nproc: sh("nproc", []) ?? String(os.availableParallelism()),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    bench_node: process.version,
    wrangler_node: sh(nodeForWrangler(), ["--version"]),
    wrangler: wranglerVersion(),
    commit: sh("git", ["rev-parse", "--short", "HEAD"]),
    load_average_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
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

async function main() {
  const o = options();
  const t0 = Date.now();
  const log = makeLog(t0);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "scheduler-bench-"));
  const adminToken = `bench-admin-${randomUUID()}`;
  const varsFile = path.join(tmp, "bench.vars");
  await writeFile(
    varsFile,
    [
      `ADMIN_TOKEN=${adminToken}`,
      `CURSOR_SECRET=${randomUUID()}`,
      "ALLOW_PRIVATE_TARGETS=true",
      `PRIORITY_AGING_SECONDS=${o.flood.agingSeconds}`,
      ...o.vars,
      "",
    ].join("\n"),
  );
  const port = o.port ?? (await freePortFrom(8797));
  const inspectorPort = await freePortFrom(port + 1, [port]);
  const logFile = path.join(tmp, "wrangler.log");

  let server: DevServer | undefined;
  let target: Target | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await server?.stop().catch(() => {});
      await target?.close().catch(() => {});
      if (!o.keepState) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    })();
    return cleaning;
  };
  const guard = guardRun({
    maxSeconds: o.maxSeconds,
    watchdogExit: 3,
    stop: (reason) => {
      log(`bench: ${reason}, stopping`);
      return cleanup();
    },
  });

  const results: Record<string, unknown> = {};
  const info = machine();
  let source: Record<string, unknown> = {};
  const loads: { at: number; load1: number }[] = [];
  const loadSampler = setInterval(() => loads.push({ at: Date.now(), load1: os.loadavg()[0] ?? 0 }), 5000);
  try {
    target = await startTarget({ answer: () => ({ status: 200, afterMs: o.pool.delayMs }) });
    log(`bench: starting wrangler dev on 127.0.0.1:${port} (state ${tmp})`);
    const snapshot = snapshotProject(path.join(tmp, "project"));
    source = {
      commit: info.commit,
      uncommitted_changes_in_served_files: snapshot.uncommittedChanges?.length ?? 0,
      src_digest: snapshot.srcDigest,
    };
    log(`bench: serving a copy of the project (commit ${info.commit}, src digest ${snapshot.srcDigest})`);
    server = new DevServer({
      root: snapshot.root,
      port,
      inspectorPort,
      persistTo: path.join(tmp, "state"),
      varsFile,
      logFile,
      keepLines: 500_000,
    });
    const readyStart = Date.now();
    await server.start();
    await server.ready();
    log(`bench: server ready in ${Date.now() - readyStart} ms`);
    const api = new ApiClient(server.baseUrl);

    for (const s of o.scenarios) {
      // The machine may be shared: optionally wait (bounded) for it to calm down, then note its load
      // and the local HTTP ceiling before each scenario.
      if (o.waitForLoad > 0) {
        const until = Date.now() + 300_000;
        while ((os.loadavg()[0] ?? 0) > o.waitForLoad && Date.now() < until) {
          log(`bench: load ${os.loadavg()[0]?.toFixed(2)} > ${o.waitForLoad}, waiting (at most 300 s)`);
          await sleep(10_000);
        }
      }
      const health = await calibrate(api, o.herd.concurrency);
      log(`bench: scenario ${s} (GET /v1/health ${health.per_s}/s, load ${os.loadavg()[0]?.toFixed(2)})`);
      const started = Date.now();
      const limitedBefore = api.stats.rateLimited;
      try {
        if (s === "pool") results.pool = await poolUtilisation(api, adminToken, server, target, o.pool, log);
        if (s === "flood") results.flood = await priorityFlood(api, adminToken, server, o.flood, log);
        if (s === "herd") results.herd = await herdFairness(api, adminToken, server, o.herd, log);
        if (s === "batch") results.batch = await batchSubmit(api, adminToken, o.batch, log);
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
    const summary = {
      machine: { ...info, load_average_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
      command: `node_modules/.bin/tsx bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
      source,
      server: {
        port,
        aging_seconds: o.flood.agingSeconds,
        extra_vars: o.vars,
        log: o.keepState ? logFile : null,
      },
      started_at: new Date(t0).toISOString(),
      elapsed_s: Math.round((Date.now() - t0) / 1000),
      results,
    };
    // Arrays of numbers on one line; the per-sample series only in the saved files.
    const json = compactArrays(JSON.stringify(summary, null, 2));
    const brief = compactArrays(JSON.stringify(summary, (k, v) => (k === "series" ? undefined : v), 2));
    const written: string[] = [];
    if (o.out) {
      await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
      await writeFile(o.out, `${json}\n`);
      written.push(o.out);
    }
    if (o.save) {
      const name = {
        startedAt: t0,
        commit: info.commit,
        dirty: Number(source.uncommitted_changes_in_served_files ?? 0) > 0,
        what: o.save,
      };
      written.push(path.relative(process.cwd(), saveResult(resultsDirectory("bench"), name, json)));
    }
    await cleanup();
    console.log(brief);
    console.log();
    console.log(table(rowsFor(results)));
    for (const file of written) log(`bench: JSON written to ${file}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
