// Retention: a finished job (succeeded, failed, cancelled) is kept for its retention, then removed.
//
// dueForRemoval(db, now, limit) → JobRow[]
//   reads ≤ limit finished jobs whose deadline (removal time) has passed (jobs_wake). Rows written: 0.
// removeJobs(db, ids, now) → the ids removed
//   one transaction; deletes the jobs still finished and due (with their latest attempts, which their
//   rows hold), then the earlier attempts of those that had any, their allocations and
//   idempotency_keys, and lowers the index watermark to the new max(rowid) if it was above it
//   (lowerWatermark, index-copy.ts), and the retention sweep's cursors likewise (lowerSweeps,
//   retention-sweep.ts). Rows written: 1 per job + 1 per earlier attempt (none for a job
//   that ran once) + 1 per key (+ 1 per allocation, none for a finished job): a delete counts its row,
//   not its index entries; + 1 (the watermark row) when the shard's newest rows were among them; + 1
//   per flow-control key of theirs whose start log no window holds any more (forgetIdleKeys); + 1 per
//   dependents row naming one of them, and per unanswered subscription of one of them.
// attemptKeysOf(db, jobIds, limit) → AttemptKey[]
//   reads the jobs' rows (their latest attempts) and ≤ limit attempts rows (by their key). Rows
//   written: 0.
// forgetAttempts(db, jobId, throughNumber, now) → how many were forgotten
//   one transaction; reads jobs[id]; deletes its attempts rows up to throughNumber, and clears its
//   latest attempt from its row if that is numbered up to throughNumber too. Rows written: 1 per
//   attempt.
// postponeRemoval(db, ids, retryAt) → void
//   writes the deadline of each job still finished, and puts a swept one back in jobs_wake. Rows
//   written: 2 per job (row, jobs_wake).
// Helpers: removalTime (no SQL; on the retention's grid, src/core/removal-time.ts) and removalTimeSql (the
// same in SQL, for statements that finish many jobs).
//
// A finished job's deadline is its removal time, so the jobs_wake index finds the jobs due for removal
// and the alarm wakes for them like for any other deadline.
import { and, eq, inArray, lte, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { removalTime as removalTimeOf } from "../../core/removal-time";
import { FINISHED_STATUSES } from "../../core/state";
import type { ShardDb } from "../db";
import {
  allocations,
  attempts,
  dependencyMessages,
  dependents,
  idempotencyKeys,
  inWake,
  type JobRow,
  jobs,
} from "../schema";
import { forgetIdleKeys } from "./flow-control";
import { lowerWatermark } from "./index-copy";
import { prepared } from "./prepared";
import { lowerSweeps } from "./retention-sweep";

/** `column in (ids)`, with the ids as one JSON parameter: Durable Object SQLite binds at most 100. */
const inIds = (column: SQLWrapper, ids: string[]) =>
  sql`${column} in (select value from json_each(${JSON.stringify(ids)}))`;

/** When a job finishing at `now` is removed: on its retention's grid (src/core/removal-time.ts). */
export function removalTime(job: Pick<JobRow, "finishedRetentionSeconds">, now: number): number {
  return removalTimeOf(now, job.finishedRetentionSeconds);
}

/**
 * removalTime in SQL, for a statement that finishes many jobs at `now` (each with its own retention):
 * the same arithmetic (`cast` truncates a positive quotient, whether SQLite divides as integer or real).
 */
export function removalTimeSql(now: number): SQL<number> {
  const retention = sql`${jobs.finishedRetentionSeconds}`;
  const grid = sql`(max(1, min(60, ${retention} / 10)) * 1000)`;
  return sql<number>`cast((${now} + ${retention} * 1000 + ${grid} - 1) / ${grid} as integer) * ${grid}`;
}

/** Finished jobs whose retention has run out, oldest first, at most `limit`. */
export function dueForRemoval(db: ShardDb, now: number, limit: number): JobRow[] {
  const statement = prepared(db, "retention.dueForRemoval", (db) =>
    db
      .select()
      .from(jobs)
      .where(
        and(inArray(jobs.status, [...FINISHED_STATUSES]), inWake, lte(jobs.deadline, sql.placeholder("now"))),
      )
      .orderBy(jobs.deadline)
      .limit(sql.placeholder("limit"))
      .prepare(),
  );
  return statement.all({ now, limit });
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
    const rows = tx
      .delete(jobs)
      .where(and(inIds(jobs.id, ids), inArray(jobs.status, [...FINISHED_STATUSES]), lte(jobs.deadline, now)))
      .returning({ id: jobs.id, latest: jobs.lastAttemptNumber, flowKey: jobs.flowKey })
      .all();
    const removed = rows.map((r) => r.id);
    // Only a job whose latest attempt is not its first can have earlier ones (attempt-history.ts).
    const withHistory = rows.filter((r) => r.latest !== null && r.latest > 1).map((r) => r.id);
    if (withHistory.length > 0) tx.delete(attempts).where(inIds(attempts.jobId, withHistory)).run();
    if (removed.length > 0) {
      tx.delete(allocations).where(inIds(allocations.jobId, removed)).run();
      tx.delete(idempotencyKeys).where(inIds(idempotencyKeys.jobId, removed)).run();
      // Who waited on them (all told: heldByDependents kept any job with a dependent not yet told),
      // and the subscriptions of removed dependents still unanswered (nothing waits on their answer).
      tx.delete(dependents).where(inIds(dependents.depId, removed)).run();
      tx.delete(dependencyMessages)
        .where(and(eq(dependencyMessages.kind, "subscribe"), inIds(dependencyMessages.jobId, removed)))
        .run();
      // W ≤ max(rowid) again, in the delete's transaction: the next insert takes max(rowid) + 1 and
      // must land above the watermark, its copy pending by construction (index-copy.ts).
      lowerWatermark(tx);
      lowerSweeps(tx);
    }
    const keys = [...new Set(rows.flatMap((r) => (r.flowKey === null ? [] : [r.flowKey])))];
    // A key's start log outlives its last finish while a window can still hold its starts; it goes
    // with the key's jobs at the latest, so an idle key holds nothing (flow-control.ts).
    if (keys.length > 0) forgetIdleKeys(tx, keys, now);
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
 * one result object, and its attempt record is the only record of it: the job row's latest attempt,
 * and the attempts rows before it (all numbered below it, so it comes last of its job). The rows are
 * read through the attempts table's own key (WITHOUT ROWID on (job_id, number)), so a step reads at
 * most `limit` rows per job it names.
 */
export function attemptKeysOf(db: ShardDb, jobIds: string[], limit: number): AttemptKey[] {
  if (jobIds.length === 0 || limit <= 0) return [];
  return db.all<AttemptKey>(sql`
    select ${attempts.jobId} as jobId, ${attempts.occurrence} as occurrence, ${attempts.number} as number
      from ${attempts} where ${inIds(attempts.jobId, jobIds)}
    union all
    select ${jobs.id}, ${jobs.lastAttemptOccurrence}, ${jobs.lastAttemptNumber}
      from ${jobs} where ${inIds(jobs.id, jobIds)} and ${jobs.lastAttemptNumber} is not null
    order by 1, 3
    limit ${limit}`);
}

/**
 * forgetAttempts: forgets a job's attempts up to `throughNumber` once their result objects are gone,
 * so the next step goes on from where this one stopped: its attempts rows are deleted, and its latest
 * attempt is cleared from its row when it is among them (attemptKeysOf lists it last of its job, so
 * removeExpiredJobs never cuts after it; kept here so the contract holds for any number). Invariant:
 * only the attempts of a finished job whose removal time has passed, the job's removal under way; a
 * job retried meanwhile keeps its history. Returns how many were forgotten.
 */
export function forgetAttempts(db: ShardDb, jobId: string, throughNumber: number, now: number): number {
  return db.transaction((tx) => {
    const removable = tx
      .select({ latest: jobs.lastAttemptNumber })
      .from(jobs)
      .where(and(eq(jobs.id, jobId), inArray(jobs.status, [...FINISHED_STATUSES]), lte(jobs.deadline, now)))
      .get();
    if (!removable) return 0;
    const deleted = tx
      .delete(attempts)
      .where(and(eq(attempts.jobId, jobId), lte(attempts.number, throughNumber)))
      .returning({ number: attempts.number })
      .all().length;
    if (removable.latest === null || removable.latest > throughNumber) return deleted;
    tx.update(jobs)
      .set({
        lastAttemptNumber: null,
        lastAttemptOccurrence: null,
        lastAttemptStatus: null,
        lastAttemptScheduledAt: null,
        lastAttemptFinishedAt: null,
        lastAttemptError: null,
        lastAttemptResources: null,
      })
      .where(eq(jobs.id, jobId))
      .run();
    return deleted + 1;
  });
}

/**
 * A removal that could not complete (archive or index unreachable) is tried again at `retryAt`, the
 * job back in jobs_wake if the sweep had it (retention-sweep.ts: its entry, not the sweep, retries it).
 */
export function postponeRemoval(db: ShardDb, ids: string[], retryAt: number): void {
  if (ids.length === 0) return;
  db.update(jobs)
    .set({ deadline: retryAt, swept: null })
    .where(and(inIds(jobs.id, ids), inArray(jobs.status, [...FINISHED_STATUSES])))
    .run();
}
