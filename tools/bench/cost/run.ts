// `npm run bench -- cost` (npm run bench:cost): real jobs through a private `wrangler dev` with LOG_OPERATIONS=true: every billed
// operation is logged where it happens (src/metering) as an `operations` event, and this sums them per
// job for each kind of job, by phase, and prices them (prices.ts). Also reads the server's
// CPU time (all of workerd: API, shards, queue, consumer) per job, an upper bound for Worker CPU.
//
//   npm run bench -- cost [--jobs N] [--only LIST] [--save WHAT] [--keep-state] [--max-seconds N]
//
// `submit` and `submit1` submit jobs due in an hour (in batches of 500, and one a request) and count
// only that and the index copy it makes: the submit's own cost, which the other kinds' whole life hides.
// `life` is the canonical http job's whole life, its removal included: its user's retention is set to
// LIFE_RETENTION_S, and the run waits for every job's removal (the shards' `jobs_removed` lines).
//
// Bounded: every wait has a deadline and a watchdog ends the run; traffic goes to 127.0.0.1 only.
import os from "node:os";
import { noOperations, PHASES, sumOperations } from "../../../src/metering/operations";
import type { CreatedUser, Job } from "../../harness/api-types";
import { parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import type { DevServer } from "../../harness/dev-server";
import { parseEvent } from "../../harness/log-events";
import { groupCpuMs } from "../../harness/process-group";
import { headCommit } from "../../harness/project";
import { writeResult } from "../../harness/results";
import { guardMeasurement } from "../../harness/run-guard";
import { ServerSession } from "../../harness/session";
import type { Target } from "../../harness/target";
import { makeLog, mapLimit, sleep } from "../../harness/util";
import { dollarsPerMillionJobs, type PerJob } from "./price";

type Counts = PerJob;
const zero = noOperations;

interface Ctx {
  api: ApiClient;
  adminToken: string;
  target: Target;
  server: DevServer;
  jobs: number;
}

interface Scenario {
  name: string;
  what: string;
  /** Runs the jobs; resolves with [from, to] (epoch ms) of the window to count and the units run. */
  run(ctx: Ctx, user: CreatedUser): Promise<{ from: number; to: number; units: number }>;
}

/**
 * Resolves when `count` attempts of `userId` were reported and accepted since `from`: the sum of the
 * consumer's `attempts_reported` lines (one per consumer batch per shard; there with LOG_ATTEMPTS=true
 * too). Answers how many were.
 */
async function finishedAttempts(
  server: DevServer,
  userId: string,
  from: number,
  count: number,
  timeoutMs = 120_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let done = 0;
    for (const line of server.lines(from)) {
      const e = parseEvent(line.text);
      if (e?.event === "attempts_reported" && e.user_id === userId) done += Number(e.accepted ?? 0);
    }
    if (done >= count) return done;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${count} attempts finished in time`);
    await sleep(200);
  }
}

/** The index copy is written up to INDEX_FLUSH_DELAY_MS (2 s) after a change: count it too. */
const INDEX_SETTLE_MS = 4_000;

function oneShots(
  name: string,
  what: string,
  job: (t: Target) => Record<string, unknown>,
  resources = false,
): Scenario {
  return {
    name,
    what,
    async run({ api, target, server, jobs }, user) {
      if (resources) await api.putPool(user.api_key, "slot", 4);
      const from = Date.now();
      await mapLimit(Array.from({ length: jobs }), 8, () =>
        api.submit(user.api_key, { ...job(target), ...(resources ? { resources: { slot: 1 } } : {}) }),
      );
      await finishedAttempts(server, user.user_id, from, jobs);
      await sleep(INDEX_SETTLE_MS);
      return { from, to: Date.now(), units: jobs };
    },
  };
}

/** Jobs due in an hour: what is counted is their submit and the index copy it makes, not their run. */
function submitsOnly(
  name: string,
  what: string,
  send: (api: ApiClient, token: string, jobs: Record<string, unknown>[]) => Promise<void>,
): Scenario {
  return {
    name,
    what,
    async run({ api, jobs }, user) {
      const runAt = new Date(Date.now() + 3_600_000).toISOString();
      const from = Date.now();
      await send(
        api,
        user.api_key,
        Array.from({ length: jobs }, () => ({ type: "noop", run_at: runAt })),
      );
      await sleep(INDEX_SETTLE_MS);
      return { from, to: Date.now(), units: jobs };
    },
  };
}

/**
 * Resolves when `count` jobs of `userId` were removed by retention since `from` (the shards'
 * `jobs_removed` lines, one per removal batch; the shard's name starts with its user's id).
 */
async function removedJobs(
  server: DevServer,
  userId: string,
  from: number,
  count: number,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let done = 0;
    for (const line of server.lines(from)) {
      const e = parseEvent(line.text);
      if (e?.event === "jobs_removed" && String(e.shard).startsWith(`${userId}/`))
        done += Number(e.jobs ?? 0);
    }
    if (done >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${count} jobs removed in time`);
    await sleep(500);
  }
}

/** The whole-life scenario's retention: short, so the removal is counted in the same run. */
const LIFE_RETENTION_S = 10;

const SUBMIT_BATCH = 500;
/** The flow-control scenarios' jobs take their keys in turn. */
let flowKeys = 0;

const SCENARIOS: Scenario[] = [
  oneShots("noop", "one-shot noop", () => ({ type: "noop" })),
  oneShots("http", "one-shot http (the canonical job)", (t) => ({
    type: "http",
    payload: { url: t.url("/ok") },
  })),
  {
    name: "life",
    what: `one-shot http, whole life: submit to its removal (retention ${LIFE_RETENTION_S} s)`,
    async run({ api, target, server, jobs, adminToken }, user) {
      await api.expect([200], "PATCH", `/v1/admin/users/${user.user_id}`, {
        token: adminToken,
        body: { finished_retention_seconds: LIFE_RETENTION_S },
      });
      const from = Date.now();
      await mapLimit(Array.from({ length: jobs }), 8, () =>
        api.submit(user.api_key, { type: "http", payload: { url: target.url("/ok") } }),
      );
      await finishedAttempts(server, user.user_id, from, jobs);
      // Removed at its retention, at most a minute later (the retention sweep's bound).
      await removedJobs(server, user.user_id, from, jobs, (LIFE_RETENTION_S + 90) * 1000);
      await sleep(1_000);
      return { from, to: Date.now(), units: jobs };
    },
  },
  {
    name: "interval",
    what: "one interval occurrence (every 1 s; the submit is left out)",
    async run({ api, server, jobs }, user) {
      const occurrences = Math.max(5, Math.min(jobs, 30));
      const started = Date.now();
      const job = (await api.submit(user.api_key, { type: "noop", interval_seconds: 1 })).body;
      await finishedAttempts(server, user.user_id, started, 1);
      const from = Date.now();
      await finishedAttempts(server, user.user_id, from, occurrences, 60_000 + occurrences * 2_000);
      const to = Date.now();
      await api.expect<Job>([200], "DELETE", `/v1/jobs/${job.id}`, { token: user.api_key });
      return { from, to, units: occurrences };
    },
  },
  {
    name: "retried",
    what: "a job retried twice (500, 500, then 200)",
    async run({ api, target, server, jobs }, user) {
      const n = Math.max(5, Math.floor(jobs / 4));
      const seen = new Map<string, number>();
      target.answerWith((d) => {
        if (d.route !== "/flaky") return { status: 200 };
        const tries = (seen.get(d.webhookId) ?? 0) + 1;
        seen.set(d.webhookId, tries);
        return { status: tries <= 2 ? 500 : 200 };
      });
      const from = Date.now();
      await mapLimit(Array.from({ length: n }), 8, () =>
        api.submit(user.api_key, {
          type: "http",
          payload: { url: target.url("/flaky") },
          max_retries: 2,
          retry_delay_seconds: 1,
        }),
      );
      await finishedAttempts(server, user.user_id, from, n * 3, 180_000);
      await sleep(INDEX_SETTLE_MS);
      return { from, to: Date.now(), units: n };
    },
  },
  oneShots("pooled", "a pooled job (pool of 4, one unit each)", () => ({ type: "noop" }), true),
  oneShots("flow", "a canonical job with flow_control: 10 keys, each 4 at once and 50 a second", (t) => ({
    type: "http",
    payload: { url: t.url("/ok") },
    flow_control: { key: `customer-${flowKeys++ % 10}`, concurrency: 4, rate: 50 },
  })),
  oneShots("flowc", "a canonical job with flow_control, concurrency only (10 keys, 4 at once)", (t) => ({
    type: "http",
    payload: { url: t.url("/ok") },
    flow_control: { key: `customer-${flowKeys++ % 10}`, concurrency: 4 },
  })),
  {
    name: "batch",
    what: "a batch-submitted job (one request for all)",
    async run({ api, server, jobs }, user) {
      const from = Date.now();
      const reply = await api.request<{ results: unknown[] }>("POST", "/v1/jobs/batch", {
        token: user.api_key,
        body: { jobs: Array.from({ length: jobs }, () => ({ type: "noop" })) },
      });
      if (reply.status !== 201) throw new Error(`no batch submit here (${reply.status})`);
      await finishedAttempts(server, user.user_id, from, jobs);
      await sleep(INDEX_SETTLE_MS);
      return { from, to: Date.now(), units: jobs };
    },
  },
  submitsOnly(
    "submit",
    "the submit of a batch-submitted job, 500 a request (due in an hour)",
    async (api, token, jobs) => {
      for (let at = 0; at < jobs.length; at += SUBMIT_BATCH) {
        const body = { jobs: jobs.slice(at, at + SUBMIT_BATCH) };
        const reply = await api.expect<{ results: { status: number }[] }>([201], "POST", "/v1/jobs/batch", {
          token,
          body,
        });
        if (reply.body.results.some((r) => r.status !== 201)) throw new Error("a batch item was refused");
      }
    },
  ),
  submitsOnly(
    "submit1",
    "the submit of a job sent alone, 8 in flight (due in an hour)",
    async (api, token, jobs) => {
      await mapLimit(jobs, 8, (job) => api.submit(token, job));
    },
  ),
];

function countOperations(server: DevServer, from: number, to: number) {
  const byPhase: Record<string, Counts> = {};
  for (const line of server.lines(from, to)) {
    const e = parseEvent(line.text);
    if (e?.event !== "operations") continue;
    const phase = String(e.phase);
    byPhase[phase] ??= zero();
    const c = byPhase[phase];
    for (const k of Object.keys(c) as (keyof Counts)[])
      c[k] += typeof e[k] === "number" ? (e[k] as number) : 0;
  }
  return byPhase;
}

const perUnit = (c: Counts, units: number): Counts =>
  Object.fromEntries(
    Object.entries(c).map(([k, v]) => [k, Math.round((v / units) * 100) / 100]),
  ) as unknown as Counts;

const total = (byPhase: Record<string, Counts>): Counts => sumOperations(byPhase);

const usage = `usage: npm run bench -- cost [options]      (or npm run bench:cost -- [options])
  --jobs N            jobs of each kind (100)
  --only LIST         only these kinds: ${SCENARIOS.map((s) => s.name).join(",")} (default: all)
  --save WHAT         also write the JSON to docs/results/bench/<date>-<commit>-<WHAT>.json
  --keep-state        keep the temporary state directory
  --max-seconds N     watchdog for the whole run (900)`;

export async function main(argv: string[]): Promise<undefined> {
  const cli = parseCommand(argv, {
    name: "bench cost",
    usage,
    options: {
      jobs: { type: "string", default: "100" },
      only: { type: "string" },
      save: { type: "string" },
      "keep-state": { type: "boolean", default: false },
      "max-seconds": { type: "string", default: "900" },
    },
  });
  const { values } = cli;
  const jobs = cli.integer("jobs", values.jobs, 1, 100_000);
  const only =
    values.only === undefined
      ? undefined
      : cli.list(
          "only",
          values.only,
          SCENARIOS.map((s) => s.name),
        );
  const save = cli.what("save", values.save);
  const maxSeconds = cli.number("max-seconds", values["max-seconds"], 60, 7200);
  const log = makeLog(Date.now());
  const session = new ServerSession({
    name: "cost",
    vars: ["LOG_OPERATIONS=true"],
    keepLines: 1_000_000,
    target: {},
    keepState: values["keep-state"],
  });
  const cleanup = () => session.close().catch(() => {});
  const guard = guardMeasurement("cost", maxSeconds, log, cleanup);
  const startedAt = Date.now();
  const results: Record<string, unknown> = {};
  try {
    await session.start();
    const { server, target, adminToken } = session;
    const api = new ApiClient(server.baseUrl);
    const ctx: Ctx = { api, adminToken, target, server, jobs };
    const chosen = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
    for (const s of chosen) {
      const user = await api.createUser(adminToken, `cost-${s.name}`);
      // One job first, not counted: the key's cache and the shard are warm in a running system.
      await api.submit(user.api_key, {
        type: "noop",
        run_at: new Date(Date.now() + 3_600_000).toISOString(),
      });
      const cpuBefore = groupCpuMs(server.processGroup);
      try {
        const { from, to, units } = await s.run(ctx, user);
        const cpuMs = groupCpuMs(server.processGroup) - cpuBefore;
        const byPhase = countOperations(server, from, to);
        const perJob = perUnit(total(byPhase), units);
        const priced = dollarsPerMillionJobs(perJob);
        results[s.name] = {
          what: s.what,
          units,
          per_job: perJob,
          per_job_by_phase: Object.fromEntries(
            PHASES.filter((p) => byPhase[p]).map((p) => [p, perUnit(byPhase[p] ?? zero(), units)]),
          ),
          usd_per_million: Math.round(priced.total * 100) / 100,
          usd_breakdown: Object.fromEntries(
            Object.entries(priced.breakdown).map(([k, v]) => [k, Math.round(v * 1000) / 1000]),
          ),
          local_cpu_ms_per_job: Math.round((cpuMs / units) * 100) / 100,
        };
        log(`cost: ${s.name}: $${priced.total.toFixed(2)} per million, ${JSON.stringify(perJob)}`);
      } catch (err) {
        results[s.name] = { what: s.what, error: String(err) };
        log(`cost: ${s.name} failed: ${err}`);
      }
    }
  } finally {
    guard.dispose();
    await cleanup();
  }
  const commit = headCommit();
  const summary = {
    started_at: new Date(startedAt).toISOString(),
    commit,
    load1: os.loadavg()[0],
    jobs,
    results,
  };
  const json = JSON.stringify(summary, null, 2);
  process.stdout.write(`${json}\n`);
  printTable(results);
  const written = writeResult(json, {
    kind: "bench",
    save: save ? { startedAt, commit, dirty: false, what: save } : undefined,
  });
  for (const file of written) log(`cost: saved ${file}`);
}

function printTable(results: Record<string, unknown>) {
  const rows = Object.entries(results).map(([name, r]) => {
    const x = r as {
      per_job?: Counts;
      usd_per_million?: number;
      local_cpu_ms_per_job?: number;
      error?: string;
    };
    if (!x.per_job) return `${name.padEnd(9)} ${x.error ?? ""}`;
    const p = x.per_job;
    return [
      name.padEnd(9),
      String(p.doRequests).padStart(6),
      String(p.sqlRowsWritten).padStart(7),
      String(p.sqlRowsRead).padStart(7),
      String(p.queueMessages).padStart(5),
      String(p.d1RowsWritten).padStart(6),
      String(p.workerInvocations).padStart(6),
      `$${x.usd_per_million?.toFixed(2)}`.padStart(9),
      String(x.local_cpu_ms_per_job).padStart(8),
    ].join(" ");
  });
  process.stderr.write(
    `\nper job    DO req  SQL wr  SQL rd  msgs  D1 wr  W inv   $/M jobs  cpu ms\n${rows.join("\n")}\n`,
  );
}
