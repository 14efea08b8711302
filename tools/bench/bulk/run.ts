// `npm run bench -- bulk`: bulk actions at the unfinished-jobs cap (docs/benchmarks.md, "Bulk cancel
// and retry at 100,000 jobs"): one user on one shard holds `--jobs` scheduled jobs; POST
// /v1/jobs/cancel cancels them all, then POST /v1/jobs/retry brings them back. While each runs, a
// closed loop of GET /v1/jobs/:id on the same shard measures how long the shard's other requests wait,
// and an http job kept running against a slow local target (heartbeats every HEARTBEAT_INTERVAL_SECONDS)
// shows whether its heartbeats get through or the alarm gives the attempt up. Serves a server session
// (harness/session.ts: a copy of the tree, or with --src-from, of the tree with src/ taken from another
// commit: a before/after).
//
//   npm run bench -- bulk [--jobs 100000] [--src-from COMMIT] [--save WHAT] [--out FILE] [--max-seconds N]
//
// Bounded: every wait has a deadline and a watchdog ends the run; traffic goes to 127.0.0.1 only.
import os from "node:os";
import type { Job } from "../../harness/api-types";
import { parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import { EventCounter } from "../../harness/log-events";
import { groupCpuMs } from "../../harness/process-group";
import { guardMeasurement } from "../../harness/run-guard";
import { writeRunSummary } from "../../harness/run-summary";
import { ServerSession } from "../../harness/session";
import { distribution, round } from "../../harness/stats";
import { iso, type Log, makeLog, mapLimit, poll, sleep } from "../../harness/util";

const usage = `usage: npm run bench -- bulk [options]
  --jobs N            jobs on the shard to cancel and retry (default 100000, at most 100000)
  --src-from COMMIT   serve src/ as of COMMIT (the rest from the working tree), e.g. the code before a change
  --save WHAT         also write the JSON summary to docs/results/bench/<date>-<commit>-<WHAT>.json
  --out FILE          also write the JSON summary here
  --max-seconds N     watchdog for the whole run (default 1800)`;

const flags = {
  jobs: { type: "string", default: "100000" },
  "src-from": { type: "string" },
  save: { type: "string" },
  out: { type: "string" },
  "max-seconds": { type: "string", default: "1800" },
} as const;

function options(argv: string[]) {
  const cli = parseCommand(argv, { name: "bench bulk", usage, options: flags });
  const { values } = cli;
  return {
    jobs: cli.integer("jobs", values.jobs, 1, 100_000),
    srcFrom: cli.commit("src-from", values["src-from"]),
    save: cli.what("save", values.save),
    out: values.out,
    maxSeconds: cli.number("max-seconds", values["max-seconds"], 60, 7200),
  };
}

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

/** Seeds the shard, then times the cancel and the retry; fills `results` as it goes. */
async function measure(session: ServerSession, jobs: number, results: Record<string, unknown>, log: Log) {
  const { server, target, adminToken } = session;
  const api = new ApiClient(server.baseUrl, { timeoutMs: 600_000 });
  const user = await api.createUser(adminToken, "bench-bulk");
  const token = user.api_key;
  // One shard, held there (a hot shard would otherwise grow the user), with room for the extra jobs.
  await api.expect([200], "PATCH", `/v1/admin/users/${user.user_id}`, {
    token: adminToken,
    body: { shard_ceiling: 1, max_unfinished_jobs: jobs + 10 },
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
  log(`bulk: the kept-running job runs; submitting ${jobs} jobs`);
  const seedStart = Date.now();
  const batches = Array.from({ length: Math.ceil(jobs / 1000) }, (_, b) =>
    Array.from({ length: Math.min(1000, jobs - b * 1000) }, () => ({
      type: "noop",
      labels: { bulk: "1" },
      run_at: later,
    })),
  );
  await mapLimit(batches, 4, (batch) =>
    api.expect([201], "POST", "/v1/jobs/batch", { token, body: { jobs: batch } }),
  );
  results.seed_s = round((Date.now() - seedStart) / 1000, 1);
  log(`bulk: submitted in ${results.seed_s} s`);

  // The same probes with nothing else asked of the shard: what "waiting" is measured against.
  results.idle = (await probing(api, token, probe.id, () => sleep(5000))).probes;
  const events = new EventCounter();
  session.onLine((l) => events.add(l.text));
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
      jobs_per_s: round(jobs / (run.ms / 1000)),
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
}

/** The server: quick heartbeats, src/ from `srcFrom` if given, a target that answers after the run. */
function bulkSession(srcFrom: string | undefined): ServerSession {
  return new ServerSession({
    name: "bulk",
    vars: [
      `HEARTBEAT_INTERVAL_SECONDS=${HEARTBEAT.interval}`,
      `HEARTBEAT_TIMEOUT_SECONDS=${HEARTBEAT.timeout}`,
    ],
    ...(srcFrom ? { srcFrom } : {}),
    firstPort: 8897,
    keepLines: 200_000,
    // The slow target: the kept-running job's call is answered only after the run.
    target: { answer: () => ({ status: 200, afterMs: 600_000 }) },
  });
}

export async function main(argv: string[]): Promise<undefined> {
  const o = options(argv);
  const session = bulkSession(o.srcFrom);
  const t0 = Date.now();
  const log = makeLog(t0);
  // Once however often it is called (ServerSession.close): by the watchdog, a signal or the end.
  const cleanup = () => session.close().catch(() => {});
  const guard = guardMeasurement("bulk", o.maxSeconds, log, cleanup);
  const results: Record<string, unknown> = {};
  try {
    log(`bulk: starting wrangler dev (state ${session.dir})`);
    await session.start();
    await measure(session, o.jobs, results, log);
  } finally {
    guard.dispose();
    // Written even when the run failed: what was measured until then.
    const json = writeRunSummary({
      name: "bulk",
      argv,
      session,
      startedAt: t0,
      save: o.save,
      out: o.out,
      fields: {
        jobs: o.jobs,
        heartbeat_seconds: HEARTBEAT,
        elapsed_s: Math.round((Date.now() - t0) / 1000),
        results,
      },
      log,
    });
    await cleanup();
    console.log(json);
  }
}
