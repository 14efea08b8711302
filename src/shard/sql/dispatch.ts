// Hot queries of the dispatch loop besides claimDue (claim.ts), run by the shard's alarm.
//
// requeue(db, claims, now, retryAt, t) → void
//   reads each jobs[id] still queued under its attempt; writes it (→ scheduled, due at retryAt, a
//   waiting PATCH applied, index copy scheduled) and deletes its allocations. Rows written: 3 per job
//   moved (row, jobs_wake, jobs_index_due) + 1 per pool it held; 0 for a claim that has moved on.
// resendLostDispatches(db, now, t, limit) → Claim[]
//   reads ≤ limit queued jobs past their deadline (jobs_wake); writes each one's dispatch_misses and
//   deadline. Rows written: 2 per job (row, jobs_wake).
// expiredLeases(db, now, limit) → JobRow[]
//   reads ≤ limit running or paused jobs past their deadline (jobs_wake). Rows written: 0.
// nextWakeAt(db, now, windowFull) → number | null
//   reads by 16 to 18 MIN lookups (jobs_wake per status and pooled, jobs_index_due,
//   callbacks_deadline). Rows written: 0.
//
// Each is synchronous, so under the Durable Object's input/output gates it is atomic: no other request
// interleaves, and nothing it sends leaves the object before its writes are durable.
import { and, eq, gt, inArray, isNotNull, lte, sql } from "drizzle-orm";
import { dispatchDeadlineMs } from "../../core/backoff";
import { FINISHED_STATUSES } from "../../core/state";
import type { ShardDb, ShardTimings } from "../db";
import { type JobRow, jobs } from "../schema";
import { earliestCallbackDeadline } from "./callbacks";
import { patchColumns } from "./patch-rows";
import { release } from "./pools";
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
      .where(and(eq(jobs.id, c.id), eq(jobs.status, "queued"), eq(jobs.attempt, c.attempt)))
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
  const lost = db
    .select({ id: jobs.id, userId: jobs.userId, attempt: jobs.attempt, misses: jobs.dispatchMisses })
    .from(jobs)
    .where(and(eq(jobs.status, "queued"), lte(jobs.deadline, now)))
    .limit(limit)
    .all();
  for (const l of lost) {
    db.update(jobs)
      .set({
        dispatchMisses: l.misses + 1,
        deadline: now + dispatchDeadlineMs(t.dispatchDeadlineMs, l.misses + 1),
      })
      .where(eq(jobs.id, l.id))
      .run();
  }
  return lost.map(({ id, userId, attempt }) => ({ id, userId, attempt }));
}

/**
 * Running jobs whose deadline has passed: their heartbeats stopped (the consumer is gone) or their
 * timeout bound ran out (the attempt is stuck). `expiryError` tells which.
 */
export function expiredLeases(db: ShardDb, now: number, limit: number) {
  return (
    db
      .select()
      .from(jobs)
      // A paused job has a deadline only while the attempt begun before the pause still runs.
      .where(and(inArray(jobs.status, ["running", "paused"]), lte(jobs.deadline, now)))
      .limit(limit)
      .all()
  );
}

/** A due job that is waiting on an event (a release, a begin) is still looked at this often. */
export const WAITING_RECHECK_MS = 30_000;

function earliestDeadline(
  db: ShardDb,
  status: JobRow["status"],
  pooled: boolean,
  after?: number,
): number | null {
  const row = db
    .select({ at: sql<number | null>`min(${jobs.deadline})` })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, status),
        eq(jobs.needsPools, pooled),
        after === undefined ? isNotNull(jobs.deadline) : gt(jobs.deadline, after),
      ),
    )
    .get();
  return row?.at ?? null;
}

/**
 * The alarm is a cache of this: the earliest deadline of any job, pending index copy or pending
 * callback in the shard. Due jobs that cannot go out now do not count, or the alarm would spin: jobs
 * waiting for pool units (a release re-arms at once) and, while the in-flight window is full, every
 * due job (a begin frees the window and re-arms). Those are still re-examined every WAITING_RECHECK_MS.
 * Cost: a handful of MIN lookups on the (status, needs_pools, deadline) index, whatever the number
 * of jobs the shard holds or has finished.
 */
export function nextWakeAt(db: ShardDb, now: number, windowFull: boolean): number | null {
  const times: (number | null)[] = [
    earliestDeadline(db, "queued", false),
    earliestDeadline(db, "queued", true),
    earliestDeadline(db, "running", false),
    earliestDeadline(db, "running", true),
    // A paused job's deadline: the lease of the attempt still running from before the pause.
    earliestDeadline(db, "paused", false),
    earliestDeadline(db, "paused", true),
    // Finished jobs: their deadline is when retention removes them.
    ...FINISHED_STATUSES.flatMap((status) => [
      earliestDeadline(db, status, false),
      earliestDeadline(db, status, true),
    ]),
    db
      .select({ at: sql<number | null>`min(${jobs.indexDueAt})` })
      .from(jobs)
      .where(isNotNull(jobs.indexDueAt))
      .get()?.at ?? null,
    earliestCallbackDeadline(db),
  ];
  for (const pooled of [false, true]) {
    const earliest = earliestDeadline(db, "scheduled", pooled);
    const waits = pooled || windowFull;
    if (earliest !== null && earliest <= now && waits) {
      // Due but waiting on an event: wake for the next not-yet-due job, or for the recheck.
      times.push(earliestDeadline(db, "scheduled", pooled, now), now + WAITING_RECHECK_MS);
    } else {
      times.push(earliest);
    }
  }
  const known = times.filter((x): x is number => x !== null);
  return known.length === 0 ? null : Math.min(...known);
}
