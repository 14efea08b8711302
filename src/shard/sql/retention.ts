// Retention: a finished job (succeeded, failed, cancelled) is kept for its retention, then removed.
//
// dueForRemoval(db, now, limit) → JobRow[]
//   reads ≤ limit finished jobs whose deadline (removal time) has passed (jobs_wake). Rows written: 0.
// removeJobs(db, ids, now) → the ids removed
//   one transaction; deletes the jobs still finished and due, then their attempts, allocations and
//   idempotency_keys. Rows written: 1 per job + 1 per attempt + 1 per key (+ 1 per allocation, none for
//   a finished job): a delete counts its row, not its index entries.
// attemptKeysOf(db, jobIds, limit) → AttemptKey[]
//   reads ≤ limit attempts rows (by their key). Rows written: 0.
// forgetAttempts(db, jobId, throughNumber, now) → how many were deleted
//   one transaction; reads jobs[id]; deletes its attempts up to throughNumber. Rows written: 1 per
//   attempt.
// postponeRemoval(db, ids, retryAt) → void
//   writes the deadline of each job still finished. Rows written: 2 per job (row, jobs_wake).
// Helper (no SQL): removalTime.
//
// A finished job's deadline is its removal time, so the jobs_wake index finds the jobs due for removal
// and the alarm wakes for them like for any other deadline.
import { and, eq, inArray, lte, type SQLWrapper, sql } from "drizzle-orm";
import { FINISHED_STATUSES } from "../../core/state";
import type { ShardDb } from "../db";
import { allocations, attempts, idempotencyKeys, type JobRow, jobs } from "../schema";

/** `column in (ids)`, with the ids as one JSON parameter: Durable Object SQLite binds at most 100. */
const inIds = (column: SQLWrapper, ids: string[]) =>
  sql`${column} in (select value from json_each(${JSON.stringify(ids)}))`;

/** When a job finishing at `now` is removed. */
export function removalTime(job: Pick<JobRow, "finishedRetentionSeconds">, now: number): number {
  return now + job.finishedRetentionSeconds * 1000;
}

/** Finished jobs whose retention has run out, oldest first, at most `limit`. */
export function dueForRemoval(db: ShardDb, now: number, limit: number): JobRow[] {
  return db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.status, [...FINISHED_STATUSES]), lte(jobs.deadline, now)))
    .orderBy(jobs.deadline)
    .limit(limit)
    .all();
}

/**
 * removeJobs: deletes the jobs with their attempts, ledger rows and idempotency keys, in one
 * transaction (a pending callback keeps its row: it carries its own snapshot). Invariant: only a
 * finished job whose removal time has passed is deleted, so a job that changed since it was read (a
 * failed or cancelled job retried while the removal awaited its archive or index) or one read twice
 * is never deleted early, and a second call for the same ids deletes nothing. Returns the ids
 * actually removed.
 */
export function removeJobs(db: ShardDb, ids: string[], now: number): string[] {
  if (ids.length === 0) return [];
  return db.transaction((tx) => {
    const removed = tx
      .delete(jobs)
      .where(and(inIds(jobs.id, ids), inArray(jobs.status, [...FINISHED_STATUSES]), lte(jobs.deadline, now)))
      .returning({ id: jobs.id })
      .all()
      .map((r) => r.id);
    if (removed.length > 0) {
      tx.delete(attempts).where(inIds(attempts.jobId, removed)).run();
      tx.delete(allocations).where(inIds(allocations.jobId, removed)).run();
      tx.delete(idempotencyKeys).where(inIds(idempotencyKeys.jobId, removed)).run();
    }
    return removed;
  });
}

/** An attempt of a job being removed: its result object, if it wrote one, is named by these. */
export interface AttemptKey {
  jobId: string;
  occurrence: number;
  number: number;
}

/**
 * The attempts of `jobIds` in (job, number) order, at most `limit`: each attempt that succeeded wrote
 * one result object, and an attempt row is the only record of it. Read through the attempts table's
 * own key (WITHOUT ROWID on (job_id, number)), so a step reads at most `limit` rows per job it names.
 */
export function attemptKeysOf(db: ShardDb, jobIds: string[], limit: number): AttemptKey[] {
  if (jobIds.length === 0 || limit <= 0) return [];
  return db
    .select({ jobId: attempts.jobId, occurrence: attempts.occurrence, number: attempts.number })
    .from(attempts)
    .where(inIds(attempts.jobId, jobIds))
    .orderBy(attempts.jobId, attempts.number)
    .limit(limit)
    .all();
}

/**
 * forgetAttempts: deletes a job's attempts up to `throughNumber` once their result objects are gone,
 * so the next step goes on from where this one stopped. Invariant: only the attempts of a finished
 * job whose removal time has passed, the job's removal under way; a job retried meanwhile keeps its
 * history. Returns how many were deleted.
 */
export function forgetAttempts(db: ShardDb, jobId: string, throughNumber: number, now: number): number {
  return db.transaction((tx) => {
    const removable = tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.id, jobId), inArray(jobs.status, [...FINISHED_STATUSES]), lte(jobs.deadline, now)))
      .get();
    if (!removable) return 0;
    return tx
      .delete(attempts)
      .where(and(eq(attempts.jobId, jobId), lte(attempts.number, throughNumber)))
      .returning({ number: attempts.number })
      .all().length;
  });
}

/** A removal that could not complete (archive or index unreachable) is tried again at `retryAt`. */
export function postponeRemoval(db: ShardDb, ids: string[], retryAt: number): void {
  if (ids.length === 0) return;
  db.update(jobs)
    .set({ deadline: retryAt })
    .where(and(inIds(jobs.id, ids), inArray(jobs.status, [...FINISHED_STATUSES])))
    .run();
}
