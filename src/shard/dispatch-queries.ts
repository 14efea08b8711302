// Hot queries of the dispatch loop, run by the shard's alarm. Each is synchronous, so under the
// Durable Object's input/output gates it is atomic: no other request interleaves, and nothing it
// sends leaves the object before its writes are durable.
import { and, asc, desc, eq, inArray, lte, sql } from "drizzle-orm";
import { jobs } from "./schema";
import { touch } from "./touch";
import type { ShardDb } from "./view";

export interface ShardTimings {
  /** A queued job whose message has not begun by then is dispatched again. */
  dispatchDeadlineMs: number;
  /** Extra time past timeout_seconds before the shard declares an attempt timed out. */
  leaseGraceMs: number;
  /** Delay before a changed job is copied to the D1 index; coalesces bursts of changes. */
  indexFlushDelayMs: number;
}

export interface Claim {
  id: string;
  userId: string;
  attempt: number;
}

/**
 * claimDue: moves up to `limit` due jobs from scheduled to queued, higher priority first, then
 * earlier run_at. Invariant: each claim increments the job's fencing attempt number, so any older
 * message for the job is stale; a claimed job carries a dispatch deadline, so a claim whose
 * message is lost is recovered by recoverLostDispatches, never forgotten.
 * Returns the claims and whether more due jobs remain.
 */
export function claimDue(
  db: ShardDb,
  now: number,
  limit: number,
  t: ShardTimings,
): { claims: Claim[]; more: boolean } {
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "scheduled"), lte(jobs.deadline, now)))
    .orderBy(desc(jobs.priority), asc(jobs.runAt), asc(jobs.id))
    .limit(limit + 1)
    .all();
  const ids = due.slice(0, limit).map((r) => r.id);
  if (ids.length === 0) return { claims: [], more: false };
  const updated = db
    .update(jobs)
    .set({
      status: "queued",
      attempt: sql`${jobs.attempt} + 1`,
      deadline: now + t.dispatchDeadlineMs,
      ...touch(now, t),
    })
    .where(inArray(jobs.id, ids))
    .returning({ id: jobs.id, userId: jobs.userId, attempt: jobs.attempt })
    .all();
  // RETURNING has no defined order; messages go out in priority order.
  const byId = new Map(updated.map((c) => [c.id, c]));
  const claims = ids.flatMap((id) => byId.get(id) ?? []);
  return { claims, more: due.length > limit };
}

/**
 * requeue: puts claims whose messages could not be sent back to scheduled, due again at `retryAt`.
 * Invariant: only jobs still queued under the same attempt move, so a claim that has since begun
 * or been cancelled is left alone.
 */
export function requeue(db: ShardDb, claims: Claim[], now: number, retryAt: number, t: ShardTimings): void {
  for (const c of claims) {
    db.update(jobs)
      .set({ status: "scheduled", deadline: retryAt, ...touch(now, t) })
      .where(and(eq(jobs.id, c.id), eq(jobs.status, "queued"), eq(jobs.attempt, c.attempt)))
      .run();
  }
}

/**
 * recoverLostDispatches: a queued job whose message never began by its dispatch deadline is due
 * again at once. Invariant: the next claim bumps the attempt number, so if the lost message turns
 * up later its begin is refused as stale; the job runs once.
 */
export function recoverLostDispatches(db: ShardDb, now: number, t: ShardTimings): number {
  return db
    .update(jobs)
    .set({ status: "scheduled", deadline: now, ...touch(now, t) })
    .where(and(eq(jobs.status, "queued"), lte(jobs.deadline, now)))
    .returning({ id: jobs.id })
    .all().length;
}

/** Running jobs whose lease (timeout + grace) has run out: their consumer is gone or stuck. */
export function expiredLeases(db: ShardDb, now: number, limit: number) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "running"), lte(jobs.deadline, now)))
    .limit(limit)
    .all();
}

/** The alarm is a cache of this: the earliest deadline of any job, or index write, in the shard. */
export function nextWakeAt(db: ShardDb): number | null {
  const row = db
    .select({
      deadline: sql<number | null>`min(${jobs.deadline})`,
      index: sql<number | null>`min(${jobs.indexDueAt})`,
    })
    .from(jobs)
    .get();
  const times = [row?.deadline, row?.index].filter((x): x is number => typeof x === "number");
  return times.length === 0 ? null : Math.min(...times);
}
