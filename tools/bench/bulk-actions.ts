// Bulk actions at the unfinished-jobs cap (docs/benchmarks.md, "Bulk cancel and retry at 100,000
// jobs"): one user on one shard holds `--jobs` scheduled jobs; POST /v1/jobs/cancel cancels them all,
// then POST /v1/jobs/retry brings them back. While each runs, a closed loop of GET /v1/jobs/:id on
// the same shard measures how long the shard's other requests wait, and an http job kept running
// against a slow local target (heartbeats every HEARTBEAT_INTERVAL_SECONDS) shows whether its
// heartbeats get through or the alarm gives the attempt up. Serves a private `wrangler dev` (a copy
// of the tree, or with --src-from, of the tree with src/ taken from another commit: a before/after).
//
//   node_modules/.bin/tsx bench/bulk-actions.ts [--jobs 100000] [--src-from COMMIT] [--save WHAT] [--out FILE]
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Job } from "../harness/api-types";
import { ApiClient } from "../harness/client";
import { DevServer } from "../harness/dev-server";
import { EventCounter } from "../harness/log-events";
import { groupCpuMs } from "../harness/process-group";
import { projectRoot as root, snapshotProject } from "../harness/project";
import { checkWhat, saveResult } from "../harness/results";
import { guardRun } from "../harness/run-guard";
import { distribution, round } from "../harness/stats";
import { startTarget, type Target } from "../harness/target";
import { freePortFrom, iso, makeLog, mapLimit, poll, sleep } from "../harness/util";

const usage = `usage: node_modules/.bin/tsx bench/bulk-actions.ts [options]
  --jobs N            jobs on the shard to cancel and retry (default 100000, at most 100000)
  --src-from COMMIT   serve src/ as of COMMIT (the rest from the working tree), e.g. the code before a change
  --save WHAT         also write the JSON summary to bench/results/<date>-<commit>-<WHAT>.json
  --out FILE          also write the JSON summary here
  --max-seconds N     watchdog for the whole run (default 1800)`;

function options() {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "100000" },
      "src-from": { type: "string" },
      save: { type: "string" },
      out: { type: "string" },
      "max-seconds": { type: "string", default: "1800" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const jobs = Number(values.jobs);
  const maxSeconds = Number(values["max-seconds"]);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 100_000 || !(maxSeconds >= 60)) {
    console.error(usage);
    process.exit(2);
  }
  if (values.save !== undefined) checkWhat(values.save);
  return { jobs, srcFrom: values["src-from"], save: values.save, out: values.out, maxSeconds };
}

const git = (args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();

/** The server's variables: quick heartbeats, so a shard blocked for seconds shows as given-up attempts. */
const HEARTBEAT = { interval: 1, timeout: 3 };

/** While `action` runs: GET one job of the shard in a closed loop, noting when each answer came. */
async function probing<T>(api: ApiClient, token: string, jobId: string, action: () => Promise<T>) {
  const probes: { at: number; ms: number; status: number }[] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      const started = Date.now();
      const reply = await api.request("GET", `/v1/jobs/${jobId}`, { token });
      probes.push({ at: started, ms: reply.ms, status: reply.status });
    }
  })();
  const started = Date.now();
  let result: T;
  try {
    result = await action();
  } finally {
    done = true;
    await loop;
  }
  const ended = Date.now();
  // Every probe that was waiting at some point while the action ran, and those answered meanwhile.
  const overlapping = probes.filter((p) => p.at < ended && p.at + p.ms > started);
  const answered = overlapping.filter((p) => p.at + p.ms <= ended);
  const answers = [started, ...answered.map((p) => p.at + p.ms), ended].sort((a, b) => a - b);
  const gaps = answers.slice(1).map((t, i) => t - (answers[i] ?? t));
  return {
    result,
    ms: ended - started,
    probes: {
      answered_while_running: answered.length,
      not_200: overlapping.filter((p) => p.status !== 200).length,
      latency_ms: distribution(overlapping.map((p) => p.ms)),
      longest_stretch_without_an_answer_ms: Math.round(Math.max(0, ...gaps)),
    },
  };
}

async function main() {
  const o = options();
  const t0 = Date.now();
  const log = makeLog(t0);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "scheduler-bulk-"));
  const adminToken = `bench-admin-${randomUUID()}`;
  const varsFile = path.join(tmp, "bench.vars");
  await writeFile(
    varsFile,
    [
      `ADMIN_TOKEN=${adminToken}`,
      `CURSOR_SECRET=${randomUUID()}`,
      "ALLOW_PRIVATE_TARGETS=true",
      `HEARTBEAT_INTERVAL_SECONDS=${HEARTBEAT.interval}`,
      `HEARTBEAT_TIMEOUT_SECONDS=${HEARTBEAT.timeout}`,
      "",
    ].join("\n"),
  );
  const port = await freePortFrom(8897);
  const inspectorPort = await freePortFrom(port + 1, [port]);
  let server: DevServer | undefined;
  let target: Target | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await server?.stop().catch(() => {});
      await target?.close().catch(() => {});
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
    })();
    return cleaning;
  };
  const guard = guardRun({ maxSeconds: o.maxSeconds, watchdogExit: 3, stop: () => cleanup() });
  const results: Record<string, unknown> = {};
  let source: Record<string, unknown> = {};
  try {
    // The slow target: the kept-running job's call is answered only after the run.
    target = await startTarget({ answer: () => ({ status: 200, afterMs: 600_000 }) });
    const snapshot = snapshotProject(path.join(tmp, "project"));
    if (o.srcFrom) {
      await rm(path.join(snapshot.root, "src"), { recursive: true });
      const tar = execFileSync("git", ["archive", "--format=tar", o.srcFrom, "--", "src"], { cwd: root });
      execFileSync("tar", ["-x", "-C", snapshot.root], { input: tar });
    }
    source = {
      commit: git(["rev-parse", "--short", "HEAD"]),
      src_from: o.srcFrom ? git(["rev-parse", "--short", o.srcFrom]) : null,
      uncommitted_changes_in_served_files: o.srcFrom ? null : (snapshot.uncommittedChanges?.length ?? 0),
    };
    server = new DevServer({
      root: snapshot.root,
      port,
      inspectorPort,
      persistTo: path.join(tmp, "state"),
      varsFile,
      keepLines: 200_000,
    });
    await server.start();
    await server.ready();
    const api = new ApiClient(server.baseUrl, { timeoutMs: 600_000 });
    const user = await api.createUser(adminToken, "bench-bulk");
    const token = user.api_key;
    // One shard, held there (a hot shard would otherwise grow the user), with room for the extra jobs.
    await api.expect([200], "PATCH", `/v1/admin/users/${user.user_id}`, {
      token: adminToken,
      body: { shard_ceiling: 1, max_unfinished_jobs: o.jobs + 10 },
    });
    const later = iso(Date.now() + 6 * 3_600_000);
    const probe = (await api.submit(token, { type: "noop", name: "probe", run_at: later })).body;
    const kept = (
      await api.submit(token, {
        type: "http",
        name: "kept-running",
        payload: { url: target.url("/slow") },
        timeout_seconds: 900,
        max_retries: 0,
      })
    ).body;
    await poll(
      "the kept-running job to start",
      () => api.job(token, kept.id),
      (j) => j.status === "running",
      { timeoutMs: 60_000 },
    );
    log(`bulk: the kept-running job runs; submitting ${o.jobs} jobs`);
    const seedStart = Date.now();
    const batches = Array.from({ length: Math.ceil(o.jobs / 1000) }, (_, b) =>
      Array.from({ length: Math.min(1000, o.jobs - b * 1000) }, () => ({
        type: "noop",
        labels: { bulk: "1" },
        run_at: later,
      })),
    );
    await mapLimit(batches, 4, (jobs) =>
      api.expect([201], "POST", "/v1/jobs/batch", { token, body: { jobs } }),
    );
    results.seed_s = round((Date.now() - seedStart) / 1000, 1);
    log(`bulk: submitted in ${results.seed_s} s`);

    // The same probes with nothing else asked of the shard: what "waiting" is measured against.
    results.idle = (await probing(api, token, probe.id, () => sleep(5000))).probes;
    const events = new EventCounter();
    server.onLine((l) => events.add(l.text));
    for (const action of ["cancel", "retry"] as const) {
      const pgid = server.processGroup ?? 0;
      const cpuBefore = groupCpuMs(pgid);
      const load = os.loadavg()[0] ?? 0;
      const run = await probing(api, token, probe.id, () =>
        api.request<{ matched?: number }>("POST", `/v1/jobs/${action}`, {
          token,
          body: { labels: { bulk: "1" } },
        }),
      );
      results[action] = {
        status: run.result.status,
        matched: run.result.body.matched ?? run.result.body,
        request_ms: run.ms,
        jobs_per_s: round(o.jobs / (run.ms / 1000)),
        server_cpu_ms: groupCpuMs(pgid) - cpuBefore,
        load1_before: round(load, 2),
        ...run.probes,
      };
      log(`bulk: ${action} ${JSON.stringify(results[action])}`);
    }
    const job: Job = await api.job(token, kept.id);
    results.kept_running_job = {
      status: job.status,
      attempts: job.attempts.map((a) => ({ number: a.number, status: a.status, error: a.error })),
    };
    results.server_events = events.sorted();
  } finally {
    guard.dispose();
    const summary = {
      machine: {
        nproc: os.availableParallelism(),
        cpu_model: os.cpus()[0]?.model ?? "unknown",
        node: process.version,
        load_average_at_end: os.loadavg().map((x) => round(x, 2)),
      },
      command: `node_modules/.bin/tsx bench/bulk-actions.ts ${process.argv.slice(2).join(" ")}`.trim(),
      source,
      jobs: o.jobs,
      heartbeat_seconds: HEARTBEAT,
      started_at: new Date(t0).toISOString(),
      elapsed_s: Math.round((Date.now() - t0) / 1000),
      results,
    };
    const json = JSON.stringify(summary, null, 2);
    if (o.out) {
      await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
      await writeFile(o.out, `${json}\n`);
    }
    if (o.save) {
      const name = { startedAt: t0, commit: git(["rev-parse", "HEAD"]), dirty: false, what: o.save };
      log(`bulk: written to ${saveResult(path.join(root, "bench/results"), name, json)}`);
    }
    await cleanup();
    console.log(json);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
