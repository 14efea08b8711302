// Hot queries of the dispatch loop besides claimDue (claim.ts), run by the shard's alarm.
//
// requeue(db, claims, now, retryAt, t) → void
//   reads each jobs[id] still queued under its attempt; writes it (→ scheduled, due at retryAt, a
//   waiting PATCH applied, index copy scheduled) and deletes its allocations. Rows written: 3 per job
//   moved (row, jobs_wake, jobs_index_due: none for a row above the index watermark, touch) + 1 per
//   pool it held; 0 for a claim that has moved on.
// resendLostDispatches(db, now, t, limit) → Claim[]
//   reads ≤ limit queued jobs past their deadline (jobs_wake); writes each one's dispatch_misses and
//   deadline. Rows written: 2 per job (row, jobs_wake). Its two statements are built once (prepared.ts).
// expiredLeases(db, now, limit) → JobRow[]
//   reads ≤ limit running or paused jobs past their deadline (jobs_wake). Rows written: 0. Built once.
// promoteBegun(db, now, limit) → how many rows it moved
//   reads ≤ limit queued rows whose lease has passed and that have begun (jobs_wake, then the row);
//   writes each one's status (→ running) and deadline (→ run_deadline): begun.ts. Rows written: 2 per
//   job (row, jobs_wake). Built once.
// nextWakeAt(db, now, windowFull, indexDelayMs) → number | null
//   one statement of 17 to 19 MIN lookups (jobs_wake per status and pooled, jobs_index_due,
//   callbacks_deadline, the retention sweep's cursors) and the first row above the index watermark (a rowid seek, its created_at,
//   and the watermark row), built once, bound with its times. Rows written: 0.
//
// requeue runs only when a send failed, and its update's columns depend on the job (a waiting PATCH),
// so it is built per call.
//
// Each is synchronous, so under the Durable Object's input/output gates it is atomic: no other request
// interleaves, and nothing it sends leaves the object before its writes are durable.
import { and, eq, inArray, lte, type Placeholder, sql } from "drizzle-orm";
import { dispatchDeadlineMs } from "../../core/backoff";
import { indexCopyGrid } from "../../core/index-copy-time";
import { FINISHED_STATUSES } from "../../core/state";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import { IN_WAKE, inWake, type JobRow, jobs } from "../schema";
import { BEGUN, NOT_BEGUN } from "./begun";
import { withCutoff } from "./overlap";
import { patchColumns } from "./patch-rows";
import { release } from "./pools";
import { prepared } from "./prepared";
import { touch } from "./touch";

export interface Claim {
  id: string;
  userId: string;
  attempt: number;
}

/**
 * requeue: puts claims whose messages could not be sent back to scheduled, due again at `retryAt`.
 * Invariant: only jobs still queued under the same attempt move, so a claim that has since begun,
 * been paused or been cancelled is left alone. A PATCH that waited for the claim applies now, as it
 * would have to the scheduled job (a schedule change moves the job to its new time).
 */
export function requeue(db: ShardDb, claims: Claim[], now: number, retryAt: number, t: ShardTimings): void {
  for (const c of claims) {
    const job = db
      .select()
      .from(jobs)
      // Not begun (begun.ts): a begun attempt runs, whatever became of another copy's send.
      .where(and(eq(jobs.id, c.id), NOT_BEGUN, eq(jobs.attempt, c.attempt)))
      .get();
    if (!job) continue;
    const back = { ...job, status: "scheduled" as const, deadline: retryAt };
    const fields = job.pendingPatch
      ? patchColumns(back, job.pendingPatch, now)
      : { status: back.status, deadline: retryAt };
    db.update(jobs)
      .set({ ...fields, ...touch(now, t) })
      .where(eq(jobs.id, c.id))
      .run();
    release(db, c.id, c.attempt);
  }
}

/**
 * resendLostDispatches: a queued job whose message has not begun by its dispatch deadline is sent
 * again under the SAME attempt number. Invariants: whichever copy arrives first begins the attempt and
 * every later copy is refused as a duplicate (begin accepts one queued → running per attempt), so the
 * job still runs once; the claim keeps its units; and each consecutive miss doubles the deadline
 * (dispatchDeadlineMs), so a queue that is slow rather than lossy gets at most log2(delay / deadline)
 * extra copies, and the oldest copy, nearest the head of the queue, can still do the work.
 */
export function resendLostDispatches(db: ShardDb, now: number, t: ShardTimings, limit: number): Claim[] {
  const lost = prepared(db, "dispatch.lostDispatches", (db) =>
    db
      .select({
        id: jobs.id,
        userId: jobs.userId,
        attempt: jobs.attempt,
        misses: jobs.dispatchMisses,
        overlap: jobs.overlap,
      })
      .from(jobs)
      // A begun one (begun.ts) is not lost: promoteBegun moves it on.
      .where(and(NOT_BEGUN, inWake, lte(jobs.deadline, sql.placeholder("now"))))
      .limit(sql.placeholder("limit"))
      .prepare(),
  ).all({ now, limit });
  if (lost.length === 0) return [];
  const resend = prepared(db, "dispatch.resend", (db) =>
    db
      .update(jobs)
      .set({
        dispatchMisses: sql`${sql.placeholder("misses")}`,
        deadline: sql`${sql.placeholder("deadline")}`,
      })
      .where(eq(jobs.id, sql.placeholder("id")))
      .prepare(),
  );
  for (const l of lost) {
    const misses = l.misses + 1;
    const lease = now + dispatchDeadlineMs(t.dispatchDeadlineMs, misses);
    // A cancel_other job's lease is at most the time its next occurrence replaces it (overlap.ts).
    const job = l.overlap === "cancel_other" ? findJob(db, l.id) : undefined;
    resend.run({ id: l.id, misses, deadline: job ? withCutoff(job, lease) : lease });
  }
  return lost.map(({ id, userId, attempt }) => ({ id, userId, attempt }));
}

/**
 * Running jobs whose deadline has passed: their heartbeats stopped (the consumer is gone) or their
 * timeout bound ran out (the attempt is stuck). `expiryError` tells which.
 */
export function expiredLeases(db: ShardDb, now: number, limit: number): JobRow[] {
  const statement = prepared(db, "dispatch.expiredLeases", (db) =>
    db
      .select()
      .from(jobs)
      // A paused job has a deadline only while the attempt begun before the pause still runs.
      .where(
        and(inArray(jobs.status, ["running", "paused"]), inWake, lte(jobs.deadline, sql.placeholder("now"))),
      )
      .limit(sql.placeholder("limit"))
      .prepare(),
  );
  return statement.all({ now, limit });
}

/**
 * promoteBegun (alarm): begun attempts whose dispatch lease has passed take their running form, so
 * the alarm next wakes at their liveness deadline instead of at the passed lease. Invariant: after it,
 * no begun row has a deadline in the past (of the ≤ limit it saw), so the alarm does not spin on them;
 * an attempt whose liveness deadline has passed too is left for expireLeases, which runs next.
 */
export function promoteBegun(db: ShardDb, now: number, limit: number): number {
  const due = prepared(db, "begun.due", (d) =>
    d
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(BEGUN, inWake, lte(jobs.deadline, sql.placeholder("now"))))
      .limit(sql.placeholder("limit"))
      .prepare(),
  ).all({ now, limit });
  if (due.length === 0) return 0;
  const promote = prepared(db, "begun.promote", (d) =>
    d
      .update(jobs)
      .set({ status: "running", deadline: sql`${jobs.runDeadline}` })
      .where(eq(jobs.id, sql.placeholder("id")))
      .prepare(),
  );
  for (const { id } of due) promote.run({ id });
  return due.length;
}

/** A due job that is waiting on an event (a release, a begin) is still looked at this often. */
export const WAITING_RECHECK_MS = 30_000;

/** Later than any time (the largest JavaScript date): what a MIN over no rows counts as. */
const NEVER = 8.64e15;

/**
 * Every MIN the alarm takes whatever the time, as terms of one scalar min(): one index seek each
 * (`jobs_wake`, `jobs_index_due`, `callbacks_deadline`, `dependency_messages_deadline`). Scalar subqueries, not a UNION: workerd's
 * SQLite caps the terms of a compound SELECT.
 */
const FIXED_WAKES = [
  ...["queued", "running", "paused", ...FINISHED_STATUSES].flatMap((status) =>
    [0, 1].map(
      (pooled) =>
        `(select min(deadline) from jobs where status = '${status}' and needs_pools = ${pooled} and deadline is not null and ${IN_WAKE})`,
    ),
  ),
  "(select min(index_due_at) from jobs where index_due_at is not null)",
  "(select min(deadline) from callbacks)",
  "(select min(deadline) from dependency_messages)",
  // The retention sweep's cursors (retention-sweep.ts): a row per retention, a handful at most.
  "(select min(sweep_at) from retention_sweeps)",
]
  .map((term) => `coalesce(${term}, ${NEVER})`)
  .join(", ");

/** The earliest deadline of the scheduled jobs that need pools (1) or not (0); or the first after `after`. */
const scheduledWake = (pooled: 0 | 1, after?: Placeholder) =>
  after === undefined
    ? sql.raw(
        `(select min(deadline) from jobs where status = 'scheduled' and needs_pools = ${pooled} and deadline is not null and ${IN_WAKE})`,
      )
    : sql`(select min(deadline) from jobs where status = 'scheduled' and needs_pools = ${sql.raw(String(pooled))} and deadline > ${after} and ${inWake})`;

/**
 * The copy time of the new rows (above the index watermark: index-copy.ts): indexCopyDue of the first
 * one's created_at (src/core/index-copy-time.ts, in SQL: `delay` and `grid` bound), or the watermark's
 * retry time after a failed write if later; null when no row is above it. All in SQLite: a restarted
 * object wakes for them as the one before did.
 */
const watermarkWake = (delay: Placeholder, grid: Placeholder) => sql`(select max(
      coalesce((select retry_at from index_watermark where id = 0), 0),
      cast((created_at + ${delay}) / ${grid} as integer) * ${grid})
    from jobs where rowid > coalesce((select copied_through from index_watermark where id = 0), 0)
    order by rowid limit 1)`;

/**
 * nextWakeAt's statement: binds `now`, `full` (1 when the window is full, else 0), `recheck`, and the
 * index copy's `delay` and `grid`.
 */
function wakeStatement(db: ShardDb) {
  const now = sql.placeholder("now");
  const full = sql.placeholder("full");
  const recheck = sql.placeholder("recheck");
  const at = sql<number>`min(
      ${sql.raw(FIXED_WAKES)},
      coalesce(${watermarkWake(sql.placeholder("delay"), sql.placeholder("grid"))}, ${NEVER}),
      coalesce(case when free <= ${now} and ${full} then ${scheduledWake(0, now)} else free end, ${NEVER}),
      coalesce(case when free <= ${now} and ${full} then ${recheck} end, ${NEVER}),
      coalesce(case when pooled <= ${now} then ${scheduledWake(1, now)} else pooled end, ${NEVER}),
      coalesce(case when pooled <= ${now} then ${recheck} end, ${NEVER})
    )`;
  return db
    .select({ at })
    .from(sql`(select ${scheduledWake(0)} as free, ${scheduledWake(1)} as pooled) as w`)
    .prepare();
}

/**
 * The alarm is a cache of this: the earliest deadline of any job, pending index copy (by index_due_at,
 * or by the watermark: watermarkWake) or pending callback in the shard. Due jobs that cannot go out now do not count, or the alarm would spin: jobs
 * waiting for pool units (a release re-arms at once) and, while the in-flight window is full, every
 * due job (a begin frees the window and re-arms). Those are still re-examined every WAITING_RECHECK_MS.
 * Cost: one statement of MIN lookups on the (status, needs_pools, deadline) index, built once per
 * database (prepared.ts) and bound with its times, whatever the number of jobs the shard holds or has
 * finished (every re-arm runs it).
 */
export function nextWakeAt(
  db: ShardDb,
  now: number,
  windowFull: boolean,
  indexDelayMs: number,
): number | null {
  const row = prepared(db, "dispatch.nextWakeAt", wakeStatement).get({
    now,
    full: windowFull ? 1 : 0,
    recheck: now + WAITING_RECHECK_MS,
    delay: indexDelayMs,
    grid: indexCopyGrid(indexDelayMs),
  });
  return row === undefined || row.at >= NEVER ? null : row.at;
}
