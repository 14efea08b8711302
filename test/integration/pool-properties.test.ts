// Resource-pool allocation, property-based: random sequences of submit, dispatch, begin, finish, lease
// timeout, lost dispatch, cancel and resize run against the real shard queries inside the Durable
// Object (injected clock), and after every step the shard's tables are checked against a small model.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JobStatus } from "../../src/core/state";
import type { ShardDb, ShardTimings } from "../../src/shard/db";
import { begin, cancel, finishAttempt } from "../../src/shard/sql/attempts";
import { claimDue } from "../../src/shard/sql/claim";
import { resendLostDispatches } from "../../src/shard/sql/dispatch";
import { putPool } from "../../src/shard/sql/pools";
import { insertJob } from "../../src/shard/sql/submit";
import type { TaskShard } from "../../src/shard/task-shard";
import { expireLeases } from "../../src/shard/tick";
import { expectedClaimOrder } from "../support/claim-oracle";
import { ALL_ATTEMPTS, inShard, JOB_STATUS } from "../support/helpers";
import { newJobs } from "../support/new-job";
import { agingBoundMs } from "../support/priority";

const T0 = Date.UTC(2030, 0, 1);
const RANDOM = () => 0.5;
const RUNS = 1000;

/** The shard's parts the alarm uses: its context, and the alarm's lease step (src/shard/tick.ts). */
interface Guts {
  db: ShardDb;
  timings: ShardTimings;
  /** The alarm's lease step: every running attempt past its lease is timed out and settled. */
  expireLeases(now: number): void;
}

const guts = (shard: TaskShard): Guts => ({
  db: shard.context.db,
  timings: shard.context.timings,
  expireLeases: (now) => expireLeases(shard.context, now),
});

/** A fresh shard (its own name) for one test, with the shard's randomness fixed. */
function withShard<R>(fn: (g: Guts, sql: SqlStorage) => R) {
  return inShard(`usr_props_${crypto.randomUUID()}`, (shard, state) => {
    shard.random = RANDOM;
    return fn(guts(shard), state.storage.sql);
  });
}

const spec = newJobs("usr_props", T0);

// --- the model -------------------------------------------------------------------------------------

interface MJob {
  id: string;
  priority: number;
  resources: Record<string, number>;
  maxRetries: number;
  intervalSeconds: number | null;
  timeoutSeconds: number;
  status: JobStatus;
  attempt: number;
  retries: number;
  runAt: number;
  /** Dispatch deadline while queued, lease deadline while running. */
  deadline: number;
  /** Consecutive dispatch misses: each doubles the next claim's dispatch deadline. */
  misses?: number;
}

interface Model {
  now: number;
  caps: Map<string, number>;
  jobs: MJob[];
  /** Ledger use per pool after the previous step: only a claim may raise it, and not past capacity. */
  used: Map<string, number>;
  /** Attempt and status per job after the previous step, read from the shard. */
  seen: Map<string, { attempt: number; status: JobStatus }>;
}

interface Real {
  g: Guts;
  sql: SqlStorage;
}

const FINISHED: JobStatus[] = ["succeeded", "failed", "cancelled"];
const holds = (j: MJob) => j.status === "queued" || j.status === "running";
const pools = (m: Model) => [...m.caps.keys()];
const ofStatus = (m: Model, s: JobStatus) => m.jobs.filter((j) => j.status === s);
const pick = <T>(xs: T[], k: number): T => xs[k % xs.length] as T;

function modelUse(m: Model): Map<string, number> {
  const used = new Map<string, number>();
  for (const j of m.jobs.filter(holds))
    for (const [p, u] of Object.entries(j.resources)) used.set(p, (used.get(p) ?? 0) + u);
  return used;
}

/** claimDue's policy over every due job with no scan bound: the one claim oracle. */
function expectedClaims(m: Model, limit: number, aging: number): string[] {
  return expectedClaimOrder(m.jobs, m.caps, modelUse(m), m.now, aging, limit);
}

/** What follows a failed (or timed-out) attempt: retry, next occurrence, or failed. */
function settleFailure(j: MJob): void {
  if (j.retries < j.maxRetries) {
    j.status = "scheduled";
    j.retries++;
  } else if (j.intervalSeconds !== null) {
    j.status = "scheduled";
    j.retries = 0;
  } else j.status = "failed";
}

function settleSuccess(j: MJob): void {
  if (j.intervalSeconds !== null) {
    j.status = "scheduled";
    j.retries = 0;
  } else j.status = "succeeded";
}

type Row = { id: string; status: JobStatus; attempt: number; run_at: number; current_retries: number };

function jobRows(r: Real): Map<string, Row> {
  const rows = r.sql
    .exec<Row>(`select id, ${JOB_STATUS} as status, attempt, run_at, current_retries from jobs`)
    .toArray();
  return new Map(rows.map((row) => [row.id, row]));
}

function ledgerUse(r: Real): Map<string, number> {
  const rows = r.sql
    .exec<{ pool: string; units: number }>("select pool, sum(units) as units from allocations group by pool")
    .toArray();
  return new Map(rows.map((row) => [row.pool, row.units]));
}

/** A scheduled job comes back with the shard's next due time (backoff or next occurrence). */
function syncRunAt(m: Model, r: Real, j: MJob): void {
  if (j.status !== "scheduled") return;
  const row = jobRows(r).get(j.id);
  // A retry backs off; a next occurrence is the first grid slot at or after now.
  if (j.retries > 0) expect(row?.run_at, `${j.id} backs off`).toBeGreaterThan(m.now);
  else expect(row?.run_at, `${j.id}'s next occurrence`).toBeGreaterThanOrEqual(m.now);
  j.runAt = row?.run_at ?? j.runAt;
}

/** The invariants, checked against the shard's tables after every command. */
function checkInvariants(m: Model, r: Real): void {
  const rows = jobRows(r);
  // The shard agrees with the model on every job's status, attempt and retries.
  expect(rows.size).toBe(m.jobs.length);
  for (const j of m.jobs) {
    const row = rows.get(j.id);
    expect(row, j.id).toBeDefined();
    expect({ id: j.id, status: row?.status, attempt: row?.attempt, retries: row?.current_retries }).toEqual({
      id: j.id,
      status: j.status,
      attempt: j.attempt,
      retries: j.retries,
    });
  }
  // Attempt numbers only grow; finished jobs stay finished.
  for (const row of rows.values()) {
    const before = m.seen.get(row.id);
    if (before) {
      expect(row.attempt, `${row.id} attempt`).toBeGreaterThanOrEqual(before.attempt);
      if (FINISHED.includes(before.status))
        expect(row.status, `${row.id} stays finished`).toBe(before.status);
    }
    m.seen.set(row.id, { attempt: row.attempt, status: row.status });
  }
  // No leak: every ledger row is the current attempt of a queued or running job, and every such
  // job holds exactly the units it names.
  const ledger = r.sql
    .exec<{ job_id: string; attempt: number; pool: string; units: number }>(
      "select job_id, attempt, pool, units from allocations",
    )
    .toArray();
  for (const a of ledger) {
    const row = rows.get(a.job_id);
    expect(
      row && ["queued", "running"].includes(row.status),
      `allocation of ${a.job_id} (${row?.status})`,
    ).toBe(true);
    expect(a.attempt, `allocation of ${a.job_id} is for its current attempt`).toBe(row?.attempt);
  }
  for (const j of m.jobs) {
    const held = Object.fromEntries(ledger.filter((a) => a.job_id === j.id).map((a) => [a.pool, a.units]));
    expect(held, `units held by ${j.id} (${j.status})`).toEqual(holds(j) ? j.resources : {});
  }
  // Use rises only through a claim, which never takes a pool past its capacity (checked there):
  // after a shrink below use, use only falls until it is under the new capacity.
  const used = ledgerUse(r);
  for (const p of pools(m)) {
    const now = used.get(p) ?? 0;
    expect(now <= (m.caps.get(p) ?? 0) || now <= (m.used.get(p) ?? 0), `use of ${p}`).toBe(true);
  }
  m.used = used;
}

// --- the commands ----------------------------------------------------------------------------------

type Cmd = fc.Command<Model, Real>;

class Submit implements Cmd {
  constructor(
    readonly v: {
      wants: { pool: number; units: number }[];
      priority: number;
      dueInMs: number;
      maxRetries: number;
      intervalSeconds: number | null;
      timeoutSeconds: number;
      /** Identical jobs submitted together: builds contention in few steps. */
      copies: number;
    },
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const names = pools(m);
    const resources: Record<string, number> = {};
    for (const w of this.v.wants) resources[pick(names, w.pool)] = w.units;
    // Asking for more than a pool's capacity is refused at submit, and writes nothing.
    const fits = Object.entries(resources).every(([p, u]) => u <= (m.caps.get(p) ?? 0));
    for (let n = 0; n < this.v.copies; n++) {
      const id = `j${String(m.jobs.length).padStart(3, "0")}`;
      const fields = {
        priority: this.v.priority,
        runAt: m.now + this.v.dueInMs,
        maxRetries: this.v.maxRetries,
        intervalSeconds: this.v.intervalSeconds,
        timeoutSeconds: this.v.timeoutSeconds,
        resources,
      };
      const out = insertJob(r.g.db, spec(id, fields), undefined, m.now);
      expect(out).toMatchObject(
        fits ? { ok: true, replayed: false } : { ok: false, reason: "invalid_resources" },
      );
      if (fits)
        m.jobs.push({ id, ...fields, status: "scheduled", attempt: 0, retries: 0, deadline: fields.runAt });
    }
    checkInvariants(m, r);
  }
  toString = () => `Submit(${JSON.stringify(this.v)})`;
}

class Dispatch implements Cmd {
  constructor(readonly v: { limit: number; aging: number }) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected = expectedClaims(m, this.v.limit, this.v.aging);
    const before = ledgerUse(r);
    const { claims } = claimDue(
      r.g.db,
      m.now,
      { limit: this.v.limit, agingSeconds: this.v.aging },
      r.g.timings,
    );
    const ids = claims.map((c) => c.id);
    // The claims are exactly the policy's choice, in order; in particular, when some due job can be
    // given its units it is (released units are reused, none stranded), a job asking more than a
    // shrunk pool holds blocks nobody, and jobs waiting on one pool never use up the scan for another.
    expect(ids).toEqual(expected);
    const gained = new Map<string, number>();
    for (const c of claims) {
      const j = m.jobs.find((x) => x.id === c.id);
      if (!j) throw new Error(`claimed unknown job ${c.id}`);
      expect(j.status === "scheduled" && j.runAt <= m.now, `${c.id} was due`).toBe(true);
      expect(c.attempt, `${c.id}'s attempt number grows by one`).toBe(j.attempt + 1);
      j.status = "queued";
      j.attempt = c.attempt;
      j.deadline = m.now + Math.min(r.g.timings.dispatchDeadlineMs * 2 ** (j.misses ?? 0), 600_000);
      for (const [p, u] of Object.entries(j.resources)) gained.set(p, (gained.get(p) ?? 0) + u);
    }
    // A claim never takes a pool over its capacity (so after a shrink, nothing new starts on that
    // pool until use is below the new capacity).
    const after = ledgerUse(r);
    for (const [p, u] of gained) {
      expect(after.get(p), `ledger of ${p} grew by the claimed units`).toBe((before.get(p) ?? 0) + u);
      expect(after.get(p) ?? 0, `claim on ${p} within capacity`).toBeLessThanOrEqual(m.caps.get(p) ?? 0);
    }
    checkInvariants(m, r);
  }
  toString = () => `Dispatch(${JSON.stringify(this.v)})`;
}

class Begin implements Cmd {
  constructor(readonly v: { job: number; stale: boolean }) {}
  check = (m: Readonly<Model>) => ofStatus(m as Model, "queued").length > 0;
  run(m: Model, r: Real): void {
    const j = pick(ofStatus(m, "queued"), this.v.job);
    if (this.v.stale) {
      // A message from an earlier claim of the same job is refused and changes nothing.
      const out = begin(r.g.db, j.id, j.attempt - 1, m.now, r.g.timings);
      expect(out.ok).toBe(false);
    } else {
      const out = begin(r.g.db, j.id, j.attempt, m.now, r.g.timings);
      expect(out.ok, `begin ${j.id}`).toBe(true);
      j.status = "running";
      j.misses = 0;
      j.deadline = m.now + j.timeoutSeconds * 1000 + r.g.timings.leaseGraceMs;
    }
    checkInvariants(m, r);
  }
  toString = () => `Begin(${JSON.stringify(this.v)})`;
}

class Finish implements Cmd {
  constructor(readonly v: { job: number; ok: boolean }) {}
  check = (m: Readonly<Model>) => ofStatus(m as Model, "running").length > 0;
  run(m: Model, r: Real): void {
    const j = pick(ofStatus(m, "running"), this.v.job);
    const report = this.v.ok
      ? { outcome: { ok: true as const } }
      : { outcome: { ok: false as const }, error: "x" };
    const out = finishAttempt(r.g.db, j.id, j.attempt, report, m.now, RANDOM, r.g.timings);
    expect(out.ok, `finish ${j.id}`).toBe(true);
    if (out.ok) expect(out.released, "units released").toBe(Object.keys(j.resources).length > 0);
    if (this.v.ok) settleSuccess(j);
    else settleFailure(j);
    syncRunAt(m, r, j);
    // The same report again (a redelivery) is refused.
    expect(finishAttempt(r.g.db, j.id, j.attempt, report, m.now, RANDOM, r.g.timings).ok).toBe(false);
    checkInvariants(m, r);
  }
  toString = () => `Finish(${JSON.stringify(this.v)})`;
}

class LeaseTimeout implements Cmd {
  constructor(readonly v: { job: number }) {}
  check = (m: Readonly<Model>) => ofStatus(m as Model, "running").length > 0;
  run(m: Model, r: Real): void {
    const j = pick(ofStatus(m, "running"), this.v.job);
    m.now = Math.max(m.now, j.deadline);
    r.g.expireLeases(m.now);
    for (const x of ofStatus(m, "running").filter((x) => x.deadline <= m.now)) {
      settleFailure(x);
      syncRunAt(m, r, x);
      const [a] = r.sql
        .exec<{ status: string }>(
          `select status from ${ALL_ATTEMPTS} where job_id = ? and number = ?`,
          x.id,
          x.attempt,
        )
        .toArray();
      expect(a?.status).toBe("timed_out");
    }
    checkInvariants(m, r);
  }
  toString = () => `LeaseTimeout(${JSON.stringify(this.v)})`;
}

class LostDispatch implements Cmd {
  constructor(readonly v: { job: number }) {}
  check = (m: Readonly<Model>) => ofStatus(m as Model, "queued").length > 0;
  run(m: Model, r: Real): void {
    const j = pick(ofStatus(m, "queued"), this.v.job);
    m.now = Math.max(m.now, j.deadline);
    const lost = ofStatus(m, "queued").filter((x) => x.deadline <= m.now);
    // Sent again under the same attempt: still queued, still holding its units, deadline backed off.
    const resent = resendLostDispatches(r.g.db, m.now, r.g.timings, 1_000);
    expect(resent.map((c) => `${c.id}:${c.attempt}`).sort()).toEqual(
      lost.map((x) => `${x.id}:${x.attempt}`).sort(),
    );
    for (const x of lost) {
      x.misses = (x.misses ?? 0) + 1;
      x.deadline = m.now + Math.min(r.g.timings.dispatchDeadlineMs * 2 ** x.misses, 600_000);
    }
    checkInvariants(m, r);
  }
  toString = () => `LostDispatch(${JSON.stringify(this.v)})`;
}

class Cancel implements Cmd {
  constructor(readonly v: { job: number }) {}
  check = (m: Readonly<Model>) => m.jobs.length > 0;
  run(m: Model, r: Real): void {
    const j = pick(m.jobs, this.v.job);
    const out = cancel(r.g.db, j.id, m.now, r.g.timings);
    if (FINISHED.includes(j.status)) {
      expect(out).toEqual({ ok: false, reason: "finished" });
    } else {
      expect(out.ok).toBe(true);
      if (out.ok)
        expect(out.released, "units released").toBe(holds(j) && Object.keys(j.resources).length > 0);
      j.status = "cancelled";
    }
    checkInvariants(m, r);
  }
  toString = () => `Cancel(${JSON.stringify(this.v)})`;
}

class Resize implements Cmd {
  constructor(readonly v: { pool: number; capacity: number }) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const name = pick(pools(m), this.v.pool);
    putPool(r.g.db, name, this.v.capacity, m.now);
    m.caps.set(name, this.v.capacity);
    checkInvariants(m, r);
  }
  toString = () => `Resize(${JSON.stringify(this.v)})`;
}

class Tick implements Cmd {
  constructor(readonly v: { ms: number }) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.now += this.v.ms;
    checkInvariants(m, r);
  }
  toString = () => `Tick(${this.v.ms})`;
}

const index = fc.nat({ max: 7 });
const submitCmd = fc
  .record({
    wants: fc.array(fc.record({ pool: fc.nat({ max: 2 }), units: fc.integer({ min: 1, max: 4 }) }), {
      maxLength: 2,
    }),
    priority: fc.oneof(fc.constantFrom(0, 50, 100), fc.integer({ min: 0, max: 100 })),
    dueInMs: fc.oneof(fc.constant(0), fc.integer({ min: -5_000, max: 5_000 })),
    maxRetries: fc.nat({ max: 2 }),
    intervalSeconds: fc.option(fc.integer({ min: 5, max: 60 }), { freq: 4 }),
    timeoutSeconds: fc.integer({ min: 1, max: 5 }),
    copies: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 })),
  })
  .map((v) => new Submit(v));
const dispatchCmd = fc
  .record({ limit: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4 })), aging: fc.constantFrom(0, 1) })
  .map((v) => new Dispatch(v));
const beginCmd = fc.record({ job: index, stale: fc.boolean() }).map((v) => new Begin(v));
const finishCmd = fc.record({ job: index, ok: fc.boolean() }).map((v) => new Finish(v));
// Weighted by repetition: submits and dispatches most, so runs build up contention.
const commands = fc.commands(
  [
    submitCmd,
    submitCmd,
    submitCmd,
    dispatchCmd,
    dispatchCmd,
    beginCmd,
    beginCmd,
    finishCmd,
    finishCmd,
    fc.record({ job: index }).map((v) => new LeaseTimeout(v)),
    fc.record({ job: index }).map((v) => new LostDispatch(v)),
    fc.record({ job: index }).map((v) => new Cancel(v)),
    fc.record({ pool: fc.nat({ max: 2 }), capacity: fc.nat({ max: 4 }) }).map((v) => new Resize(v)),
    fc.integer({ min: 0, max: 3_000 }).map((ms) => new Tick({ ms })),
  ],
  { maxCommands: 40, size: "max" },
);

const TABLES = ["jobs", "attempts", "allocations", "pools", "idempotency_keys"];

describe("pool allocation (property-based)", () => {
  it("never over-allocates, never leaks, never strands units, never reverses a job", async () => {
    await withShard((g, sql) => {
      fc.assert(
        fc.property(
          fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 3 }),
          commands,
          (capacities, cmds) => {
            for (const t of TABLES) sql.exec(`delete from ${t}`);
            const caps = new Map(capacities.map((c, i) => [`p${i}`, c]));
            for (const [name, c] of caps) putPool(g.db, name, c, T0);
            const model: Model = { now: T0, caps, jobs: [], used: new Map(), seen: new Map() };
            fc.modelRun(() => ({ model, real: { g, sql } }), cmds);
          },
        ),
        { numRuns: RUNS },
      );
    });
  }, 120_000);
});

// --- examples --------------------------------------------------------------------------------------

/** Claims, begins and completes one job at `now`; returns the claimed job's id (or undefined). */
function runOne(g: Guts, now: number, aging: number): string | undefined {
  const { claims } = claimDue(g.db, now, { limit: 10, agingSeconds: aging }, g.timings);
  expect(claims.length).toBeLessThanOrEqual(1);
  const [c] = claims;
  if (!c) return undefined;
  expect(begin(g.db, c.id, c.attempt, now, g.timings).ok).toBe(true);
  expect(finishAttempt(g.db, c.id, c.attempt, { outcome: { ok: true } }, now, RANDOM, g.timings).ok).toBe(
    true,
  );
  return c.id;
}

describe("priority through a pool of one", () => {
  it("runs jobs that are all due at once strictly by priority, aging or not", async () => {
    const priorities = [10, 90, 50, 50, 70, 0, 100, 30, 90];
    const ids = priorities.map((_, i) => `job${i}`);
    const expected = ids
      .map((id, i) => ({ id, p: priorities[i] ?? 0 }))
      .sort((a, b) => b.p - a.p || (a.id < b.id ? -1 : 1))
      .map((j) => j.id);
    for (const aging of [0, 1]) {
      const order = await withShard((g) => {
        putPool(g.db, "slot", 1, T0);
        ids.forEach((id, i) => {
          const job = spec(id, { priority: priorities[i], runAt: T0, resources: { slot: 1 } });
          expect(insertJob(g.db, job, undefined, T0)).toMatchObject({ ok: true, replayed: false });
        });
        const claimed: string[] = [];
        // One at a time, a second apart: all have waited equally long, so aging changes nothing.
        for (let step = 0; step < ids.length + 2; step++) {
          const id = runOne(g, T0 + step * 1000, aging);
          if (id) claimed.push(id);
        }
        return claimed;
      });
      expect(order, `aging ${aging}`).toEqual(expected);
    }
  });

  it("bounds the wait of a low priority behind a saturating stream of higher ones", async () => {
    const CYCLE = 1000;
    const bound = agingBoundMs(60 - 50, 1);
    /** Every second a priority-60 job becomes due and one job runs; when does the priority-50 one run? */
    const claimTimeOfLow = (aging: number, steps: number) =>
      withShard((g) => {
        putPool(g.db, "slot", 1, T0);
        const low = spec("low", { priority: 50, runAt: T0, resources: { slot: 1 } });
        insertJob(g.db, low, undefined, T0);
        for (let step = 0; step < steps; step++) {
          const now = T0 + step * CYCLE;
          const high = spec(`high${String(step).padStart(3, "0")}`, {
            priority: 60,
            runAt: now,
            resources: { slot: 1 },
          });
          insertJob(g.db, high, undefined, now);
          if (runOne(g, now, aging) === "low") return now;
        }
        return null;
      });

    const withAging = await claimTimeOfLow(1, 60);
    expect(withAging).not.toBeNull();
    const waited = (withAging ?? Number.POSITIVE_INFINITY) - T0;
    expect(waited).toBeLessThanOrEqual(bound + CYCLE);
    // …and not much sooner either: priority still counts while the wait is short.
    expect(waited).toBeGreaterThanOrEqual(bound - CYCLE);

    // Without aging the stream starves it: not claimed in three times the bound.
    expect(await claimTimeOfLow(0, (3 * (bound + CYCLE)) / CYCLE)).toBeNull();
  });
});
