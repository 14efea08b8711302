// Model-based test of the shard. fast-check generates short sequences of submit, cancel, alarm,
// begin, heartbeat, complete/fail, lease expiry, eviction, abort, duplicate delivery, delivery of
// the queued messages, and the job controls (pause, resume, run now, retry, patch); each runs against the REAL shard (its RPC surface, the Worker's queue handler, its
// alarm) with time moved by the shard's injected clock. After every command the shard's tables and
// alarm are compared with a small reference model (test/support/shard-model.ts) and the safety
// invariants are checked; at the end of each sequence the D1 index must converge to the shard.
import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { toNewJob } from "../../src/api/job-input";
import { indexCopyDue } from "../../src/core/index-copy-time";
import { shardStub } from "../../src/shard/address";
import type { CandidateFlow } from "../support/claim-oracle";
import {
  ALL_ATTEMPTS,
  createUser,
  deliver,
  env,
  inShard,
  JOB_DEADLINE,
  JOB_STATUS,
  setShardClock,
  shardOf,
  WATERMARK,
} from "../support/helpers";
import {
  type AttemptStatus,
  attemptRuns,
  BATCH,
  beginJob,
  cancelJob,
  claimOrder,
  expiryKind,
  FINISHED,
  fireAlarm,
  heartbeatJob,
  heldUnits,
  holdsUnits,
  isFinished,
  type JobStatus,
  keyUses,
  type MJob,
  type Model,
  type ModelPatch,
  ofStatus,
  POLICY_STATS,
  patchJob,
  pauseJob,
  RANDOM,
  resumeJob,
  retryJob,
  runJob,
  settleJob,
  UNFINISHED,
  WAITING_RECHECK_MS,
  WINDOW,
} from "../support/shard-model";

/** Sequences per CI run (the issue asks for at least 1,000). */
const RUNS = 1_000;
const MAX_COMMANDS = 15;
const HOOK = "https://hooks.example.com/model";

// --- the real shard, read in one step --------------------------------------------------------------

type JobRow = {
  id: string;
  status: JobStatus;
  attempt: number;
  run_at: number;
  occurrence_at: number;
  deadline: number | null;
  priority: number;
  resources: string;
  max_retries: number;
  current_retries: number;
  occurrence: number;
  runs: number;
  version: number;
  index_due_at: number | null;
  /** 1 when the row is above the index watermark: its copy pending by construction. */
  above_watermark: number;
  created_at: number;
  extra_run: number;
  pending_patch: string | null;
  flow_control: string | null;
  debounce_key: string | null;
};
type AttemptRow = {
  job_id: string;
  number: number;
  occurrence: number;
  status: AttemptStatus;
  started_at: number;
};
type AllocationRow = {
  job_id: string;
  attempt: number;
  pool: string;
  units: number;
};
interface Snapshot {
  clock: number;
  alarm: number | null;
  jobs: Map<string, JobRow>;
  attempts: AttemptRow[];
  allocations: AllocationRow[];
  caps: Map<string, number>;
  /** The index watermark (src/shard/sql/index-copy.ts) and the jobs table's max(rowid). */
  watermark: { copiedThrough: number; retryAt: number | null; maxRowid: number };
}

function snapshot(userId: string): Promise<Snapshot> {
  return inShard(userId, async (shard, state) => {
    const sql = state.storage.sql;
    const jobs = sql
      .exec<JobRow>(
        `select id, ${JOB_STATUS} as status, attempt, run_at, occurrence_at, ${JOB_DEADLINE} as deadline, priority, resources, max_retries, current_retries,
                occurrence, runs, version, index_due_at, rowid > ${WATERMARK} as above_watermark, created_at,
                extra_run, pending_patch, flow_control, debounce_key from jobs`,
      )
      .toArray();
    return {
      clock: shard.clock(),
      alarm: await state.storage.getAlarm(),
      jobs: new Map(jobs.map((j) => [j.id, { ...j }])),
      attempts: sql
        .exec<AttemptRow>(
          `select job_id, number, occurrence, status, started_at from ${ALL_ATTEMPTS} order by job_id, number`,
        )
        .toArray()
        .map((a) => ({ ...a })),
      allocations: sql
        .exec<AllocationRow>("select job_id, attempt, pool, units from allocations")
        .toArray()
        .map((a) => ({ ...a })),
      watermark: sql
        .exec<{ copiedThrough: number; retryAt: number | null; maxRowid: number }>(
          `select ${WATERMARK} as copiedThrough, (select retry_at from index_watermark where id = 0) as retryAt,
                  (select coalesce(max(rowid), 0) from jobs) as maxRowid`,
        )
        .one(),
      caps: new Map(
        sql
          .exec<{ name: string; capacity: number }>("select name, capacity from pools")
          .toArray()
          .map((p) => [p.name, p.capacity]),
      ),
    };
  });
}

// --- the invariants --------------------------------------------------------------------------------

interface Real {
  user: Awaited<ReturnType<typeof createUser>>;
  /** The previous snapshot: attempt numbers, finished statuses and pool use are judged against it. */
  prev: Snapshot | null;
  /** The largest max_retries each job ever had (a PATCH may lower it after attempts were made). */
  maxRetries: Map<string, number>;
  /** The job a retry command just moved out of failed or cancelled (the one way out of finished). */
  retrying?: string;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** INDEX_FLUSH_DELAY_MS as the tests run (wrangler.toml). */
const INDEX_DELAY_MS = 2000;
/** A job's D1 copy is pending: by its index_due_at, or its row is above the index watermark. */
const copyIsPending = (j: JobRow) => j.index_due_at !== null || j.above_watermark === 1;
const byOccurrence = (attempts: AttemptRow[]) =>
  Map.groupBy(attempts, (a) => `${a.job_id}#${a.occurrence}`) as Map<string, AttemptRow[]>;

/** The safety invariants of the issue, on the real shard alone (the model is not consulted). */
function checkInvariants(s: Snapshot, r: Real, now: number): void {
  const prev = r.prev;
  const jobs = [...s.jobs.values()];
  const unfinished = jobs.filter((j) => UNFINISHED.includes(j.status));

  // 1. A job is never lost: every unfinished job has a deadline, the alarm is set, and it is no later
  //    than the deadline. Earlier is allowed (architecture.md: waking early is harmless). The one
  //    documented exception: a due job that the dispatch policy cannot take now because its pool is
  //    full waits for a release, with a recheck at most WAITING_RECHECK_MS away.
  // A paused job with no attempt running waits on nothing (it has no deadline).
  const waiting = unfinished.filter((j) => !(j.status === "paused" && j.deadline === null));
  if (waiting.length > 0) expect(s.alarm, "alarm set while unfinished work exists").not.toBeNull();
  const candidates = jobs.map((j) => ({
    ...j,
    runAt: j.run_at,
    resources: parseUnits(j.resources),
    flow: flowOf(j),
    begins: s.attempts.filter((a) => a.job_id === j.id).map((a) => a.started_at),
  }));
  const limit = Math.min(BATCH, WINDOW - jobs.filter((j) => j.status === "queued").length);
  const keys = keyUses(candidates);
  const claimable = new Set(claimOrder(candidates, s.caps, heldUnits(candidates), now, limit, keys));
  for (const j of unfinished) {
    // A paused job has nothing due, unless the attempt begun before the pause still runs.
    if (j.status === "paused" && j.deadline === null) continue;
    expect(j.deadline, `${j.id} (${j.status}) has a deadline`).not.toBeNull();
    const waitingForUnits = j.status === "scheduled" && j.run_at <= now && !claimable.has(j.id);
    // A deadline already past is met by an alarm due now: no alarm can be earlier than the present.
    const latest = waitingForUnits ? now + WAITING_RECHECK_MS : Math.max(j.deadline ?? 0, now);
    expect(
      s.alarm ?? Infinity,
      `alarm ≤ deadline of ${j.id} (${j.status}, deadline ${j.deadline}, now ${now}${waitingForUnits ? ", waiting for units" : ""})`,
    ).toBeLessThanOrEqual(latest);
  }

  // 7. An index copy is never lost (src/shard/sql/index-copy.ts): the watermark never passes the
  //    table's max(rowid), so a new row is always above it, pending by construction; and the alarm
  //    is set no later than the earliest pending copy (by index_due_at, or the first row above the
  //    watermark at its copy time, not before a failed write's retry), or now if that has passed.
  expect(s.watermark.copiedThrough, "watermark ≤ max(rowid)").toBeLessThanOrEqual(s.watermark.maxRowid);
  const copyTimes = jobs.flatMap((j) => (j.index_due_at === null ? [] : [j.index_due_at]));
  const firstNew = jobs.filter((j) => j.above_watermark === 1).sort((a, b) => a.created_at - b.created_at)[0];
  if (firstNew)
    copyTimes.push(Math.max(indexCopyDue(firstNew.created_at, INDEX_DELAY_MS), s.watermark.retryAt ?? 0));
  if (copyTimes.length > 0)
    expect(s.alarm ?? Infinity, "alarm ≤ the earliest pending index copy").toBeLessThanOrEqual(
      Math.max(Math.min(...copyTimes), now),
    );

  // 2. At most one accepted completion per occurrence, and none of its attempts after it.
  // 5. Attempts per occurrence ≤ 1 + max_retries.
  for (const [occ, attempts] of byOccurrence(s.attempts)) {
    const job = s.jobs.get(attempts[0]?.job_id ?? "");
    const won = attempts.filter((a) => a.status === "succeeded");
    expect(won.length, `accepted completions of ${occ}`).toBeLessThanOrEqual(1);
    const after = attempts.filter((a) => won[0] !== undefined && a.number > won[0].number);
    expect(after, `attempts of ${occ} after its success`).toEqual([]);
    const retries = Math.max(job?.max_retries ?? 0, r.maxRetries.get(job?.id ?? "") ?? 0);
    expect(attempts.length, `attempts of ${occ}`).toBeLessThanOrEqual(1 + retries);
  }

  // 8. Never two attempts of one job running at once: at most one of a job's attempts is `running`,
  //    and it is the job's current one. An attempt that overlap cancel_other replaces is recorded
  //    `cancelled` in the step that schedules the next occurrence, so none is left running beside it.
  for (const [jobId, attempts] of Map.groupBy(s.attempts, (a) => a.job_id)) {
    const running = attempts.filter((a) => a.status === "running");
    expect(running.length, `running attempts of ${jobId}`).toBeLessThanOrEqual(1);
    if (running[0])
      expect(running[0].number, `${jobId}'s running attempt is current`).toBe(s.jobs.get(jobId)?.attempt);
  }

  // 6. Allocated units never exceed capacity: use grows only through a claim, and a claim never
  //    takes a pool past its capacity (after a shrink below use, no new claim until use is below).
  //    The ledger holds exactly the current attempt of queued and running jobs, and of paused jobs
  //    whose attempt still runs (nothing leaks).
  const useOf = (allocs: AllocationRow[], pool: string) =>
    sum(allocs.filter((a) => a.pool === pool).map((a) => a.units));
  const rowKey = (a: AllocationRow) => `${a.job_id}:${a.attempt}:${a.pool}`;
  const before = new Set(prev?.allocations.map(rowKey));
  for (const [pool, capacity] of s.caps) {
    const use = useOf(s.allocations, pool);
    const claimed = s.allocations.some((a) => a.pool === pool && !before.has(rowKey(a)));
    if (claimed)
      expect(use, `use of ${pool} after a claim (capacity ${capacity})`).toBeLessThanOrEqual(capacity);
    else if (use > capacity)
      expect(use, `use of ${pool} over capacity ${capacity} only falls`).toBeLessThanOrEqual(
        useOf(prev?.allocations ?? [], pool),
      );
  }
  for (const a of s.allocations) {
    const j = s.jobs.get(a.job_id);
    expect(j && holdsUnits(j) && j.attempt === a.attempt, `allocation ${rowKey(a)}`).toBe(true);
  }

  // 8. Flow control: never more attempts of a key claimed or running than its concurrency, and never
  //    more begins of a key in any window of its period than its rate (each window ending at a begin).
  for (const flow of FLOWS) {
    const use = keys.get(flow.key);
    if (!use) continue;
    if (flow.concurrency !== null)
      expect(use.holders, `attempts of key ${flow.key} out at once`).toBeLessThanOrEqual(flow.concurrency);
    const rate = flow.rate;
    if (rate !== null)
      for (const t of use.begins) {
        const inWindow = use.begins.filter((b) => b > t - flow.periodMs && b <= t).length;
        expect(inWindow, `begins of key ${flow.key} in the window ending ${t}`).toBeLessThanOrEqual(rate);
      }
  }

  // 9. Debounce: at most one pending job per key (never claimed, scheduled or paused).
  const pendingByKey = Map.groupBy(
    jobs.filter(
      (j) => j.debounce_key !== null && j.attempt === 0 && ["scheduled", "paused"].includes(j.status),
    ),
    (j) => j.debounce_key,
  );
  for (const [key, pendingJobs] of pendingByKey)
    expect(
      pendingJobs.map((j) => j.id),
      `pending jobs of debounce key ${key}`,
    ).toHaveLength(1);

  // 3. Attempt numbers only grow. 4. Finished is final, but for an explicit retry of a failed or
  //    cancelled job, which schedules it again under the same fence.
  for (const j of jobs) {
    const was = prev?.jobs.get(j.id);
    if (!was) continue;
    expect(j.attempt, `${j.id}'s attempt number`).toBeGreaterThanOrEqual(was.attempt);
    const retried = r.retrying === j.id && was.status !== "succeeded" && j.status === "scheduled";
    if (FINISHED.includes(was.status) && !retried) {
      expect({ status: j.status, attempt: j.attempt }, `${j.id} stays ${was.status}`).toEqual({
        status: was.status,
        attempt: was.attempt,
      });
    }
  }
}

/** The model's flow-control keys: one set of limits each (periods within the commands' time steps). */
const FLOWS: CandidateFlow[] = [
  { key: "k0", concurrency: 1, rate: null, periodMs: 1000 },
  { key: "k1", concurrency: null, rate: 2, periodMs: 20_000 },
  { key: "k2", concurrency: 2, rate: 3, periodMs: 60_000 },
];

/** The model's debounce keys (one-shot submits may name one). */
const DEBOUNCES = [
  { key: "d0", delaySeconds: 5, maxWaitSeconds: null },
  { key: "d1", delaySeconds: 20, maxWaitSeconds: 30 },
];

/** A row's flow_control as the claim oracle takes it. */
function flowOf(j: JobRow): CandidateFlow | null {
  if (j.flow_control === null) return null;
  const f = JSON.parse(j.flow_control) as {
    key: string;
    concurrency: number | null;
    rate: number | null;
    period_seconds: number;
  };
  return { key: f.key, concurrency: f.concurrency, rate: f.rate, periodMs: f.period_seconds * 1000 };
}

function parseUnits(json: string): Record<string, number> {
  return JSON.parse(json) as Record<string, number>;
}

/** The shard agrees with the model on every job, attempt, allocation and pool. */
function compareWithModel(m: Model, s: Snapshot): void {
  expect(s.clock, "the shard runs on the virtual clock").toBe(m.now);
  expect([...s.jobs.keys()].sort()).toEqual(m.jobs.map((j) => j.id).sort());
  for (const j of m.jobs) {
    const row = s.jobs.get(j.id);
    expect(
      {
        id: j.id,
        status: row?.status,
        attempt: row?.attempt,
        retries: row?.current_retries,
        occurrence: row?.occurrence,
        runs: row?.runs,
        run_at: row?.run_at,
        occurrence_at: row?.occurrence_at,
        deadline: row?.deadline,
        priority: row?.priority,
        max_retries: row?.max_retries,
        extra: row?.extra_run === 1,
        pending: row?.pending_patch !== null,
      },
      `job ${j.id}`,
    ).toEqual({
      id: j.id,
      status: j.status,
      attempt: j.attempt,
      retries: j.retries,
      occurrence: j.occurrence,
      runs: j.runs,
      run_at: j.runAt,
      occurrence_at: j.occurrenceAt,
      deadline: j.deadline,
      priority: j.priority,
      max_retries: j.maxRetries,
      extra: j.extra === true,
      pending: j.pending !== undefined,
    });
    const attempts = s.attempts
      .filter((a) => a.job_id === j.id)
      .map(({ number, occurrence, status }) => ({ number, occurrence, status }));
    expect(attempts, `attempts of ${j.id}`).toEqual(j.attempts);
  }
  const held = m.jobs
    .filter(holdsUnits)
    .flatMap((j) =>
      Object.entries(j.resources).map(([pool, units]) => `${j.id}:${j.attempt}:${pool}:${units}`),
    );
  expect(s.allocations.map((a) => `${a.job_id}:${a.attempt}:${a.pool}:${a.units}`).sort()).toEqual(
    held.sort(),
  );
  expect(s.caps).toEqual(m.caps);
}

/** How often each kind of step happened over the run (printed at the end). */
const STATS: Record<string, number> = {};
const COVERED = [
  "submit.pooled",
  "submit.refused",
  "submit.keyed",
  "submit.debounce.replaced",
  "alarm.claims",
  "begin",
  "begin.stale",
  "complete",
  "fail",
  "finish.stale",
  "heartbeat",
  "heartbeat.refused",
  "lease.expired.heartbeat",
  "lease.expired.timeout",
  "delivered",
  "redelivered",
  "cancel.queued",
  "cancel.running",
  "evict",
  "abort",
  "resize",
  "expired",
  "pause.scheduled",
  "pause.queued",
  "pause.running",
  "resume.paused.scheduled",
  "run.recurring",
  "run.refused",
  "retry",
  "patch.now",
  "patch.pending",
  // Not listed, because a run sees them only a few times (they need a pause between a begin and the
  // attempt's end): "finish.paused" and "resume.paused.running". Their counts are printed, and
  // test/integration/job-controls.test.ts pins both cases down.
];
const count = (k: string, n = 1) => {
  STATS[k] = (STATS[k] ?? 0) + n;
};

/** After every command: read the shard, check the invariants, then compare it with the model. */
async function observe(m: Model, r: Real): Promise<Snapshot> {
  const s = await snapshot(r.user.user_id);
  checkInvariants(s, r, m.now);
  compareWithModel(m, s);
  r.prev = s;
  r.retrying = undefined;
  for (const j of m.jobs) r.maxRetries.set(j.id, Math.max(r.maxRetries.get(j.id) ?? 0, j.maxRetries));
  return s;
}

// --- time ------------------------------------------------------------------------------------------

/**
 * Moves virtual time to `to` and fires the alarm if it is due by then, as the runtime would (or at
 * once when `force`: an early wake, which must be harmless).
 */
async function advanceAndFire(m: Model, r: Real, to: number, force: boolean): Promise<void> {
  m.now = Math.max(m.now, to);
  const now = m.now;
  const alarm = await inShard(r.user.user_id, (shard, state) => {
    shard.clock = () => now;
    shard.random = () => RANDOM;
    return state.storage.getAlarm();
  });
  if (alarm === null || (!force && alarm > now)) return;
  expect(await runDurableObjectAlarm(shardOf(r.user.user_id))).toBe(true);
  count("alarm.fired");
  const expiredBefore = m.expired ?? 0;
  const replacedBefore = m.replaced ?? 0;
  count("alarm.claims", fireAlarm(m).length);
  count("expired", (m.expired ?? 0) - expiredBefore);
  count("overlap.replaced", (m.replaced ?? 0) - replacedBefore);
}

// --- the commands ----------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;
const pick = <T>(xs: T[], k: number): T => xs[k % xs.length] as T;
const shard = (m: Model) => shardStub(env, m.userId, 0);

class Submit implements Cmd {
  constructor(
    readonly v: {
      type: "noop" | "http";
      intervalSeconds: number | null;
      maxRetries: number | null;
      retryDelaySeconds: number;
      timeoutSeconds: number;
      priority: number;
      delayMs: number;
      wants: { pool: number; units: number }[];
      expiresAfterSeconds?: number | null;
      flow?: number | null;
      /** One-shot jobs only: one of DEBOUNCES. */
      debounce?: number | null;
      /** Recurring jobs only (a one-shot job keeps the defaults). */
      overlap?: "skip" | "buffer_one" | "cancel_other";
      catchUp?: "none" | "one" | "all";
      catchUpWindowSeconds?: number;
    },
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const pools = [...m.caps.keys()];
    const resources: Record<string, number> = {};
    if (pools.length > 0) for (const w of this.v.wants) resources[pick(pools, w.pool)] = w.units;
    const flow = this.v.flow === null || this.v.flow === undefined ? null : pick(FLOWS, this.v.flow);
    const debounce =
      this.v.intervalSeconds === null && this.v.debounce !== null && this.v.debounce !== undefined
        ? pick(DEBOUNCES, this.v.debounce)
        : null;
    // The key's pending job: its newest, never claimed, scheduled or paused (docs/design.md "Debounce").
    const newest = debounce ? m.jobs.findLast((j) => j.debounce?.key === debounce.key) : undefined;
    const pending =
      newest && newest.attempt === 0 && (newest.status === "scheduled" || newest.status === "paused")
        ? newest
        : undefined;
    // A debounced job runs delay_seconds after the latest submit, no later than max_wait after the first.
    const runAt = debounce
      ? Math.min(
          m.now + debounce.delaySeconds * 1000,
          (pending?.debounceFirstAt ?? m.now) + (debounce.maxWaitSeconds ?? Number.POSITIVE_INFINITY) * 1000,
        )
      : m.now + this.v.delayMs;
    // The API's own validation and translation, then the shard's submit RPC.
    const spec = toNewJob(
      {
        type: this.v.type,
        ...(this.v.type === "http" ? { payload: { url: HOOK } } : {}),
        ...(debounce ? {} : { run_at: new Date(runAt).toISOString() }),
        ...(debounce
          ? {
              debounce: {
                key: debounce.key,
                delay_seconds: debounce.delaySeconds,
                ...(debounce.maxWaitSeconds === null ? {} : { max_wait_seconds: debounce.maxWaitSeconds }),
              },
            }
          : {}),
        priority: this.v.priority,
        retry_delay_seconds: this.v.retryDelaySeconds,
        timeout_seconds: this.v.timeoutSeconds,
        interval_seconds: this.v.intervalSeconds,
        max_retries: this.v.maxRetries ?? undefined,
        resources,
        expires_after_seconds: this.v.expiresAfterSeconds,
        ...(flow
          ? {
              flow_control: {
                key: flow.key,
                ...(flow.concurrency === null ? {} : { concurrency: flow.concurrency }),
                ...(flow.rate === null ? {} : { rate: flow.rate }),
                period_seconds: flow.periodMs / 1000,
              },
            }
          : {}),
        ...(this.v.intervalSeconds === null ? {} : this.recurringPolicy()),
      },
      {
        userId: m.userId,
        shard: 0,
        now: Date.now(),
        allowPrivateTargets: true,
        finishedRetentionSeconds: 604_800,
        indexDb: 0,
      },
    );
    const out = await shard(m).submit(spec);
    const fits = Object.entries(resources).every(([p, u]) => u <= (m.caps.get(p) ?? 0));
    // Asking for more units than a pool holds is refused and writes nothing.
    expect(out, JSON.stringify(out)).toMatchObject(
      fits ? { ok: true, replayed: false } : { ok: false, reason: "invalid_resources" },
    );
    if (fits && pending) {
      // Replaced in place: the same id, the new body, its first submit kept.
      expect(out.ok && out.replaced && out.view.id, "replaced the pending job").toBe(pending.id);
      Object.assign(pending, {
        type: this.v.type,
        maxRetries: this.v.maxRetries ?? 3,
        retryDelaySeconds: this.v.retryDelaySeconds,
        timeoutSeconds: this.v.timeoutSeconds,
        priority: this.v.priority,
        resources,
        expiresAfterSeconds: this.v.expiresAfterSeconds,
        flow,
        runAt,
        occurrenceAt: runAt,
        deadline: pending.status === "paused" ? null : runAt,
      });
      count("submit.debounce.replaced");
    } else if (fits) {
      expect(out.ok && out.replaced, "created, not replaced").toBeFalsy();
      m.jobs.push({
        id: spec.id,
        type: this.v.type,
        intervalSeconds: this.v.intervalSeconds,
        maxRetries: this.v.maxRetries ?? 3,
        retryDelaySeconds: this.v.retryDelaySeconds,
        timeoutSeconds: this.v.timeoutSeconds,
        priority: this.v.priority,
        resources,
        expiresAfterSeconds: this.v.expiresAfterSeconds,
        flow,
        ...(debounce ? { debounce, debounceFirstAt: m.now } : {}),
        ...(this.v.intervalSeconds === null
          ? {}
          : {
              overlap: this.v.overlap,
              catchUp: this.v.catchUp,
              catchUpWindowSeconds: this.v.catchUpWindowSeconds,
            }),
        status: "scheduled",
        attempt: 0,
        retries: 0,
        occurrence: 0,
        occurrenceAt: runAt,
        runs: 0,
        runAt,
        deadline: runAt,
        attempts: [],
      });
    }
    count(!fits ? "submit.refused" : Object.keys(resources).length > 0 ? "submit.pooled" : "submit");
    if (fits && flow) count("submit.keyed");
    await observe(m, r);
  }
  private recurringPolicy = () => ({
    overlap: this.v.overlap,
    catch_up: this.v.catchUp,
    catch_up_window_seconds: this.v.catchUpWindowSeconds,
  });
  toString = () => `Submit(${JSON.stringify(this.v)})`;
}

class Cancel implements Cmd {
  constructor(readonly v: { job: number }) {}
  check = (m: Readonly<Model>) => m.jobs.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    // Every other time a job whose attempt runs, when there is one: the rarer cancel, and the one
    // that must close the attempt (the controls' commands make running jobs scarcer).
    const live = m.jobs.filter(attemptRuns);
    const j = pick(this.v.job % 2 === 0 && live.length > 0 ? live : m.jobs, this.v.job);
    const out = await shard(m).cancel(j.id);
    if (isFinished(j.status)) expect(out).toEqual({ ok: false, reason: "finished" });
    else {
      expect(out.ok, `cancel ${j.id} (${j.status})`).toBe(true);
      count(`cancel.${j.status}`);
      cancelJob(j, m.now);
    }
    await observe(m, r);
  }
  toString = () => `Cancel(${this.v.job})`;
}

/**
 * Time passes: by `advanceMs`, or to the shard's next wake plus `advanceMs`; the alarm fires if due
 * (or at once when forced: an early wake must be harmless).
 */
class Alarm implements Cmd {
  constructor(readonly v: { toNextWake: boolean; advanceMs: number; force: boolean }) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const wake = r.prev?.alarm ?? null;
    const from = this.v.toNextWake && wake !== null ? Math.max(m.now, wake) : m.now;
    await advanceAndFire(m, r, from + this.v.advanceMs, this.v.force);
    await observe(m, r);
  }
  toString = () => `Alarm(${JSON.stringify(this.v)})`;
}

/** A consumer takes a queued job's message and begins it, then dies; or begins with an older attempt. */
class Begin implements Cmd {
  constructor(readonly v: { job: number; stale: boolean }) {}
  check = (m: Readonly<Model>) => ofStatus(m as Model, "queued").length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const j = pick(ofStatus(m, "queued"), this.v.job);
    const attempt = this.v.stale ? j.attempt - 1 : j.attempt;
    const out = await shard(m).begin(j.id, attempt);
    if (this.v.stale) expect(out).toEqual({ ok: false, reason: "stale" });
    else {
      expect(out.ok, `begin ${j.id}#${attempt}`).toBe(true);
      // The attempt starts with what it was claimed with: a PATCH since then waits.
      expect(out.ok && out.timeoutSeconds, "the attempt's own timeout").toBe(j.timeoutSeconds);
      beginJob(j, m.now);
    }
    count(this.v.stale ? "begin.stale" : "begin");
    await observe(m, r);
  }
  toString = () => `Begin(${JSON.stringify(this.v)})`;
}

/** A consumer reports a running attempt's outcome (and the report is retried: refused the second time). */
class Finish implements Cmd {
  constructor(readonly v: { job: number; ok: boolean }) {}
  check = (m: Readonly<Model>) => m.jobs.some(attemptRuns);
  async run(m: Model, r: Real): Promise<void> {
    // A paused job's attempt first: its report settling a paused job is the rarer case.
    const live = m.jobs
      .filter(attemptRuns)
      .sort((a, b) => Number(b.status === "paused") - Number(a.status === "paused"));
    const j = pick(live, this.v.job);
    if (j.status === "paused") count("finish.paused");
    const report = this.v.ok
      ? { outcome: { ok: true as const } }
      : { outcome: { ok: false as const }, error: "x" };
    const out = await shard(m).finish(j.id, j.attempt, report);
    expect(out.ok, `finish ${j.id}#${j.attempt}`).toBe(true);
    settleJob(j, this.v.ok, m.now);
    expect((await shard(m).finish(j.id, j.attempt, report)).ok, "the same report again").toBe(false);
    count(this.v.ok ? "complete" : "fail");
    await observe(m, r);
  }
  toString = () => `Finish(${JSON.stringify(this.v)})`;
}

/**
 * A consumer whose attempt takes a while: time passes (the alarm fires if due: slots of its job may
 * come due meanwhile, cancel_other may replace it, its lease may run out), then it reports, if its
 * attempt is still the one running. What overlap and catch-up act on.
 */
class SlowFinish implements Cmd {
  constructor(readonly v: { job: number; ms: number; ok: boolean }) {}
  check = (m: Readonly<Model>) => m.jobs.some(attemptRuns);
  async run(m: Model, r: Real): Promise<void> {
    const j = pick(m.jobs.filter(attemptRuns), this.v.job);
    const attempt = j.attempt;
    await advanceAndFire(m, r, m.now + this.v.ms, false);
    await observe(m, r);
    const report = this.v.ok
      ? { outcome: { ok: true as const } }
      : { outcome: { ok: false as const }, error: "slow" };
    const out = await shard(m).finish(j.id, attempt, report);
    const current = attemptRuns(j) && j.attempt === attempt;
    expect(out.ok, `slow finish ${j.id}#${attempt} (${j.status})`).toBe(current);
    if (current) settleJob(j, this.v.ok, m.now);
    count(current ? "finish.slow" : "finish.slow.refused");
    await observe(m, r);
  }
  toString = () => `SlowFinish(${JSON.stringify(this.v)})`;
}

/**
 * A late or misdirected report: any attempt number that is not the current attempt of a running job
 * (an older attempt, a timed-out or cancelled one, one of a finished job, one never claimed).
 */
class StaleFinish implements Cmd {
  constructor(readonly v: { job: number; back: number; ok: boolean }) {}
  check = (m: Readonly<Model>) => m.jobs.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const j = pick(m.jobs, this.v.job);
    const attempt = attemptRuns(j)
      ? j.attempt - 1 - (this.v.back % j.attempt)
      : Math.max(0, j.attempt - this.v.back);
    const report = this.v.ok
      ? { outcome: { ok: true as const } }
      : { outcome: { ok: false as const }, error: "late" };
    const before = r.prev?.jobs.get(j.id)?.version;
    expect((await shard(m).finish(j.id, attempt, report)).ok, `finish ${j.id}#${attempt} (${j.status})`).toBe(
      false,
    );
    const s = await observe(m, r);
    expect(s.jobs.get(j.id)?.version, "a refused report changes nothing").toBe(before);
    count("finish.stale");
  }
  toString = () => `StaleFinish(${JSON.stringify(this.v)})`;
}

/**
 * A running attempt's consumer is gone: time passes its deadline (heartbeat timeout after its last
 * sign of life, or its timeout bound, whichever is first) and the alarm fires. The attempt's error
 * says which ended it.
 */
class LeaseExpiry implements Cmd {
  constructor(readonly v: { job: number; extraMs: number }) {}
  check = (m: Readonly<Model>) => m.jobs.some(attemptRuns);
  async run(m: Model, r: Real): Promise<void> {
    const j = pick(m.jobs.filter(attemptRuns), this.v.job);
    const attempt = j.attempt;
    const kind = expiryKind(j);
    await advanceAndFire(m, r, (j.deadline ?? m.now) + this.v.extraMs, false);
    // A cancel_other job's deadline may be its next occurrence's time (the model says which).
    const ended = j.attempts.find((a) => a.number === attempt)?.status;
    if (ended === "cancelled" || ended === "running") {
      count(ended === "cancelled" ? "lease.overlap.replaced" : "lease.overlap.paused");
      await observe(m, r);
      return;
    }
    expect(ended, "the attempt timed out").toBe("timed_out");
    const error = await inShard(r.user.user_id, (_s, state) =>
      state.storage.sql
        .exec<{ error: string }>(
          `select error from ${ALL_ATTEMPTS} where job_id = ? and number = ?`,
          j.id,
          attempt,
        )
        .one(),
    );
    expect(error.error, `why ${j.id}#${attempt} was given up`).toMatch(
      kind === "heartbeat" ? /^heartbeats stopped: / : /^timed out: no report within /,
    );
    count(`lease.expired.${kind}`);
    await observe(m, r);
  }
  toString = () => `LeaseExpiry(${JSON.stringify(this.v)})`;
}

/**
 * The consumer of a running attempt heartbeats: its deadline moves to now + the heartbeat timeout,
 * never past its timeout bound. Any other heartbeat (an older attempt of a running job, a job that
 * is not running, finished or cancelled) is refused. Either way the job's version does not change.
 */
class Heartbeat implements Cmd {
  constructor(readonly v: { job: number; other: boolean }) {}
  // Mostly a live consumer of a running attempt; otherwise any job, under a non-current attempt.
  check = (m: Readonly<Model>) => (this.v.other ? m.jobs.length > 0 : m.jobs.some(attemptRuns));
  async run(m: Model, r: Real): Promise<void> {
    const running = m.jobs.filter(attemptRuns);
    const current = !this.v.other;
    const j = pick(current ? running : m.jobs, this.v.job);
    const attempt = !current && attemptRuns(j) ? j.attempt - 1 : j.attempt;
    const before = r.prev?.jobs.get(j.id)?.version;
    const out = await shard(m).heartbeat(j.id, attempt);
    if (current) {
      expect(out, `heartbeat ${j.id}#${attempt}`).toEqual({ ok: true });
      heartbeatJob(j, m.now);
    } else {
      const reason = j.status === "cancelled" ? "cancelled" : isFinished(j.status) ? "finished" : "stale";
      expect(out, `heartbeat ${j.id}#${attempt} (${j.status})`).toEqual({ ok: false, reason });
    }
    const s = await observe(m, r);
    expect(s.jobs.get(j.id)?.version, "a heartbeat is invisible").toBe(before);
    count(current ? "heartbeat" : "heartbeat.refused");
  }
  toString = () => `Heartbeat(${JSON.stringify(this.v)})`;
}

/** Every queued job's message reaches the Worker's queue handler (noop succeeds, http gets a 500). */
class DeliverQueued implements Cmd {
  check = (m: Readonly<Model>) => ofStatus(m as Model, "queued").length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const queued = ofStatus(m, "queued");
    const messages = queued.map((j) => ({ user_id: m.userId, job_id: j.id, attempt: j.attempt }));
    const result = await deliver(messages);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(messages.length);
    for (const j of queued) {
      beginJob(j, m.now);
      settleJob(j, j.type === "noop", m.now);
    }
    count("delivered", messages.length);
    await observe(m, r);
  }
  toString = () => "DeliverQueued";
}

/** A message already delivered, or an older attempt's message, turns up again: refused, nothing changes. */
class Redeliver implements Cmd {
  constructor(readonly v: { message: number }) {}
  private stale = (m: Model) =>
    m.sent.filter((msg) => {
      const j = m.jobs.find((x) => x.id === msg.job_id);
      return !(j?.status === "queued" && j.attempt === msg.attempt);
    });
  check = (m: Readonly<Model>) => this.stale(m as Model).length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const msg = pick(this.stale(m), this.v.message);
    const before = r.prev?.jobs.get(msg.job_id)?.version;
    const result = await deliver([msg]);
    expect(result.explicitAcks).toHaveLength(1);
    const s = await observe(m, r);
    expect(s.jobs.get(msg.job_id)?.version, `redelivered ${msg.job_id}#${msg.attempt} changed nothing`).toBe(
      before,
    );
    count("redelivered");
  }
  toString = () => `Redeliver(${this.v.message})`;
}

/** The shard instance goes away, gracefully or abruptly; a fresh instance has the real clock again. */
class Crash implements Cmd {
  constructor(readonly v: { abort: boolean }) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const before = r.prev;
    if (this.v.abort) await abortAllDurableObjects();
    else await evictDurableObject(shardOf(m.userId));
    await setShardClock(m.userId, m.now, RANDOM);
    const s = await observe(m, r);
    expect(s.alarm, "the alarm survives").toBe(before?.alarm);
    const versions = (x: Snapshot | null | undefined) => [...(x?.jobs.values() ?? [])].map((j) => j.version);
    expect(versions(s), "nothing written is lost").toEqual(versions(before));
    count(this.v.abort ? "abort" : "evict");
  }
  toString = () => (this.v.abort ? "Abort" : "Evict");
}

/** A pool grows or shrinks (shrinking drains: nothing is preempted). */
class Resize implements Cmd {
  constructor(readonly v: { pool: number; capacity: number }) {}
  check = (m: Readonly<Model>) => m.caps.size > 0;
  async run(m: Model, r: Real): Promise<void> {
    const name = pick([...m.caps.keys()], this.v.pool);
    expect(await shard(m).putPool(name, this.v.capacity)).toMatchObject({
      ok: true,
      pool: { capacity: this.v.capacity },
    });
    m.caps.set(name, this.v.capacity);
    count("resize");
    await observe(m, r);
  }
  toString = () => `Resize(${JSON.stringify(this.v)})`;
}

/** Whether every pool the job names can hold its units (a retry or PATCH is refused otherwise). */
const fits = (m: Model, j: MJob) => Object.entries(j.resources).every(([p, u]) => u <= (m.caps.get(p) ?? 0));

/** The statuses each control moves a job out of (for picking jobs; the expectations are below). */
const CAN: Record<Control["v"]["action"], JobStatus[]> = {
  pause: ["running", "queued", "scheduled"],
  resume: ["paused"],
  run: ["scheduled"],
  retry: ["failed", "cancelled"],
};

/** pause, resume, run now or retry one job, through the shard's RPC, as the model says it goes. */
class Control implements Cmd {
  constructor(readonly v: { job: number; action: "pause" | "resume" | "run" | "retry" }) {}
  check = (m: Readonly<Model>) => m.jobs.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    // Mostly a job the action can move (so sequences reach paused, resumed and retried work), else any.
    // A pause goes to a running job when there is one: pausing mid-attempt is the rare, subtle case.
    const running = this.v.action === "pause" ? ofStatus(m, "running") : [];
    const movable =
      running.length > 0 ? running : m.jobs.filter((x) => CAN[this.v.action].includes(x.status));
    const j = pick(movable.length > 0 && this.v.job % 4 !== 3 ? movable : m.jobs, this.v.job);
    const was = j.status;
    const rpc = shard(m);
    const calls = {
      pause: () => rpc.pause(j.id),
      resume: () => rpc.resume(j.id),
      run: () => rpc.runNow(j.id),
      retry: () => rpc.retry(j.id),
    };
    const out = await calls[this.v.action]();
    const finished = isFinished(was);
    const expected = ((): string | null => {
      switch (this.v.action) {
        case "pause":
        case "resume":
          return finished ? "finished" : null;
        case "run":
          return finished ? "finished" : was === "paused" ? "paused" : was === "scheduled" ? null : "busy";
        case "retry":
          if (j.intervalSeconds !== null || (was !== "failed" && was !== "cancelled")) return "not_retryable";
          return fits(m, j) ? null : "invalid_resources";
      }
    })();
    expect(out.ok ? null : out.reason, `${this.v.action} ${j.id} (${was})`).toBe(expected);
    if (expected === null) {
      if (this.v.action === "pause") pauseJob(j);
      if (this.v.action === "resume") resumeJob(j, m.now);
      if (this.v.action === "run") runJob(j, m.now);
      if (this.v.action === "retry") {
        retryJob(j, m.now);
        r.retrying = j.id;
      }
      const kind =
        this.v.action === "run"
          ? j.intervalSeconds === null
            ? "once"
            : "recurring"
          : this.v.action === "resume"
            ? `${was}.${j.status}`
            : was;
      count(this.v.action === "retry" ? "retry" : `${this.v.action}.${kind}`);
    } else count(`${this.v.action}.refused`);
    await observe(m, r);
  }
  toString = () => `Control(${JSON.stringify(this.v)})`;
}

/** PATCH fields that do not move the schedule: applied now, or waiting for the attempt in flight. */
class Patch implements Cmd {
  constructor(readonly v: { job: number; patch: ModelPatch }) {}
  check = (m: Readonly<Model>) => m.jobs.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const j = pick(m.jobs, this.v.job);
    // Plain data across RPC (fast-check's records carry extra properties structured clone refuses).
    const out = await shard(m).patch(j.id, JSON.parse(JSON.stringify(this.v.patch)) as ModelPatch);
    const expected = isFinished(j.status) ? "finished" : fits(m, j) ? null : "invalid";
    expect(out.ok ? null : out.reason, `patch ${j.id} (${j.status})`).toBe(expected);
    if (expected === null) {
      const waits = j.status === "queued" || attemptRuns(j);
      patchJob(j, this.v.patch);
      count(waits ? "patch.pending" : "patch.now");
    }
    await observe(m, r);
  }
  toString = () => `Patch(${JSON.stringify(this.v)})`;
}

// --- generators ------------------------------------------------------------------------------------

const index = fc.nat({ max: 7 });
const rarely = fc.oneof(
  { weight: 3, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
const submitCmd = fc
  .record({
    type: fc.constantFrom<"noop" | "http">("noop", "noop", "http"),
    intervalSeconds: fc.option(fc.constantFrom(5, 15, 60), { freq: 3 }),
    maxRetries: fc.option(fc.nat({ max: 2 }), { freq: 5 }),
    retryDelaySeconds: fc.constantFrom(1, 2, 5),
    // 900: the heartbeat timeout (30 s), not the timeout, bounds a dead attempt.
    timeoutSeconds: fc.constantFrom(1, 5, 20, 900),
    priority: fc.constantFrom(0, 50, 50, 100),
    delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40_000 })),
    wants: fc.array(fc.record({ pool: fc.nat({ max: 1 }), units: fc.integer({ min: 1, max: 2 }) }), {
      maxLength: 2,
    }),
    expiresAfterSeconds: fc.option(fc.constantFrom(1, 20, 60), { freq: 3 }),
    flow: fc.option(fc.nat({ max: FLOWS.length - 1 }), { freq: 2 }),
    debounce: fc.option(fc.nat({ max: DEBOUNCES.length - 1 }), { freq: 2 }),
    overlap: fc.constantFrom<"skip" | "buffer_one" | "cancel_other">("skip", "buffer_one", "cancel_other"),
    catchUp: fc.constantFrom<"none" | "one" | "all">("none", "one", "all"),
    catchUpWindowSeconds: fc.constantFrom(10, 60, 3600),
  })
  .map((v) => new Submit(v));
const alarmCmd = fc
  .record({
    toNextWake: fc.oneof(
      { weight: 3, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    advanceMs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: 3_000 }),
      fc.integer({ min: 25_000, max: 45_000 }),
      fc.integer({ min: 45_000, max: 120_000 }),
    ),
    force: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  })
  .map((v) => new Alarm(v));

/** Weighted so that sequences reach queued and running work within a few commands. */
const commandArbs = [
  { weight: 4, arbitrary: submitCmd },
  { weight: 5, arbitrary: alarmCmd },
  { weight: 2, arbitrary: fc.constant(new DeliverQueued()) },
  { weight: 6, arbitrary: fc.record({ job: index, stale: rarely }).map((v) => new Begin(v)) },
  { weight: 5, arbitrary: fc.record({ job: index, ok: fc.boolean() }).map((v) => new Finish(v)) },
  { weight: 4, arbitrary: fc.record({ job: index, other: rarely }).map((v) => new Heartbeat(v)) },
  {
    weight: 2,
    arbitrary: fc
      .record({ job: index, ms: fc.integer({ min: 1_000, max: 25_000 }), ok: fc.boolean() })
      .map((v) => new SlowFinish(v)),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ job: index, back: fc.nat({ max: 3 }), ok: fc.boolean() })
      .map((v) => new StaleFinish(v)),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ job: index, extraMs: fc.oneof(fc.constant(0), fc.nat({ max: 2_000 })) })
      .map((v) => new LeaseExpiry(v)),
  },
  { weight: 2, arbitrary: fc.record({ job: index }).map((v) => new Cancel(v)) },
  { weight: 2, arbitrary: fc.record({ message: index }).map((v) => new Redeliver(v)) },
  { weight: 1, arbitrary: fc.constant(new Crash({ abort: false })) },
  { weight: 1, arbitrary: fc.constant(new Crash({ abort: true })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ pool: fc.nat({ max: 1 }), capacity: fc.nat({ max: 3 }) })
      .map((v) => new Resize(v)),
  },
  // Pause most: pausing mid-attempt (then the attempt's report) is the case that needs sequences.
  ...(
    [
      ["pause", 2],
      ["resume", 1],
      ["run", 1],
      ["retry", 1],
    ] as const
  ).map(([action, weight]) => ({
    weight,
    arbitrary: fc.record({ job: index }).map(({ job }) => new Control({ job, action })),
  })),
  {
    weight: 1,
    arbitrary: fc
      .record({
        job: index,
        patch: fc.record(
          {
            priority: fc.constantFrom(0, 50, 100),
            maxRetries: fc.nat({ max: 2 }),
            retryDelaySeconds: fc.constantFrom(1, 2, 5),
            timeoutSeconds: fc.constantFrom(1, 5, 900),
          },
          { requiredKeys: [] },
        ),
      })
      .filter((v) => Object.keys(v.patch).length > 0)
      .map((v) => new Patch(v)),
  },
];
const commands = (maxCommands: number) =>
  fc.commands([fc.oneof(...commandArbs)], { maxCommands, size: "max" });

// --- one sequence ----------------------------------------------------------------------------------

async function setup(capacities: number[]): Promise<{ model: Model; real: Real }> {
  const user = await createUser("model");
  // Far enough ahead of the wall clock that the runtime never fires an alarm by itself.
  const now = Date.now() + 24 * 60 * 60 * 1000;
  await setShardClock(user.user_id, now, RANDOM);
  const model: Model = { userId: user.user_id, now, caps: new Map(), jobs: [], sent: [] };
  for (const [i, capacity] of capacities.entries()) {
    await shard(model).putPool(`p${i}`, capacity);
    model.caps.set(`p${i}`, capacity);
  }
  const real: Real = { user, prev: null, maxRetries: new Map() };
  await observe(model, real);
  return { model, real };
}

/**
 * The D1 index converges: time moves to each alarm until no index copy is pending (the model and
 * the invariants are checked at every step), then every settled job's D1 row is the shard's view at
 * the shard's version (with only the latest attempt), and a queued or running job's row is an older
 * version: transient states are not copied on their own.
 */
async function drainAndCompareIndex(m: Model, r: Real): Promise<void> {
  for (let i = 0; ; i++) {
    const s = r.prev ?? (await observe(m, r));
    if ([...s.jobs.values()].every((j) => !copyIsPending(j))) break;
    expect(s.alarm, "the alarm is set while an index copy is pending").not.toBeNull();
    expect(i, "the index drains within 20 alarms").toBeLessThan(20);
    await advanceAndFire(m, r, s.alarm ?? m.now, false);
    await observe(m, r);
  }
  const { results } = await env.INDEX_DB.prepare(
    "select job_id, status, version, doc from job_index where user_id = ?",
  )
    .bind(m.userId)
    .all<{ job_id: string; status: string; version: number; doc: string }>();
  expect(results.map((x) => x.job_id).sort()).toEqual(m.jobs.map((j) => j.id).sort());
  for (const row of results) {
    const found = await shard(m).get(row.job_id);
    expect(found.ok, row.job_id).toBe(true);
    const view = found.ok ? found.view : null;
    const version = r.prev?.jobs.get(row.job_id)?.version ?? Number.NaN;
    const transient = view?.status === "queued" || view?.status === "running";
    if (transient && row.version !== version) {
      // Claimed and begun are not copied on their own: the index keeps an older copy until the next
      // settled state (it may have caught the transient state itself, then it is current, below).
      expect(row.version, `D1 row of transient ${row.job_id}`).toBeLessThan(version);
      continue;
    }
    expect({ status: row.status, version: row.version }, `D1 row of ${row.job_id}`).toEqual({
      status: view?.status,
      version,
    });
    // A listed job carries only its latest attempt (docs/design.md).
    expect(JSON.parse(row.doc), `D1 doc of ${row.job_id}`).toEqual({
      ...view,
      attempts: view?.attempts.slice(0, 1),
    });
  }
  count("sequences");
}

/** A sequence: pools, one to three jobs submitted up front, then up to `maxCommands` random commands. */
const sequence = (maxCommands: number) =>
  fc.asyncProperty(
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    fc.array(submitCmd, { minLength: 1, maxLength: 3 }),
    commands(maxCommands),
    async (caps, initial, cmds) => {
      const { model, real } = await setup(caps);
      await fc.asyncModelRun(() => ({ model, real }), [...initial, ...cmds]);
      await drainAndCompareIndex(model, real);
    },
  );

describe("the shard against its model", () => {
  beforeAll(() => {
    // http jobs always fail: their target answers 500.
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("boom", { status: 500 }));
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it(`keeps every invariant over ${RUNS} short random sequences`, { timeout: 600_000 }, async () => {
    const started = Date.now();
    await fc.assert(sequence(MAX_COMMANDS), { numRuns: RUNS });
    console.log(`shard model: ${RUNS} sequences in ${Date.now() - started} ms`, JSON.stringify(STATS));
    console.log("overlap and catch-up rules decided", JSON.stringify(POLICY_STATS));
    // Not vacuous: every kind of step happened (each is expected tens to hundreds of times).
    for (const step of COVERED) expect(STATS[step] ?? 0, `${step} was exercised`).toBeGreaterThan(0);
  });
});
