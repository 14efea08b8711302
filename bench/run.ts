// Benchmarks of the scheduler on a private `wrangler dev` (see docs/benchmarks.md for the figures and
// what they mean). Starts its own server on 127.0.0.1 (first free port from 8797), with a temporary
// state directory and vars file, and a local webhook target; runs the scenarios one after another;
// prints a table and writes a JSON summary; always stops its server's process group on exit.
//
//   node_modules/.bin/tsx bench/run.ts [--scenarios pool,flood,herd] [--quick] [--out FILE] [...]
//
// Every loop is bounded in count and time; a watchdog (--max-seconds) ends the run regardless.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Api } from "./lib/client";
import { type BenchServer, snapshotProject, startBenchServer } from "./lib/server";
import { type DelayTarget, startDelayTarget } from "./lib/target";
import { freePortFrom, makeLog, mapLimit, mean, round, sleep } from "./lib/util";
import { herdFairness } from "./scenarios/herd-fairness";
import { poolUtilisation } from "./scenarios/pool-utilisation";
import { priorityFlood } from "./scenarios/priority-flood";

const root = path.resolve(import.meta.dirname, "..");
const usage = `usage: tsx bench/run.ts [options]
  --scenarios LIST        pool,flood,herd (default: all three)
  --quick                 smaller runs (pool 60 jobs, herd 2000 jobs) for a smoke test
  --port N                API port (default: first free from 8797)
  --out FILE              also write the JSON summary here
  --keep-state            keep the temporary state directory and log
  --max-seconds N         watchdog for the whole run (default 1500)
  --var NAME=value        an extra server variable (repeatable), e.g. --var DISPATCH_WINDOW=25
  --wait-for-load X       before each scenario, wait (at most 300 s) until the 1-minute load is ≤ X
  --pool-capacity N       (4)      --pool-jobs N (200)      --pool-delay-ms N (200)   --pool-sample-ms N (100)
  --aging-seconds X       PRIORITY_AGING_SECONDS for the server (0.1)
  --flood-backlog N       high jobs kept waiting during the flood (2)
  --herd-jobs N           (10000)  --herd-concurrency N (32)`;

function options() {
  const { values } = parseArgs({
    options: {
      scenarios: { type: "string", default: "pool,flood,herd" },
      quick: { type: "boolean", default: false },
      port: { type: "string" },
      out: { type: "string" },
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
    if (!["pool", "flood", "herd"].includes(s)) {
      console.error(`bench: unknown scenario ${s}\n${usage}`);
      process.exit(2);
    }
  }
  return {
    scenarios,
    quick: values.quick,
    port: values.port === undefined ? undefined : num("port", values.port, 1024, 65535),
    out: values.out,
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

async function machine() {
  const wranglerPkg = JSON.parse(
    await readFile(path.join(root, "node_modules/wrangler/package.json"), "utf8"),
  );
  const pinnedNode = path.join(root, "node_modules/node/bin/node");
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const wranglerNode =
    major > 22 || (major === 22 && minor >= 12) ? process.version : sh(pinnedNode, ["--version"]);
  return {
    nproc: sh("nproc", []) ?? String(os.availableParallelism()),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    bench_node: process.version,
    wrangler_node: wranglerNode,
    wrangler: wranglerPkg.version as string,
    commit: sh("git", ["rev-parse", "--short", "HEAD"]),
    load_average_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

type Row = [scenario: string, figure: string, value: string, target: string, verdict: string];

function table(rows: Row[]): string {
  const head: Row = ["scenario", "figure", "measured", "target / reference", "verdict"];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  const line = (r: Row) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("-+-"), ...rows.map(line)].join("\n");
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

// biome-ignore lint/suspicious/noExplicitAny: the scenario summaries are plain JSON
function rowsFor(results: Record<string, any>): Row[] {
  const rows: Row[] = [];
  const p = results.pool;
  if (p) {
    rows.push(
      [
        "pool",
        "held utilisation mean(in_use)/C",
        pct(p.held_utilisation),
        "≈100% while waiting",
        verdict(p.held_utilisation >= 0.9),
      ],
      [
        "pool",
        "executing utilisation (target busy)",
        pct(p.executing_utilisation),
        "≈100% ideal",
        verdict(p.executing_utilisation >= 0.8),
      ],
      [
        "pool",
        "max in_use / capacity",
        `${p.max_in_use} / ${p.params.capacity}`,
        "never above C",
        verdict(p.in_use_never_above_capacity),
      ],
      [
        "pool",
        "max concurrent at target",
        String(p.target_max_concurrent),
        `≤ ${p.params.capacity}`,
        verdict(p.target_max_concurrent <= p.params.capacity),
      ],
      [
        "pool",
        "wall time (due → last finish)",
        `${p.wall_ms} ms`,
        `ideal ${p.ideal_ms} ms`,
        `${p.wall_over_ideal}× ideal`,
      ],
      ["pool", "throughput", `${p.throughput_per_s}/s`, `ideal ${p.ideal_throughput_per_s}/s`, ""],
      ["pool", "claim → begin per job (est.)", `${p.claim_to_begin_ms_estimate} ms`, "", ""],
    );
  }
  const f = results.flood;
  if (f) {
    rows.push(
      [
        "flood",
        "low job lateness",
        `${f.low.lateness_ms} ms`,
        `bound ${f.low.documented_bound_ms} ms (${f.low.aging_part_ms} + cycle ${f.dispatch_cycle_ms})`,
        verdict(f.low.within_documented_bound),
      ],
      [
        "flood",
        "low job lateness vs bound + backlog",
        `${f.low.lateness_ms} ms`,
        `${f.low.bound_with_backlog_ms} ms (${f.low.of_which_waiting_at_t0} waiting at t0)`,
        verdict(f.low.within_bound_with_backlog),
      ],
      [
        "flood",
        "aging order rule (job by job)",
        f.aging_rule.holds
          ? "holds"
          : `${f.aging_rule.highs_due_after_cut_started_before_low} overtook, ${f.aging_rule.highs_due_before_cut_and_claim_started_after_low} skipped`,
        "0 violations",
        verdict(f.aging_rule.holds),
      ],
      [
        "flood",
        "high jobs lateness p50 / p99",
        `${f.high_lateness_ms.p50} / ${f.high_lateness_ms.p99} ms`,
        "",
        "",
      ],
      ["flood", "capacity-1 dispatch cycle", `${f.dispatch_cycle_ms} ms`, "", ""],
    );
  }
  const h = results.herd;
  if (h) {
    rows.push(
      [
        "herd",
        "submit throughput",
        `${h.submit.per_s}/s`,
        "",
        `p99 ${h.submit.latency_ms.p99} ms, ${h.submit.errors} errors`,
      ],
      [
        "herd",
        "B lateness, max of samples",
        `${h.b.max_lateness_ms} ms`,
        "≲ 1000 ms",
        verdict(h.b.max_lateness_ms !== null && h.b.max_lateness_ms <= 1000),
      ],
      [
        "herd",
        "B lateness, each",
        h.b.samples.map((s: { lateness_ms: number | null }) => s.lateness_ms).join(", "),
        "",
        "",
      ],
      [
        "herd",
        `A drain (${h.submit.jobs} jobs)`,
        `${h.a.drain_ms} ms`,
        "",
        `${h.a.statuses.succeeded ?? 0} succeeded`,
      ],
      ["herd", "A throughput", `${h.a.throughput_per_s}/s`, "", ""],
    );
  }
  for (const [name, r] of Object.entries(results)) {
    if (r?.error) rows.push([name, "ERROR", String(r.error).slice(0, 120), "", "FAILED"]);
  }
  return rows;
}

/** Puts arrays of numbers (and of such arrays' lines) on one line each. */
function compactArrays(json: string): string {
  return json.replace(
    /\[\s+([-\d.,\s]*?)\s+\]/g,
    (_, inner: string) => `[${inner.split(/,\s*/).join(", ")}]`,
  );
}

/** wrangler's own calls home, which fail on a machine without internet access: not the scheduler's. */
const OFFLINE = /ENOTFOUND workers\.cloudflare\.com/;

/** The local HTTP ceiling: GET /v1/health (no auth, no Durable Object) at the herd's concurrency. */
async function calibrate(api: Api, concurrency: number) {
  const n = 600;
  const started = Date.now();
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    () => api.expect([200], "GET", "/v1/health"),
  );
  return { health_requests: n, concurrency, per_s: Math.round(n / ((Date.now() - started) / 1000)) };
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

  let server: BenchServer | undefined;
  let target: DelayTarget | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await server?.stop().catch(() => {});
      await target?.close().catch(() => {});
      if (!o.keepState) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    })();
    return cleaning;
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      log(`bench: ${signal}, stopping`);
      void cleanup().then(() => process.exit(130));
    });
  }
  const watchdog = setTimeout(() => {
    log(`bench: watchdog: over ${o.maxSeconds} s, stopping`);
    void cleanup().then(() => process.exit(3));
  }, o.maxSeconds * 1000);

  const results: Record<string, unknown> = {};
  const info = await machine();
  let source: Record<string, unknown> = {};
  const loads: { at: number; load1: number }[] = [];
  const loadSampler = setInterval(() => loads.push({ at: Date.now(), load1: os.loadavg()[0] ?? 0 }), 5000);
  try {
    target = await startDelayTarget(o.pool.delayMs);
    log(`bench: starting wrangler dev on 127.0.0.1:${port} (state ${tmp})`);
    await mkdir(path.join(tmp, "project"));
    const snapshot = await snapshotProject(path.join(tmp, "project"));
    const dirty = sh("git", [
      "status",
      "--porcelain",
      "--",
      "src",
      "drizzle",
      "migrations",
      "wrangler.toml",
      "scripts",
    ]);
    source = {
      commit: info.commit,
      uncommitted_changes_in_served_files: dirty ? dirty.split("\n").length : 0,
      src_digest: snapshot.srcDigest,
    };
    log(`bench: serving a copy of the project (commit ${info.commit}, src digest ${snapshot.srcDigest})`);
    server = startBenchServer({
      projectRoot: snapshot.root,
      port,
      inspectorPort,
      persistTo: path.join(tmp, "state"),
      varsFile,
      logFile,
    });
    const readyStart = Date.now();
    await server.ready();
    log(`bench: server ready in ${Date.now() - readyStart} ms`);
    const api = new Api(server.baseUrl);

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
      } catch (err) {
        log(`bench: scenario ${s} failed: ${(err as Error).stack ?? err}`);
        results[s] = { error: String(err) };
      }
      log(`bench: scenario ${s} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const errors = server
        .lines(started)
        .filter(
          (l) => /error|failed|exception/i.test(l.text) && !/QUEUE/.test(l.text) && !OFFLINE.test(l.text),
        );
      const during = [...loads.filter((l) => l.at >= started).map((l) => l.load1), os.loadavg()[0] ?? 0];
      Object.assign(results[s] as Record<string, unknown>, {
        elapsed_s: Math.round((Date.now() - started) / 1000),
        health_per_s_before: health.per_s,
        load1_during: {
          min: Math.min(...during),
          max: Math.max(...during),
          mean: round(mean(during) ?? 0, 2),
        },
      });
      (results[s] as Record<string, unknown>).rate_limited_retries = api.stats.rateLimited - limitedBefore;
      // Should be 0: the served copy does not change. A reload restarts the Worker mid-measurement.
      (results[s] as Record<string, unknown>).server_reloads = server
        .lines(started)
        .filter((l) => /Reloading local server/i.test(l.text)).length;
      (results[s] as Record<string, unknown>).server_error_lines = {
        count: errors.length,
        first: errors.slice(0, 5).map((l) => l.text.slice(0, 300)),
      };
    }
  } finally {
    clearTimeout(watchdog);
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
    // Arrays of numbers on one line; the per-sample series only in the --out file.
    const json = compactArrays(JSON.stringify(summary, null, 2));
    const brief = compactArrays(JSON.stringify(summary, (k, v) => (k === "series" ? undefined : v), 2));
    if (o.out) {
      await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
      await writeFile(o.out, `${json}\n`);
    }
    await cleanup();
    console.log(brief);
    console.log();
    console.log(table(rowsFor(results)));
    if (o.out) log(`bench: JSON written to ${o.out}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
