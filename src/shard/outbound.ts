// What the alarm writes outside the shard: the D1 index copies of changed jobs, and retention's removal
// of finished jobs (archive or result objects, index rows, then the shard's rows). Both are bounded per
// alarm and never throw: a failure is logged and the work postponed, so the alarm always re-arms.

import { shardOfJobId } from "../core/ids";
import { indexCopyDue } from "../core/index-copy-time";
import { legacyResultKey, resultKey } from "../core/result-location";
import { indexDatabase } from "../index-store/databases";
import { removeFromIndex, upsertJobs } from "../index-store/writer";
import { log } from "../log";
import { recordOperations } from "../metering/operations";
import { archiveJobs } from "./archive";
import type { ShardContext } from "./context";
import type { JobRow } from "./schema";
import { heldByDependents } from "./sql/dependencies";
import {
  advanceWatermark,
  dueForIndex,
  markIndexed,
  newRowsDue,
  postponeIndex,
  postponeWatermark,
  readWatermark,
} from "./sql/index-copy";
import { attemptKeysOf, dueForRemoval, forgetAttempts, postponeRemoval, removeJobs } from "./sql/retention";
import { readSweeps, settleSweep } from "./sql/retention-sweep";
import { viewJob } from "./sql/view";

const INDEX_BATCH = 50;
const INDEX_RETRY_MS = 5000;
const REMOVAL_BATCH = 100;
const REMOVAL_RETRY_MS = 60_000;
/** Result objects deleted per removal step: one R2 call (it takes at most 1,000 keys). */
const RESULT_KEYS_PER_STEP = 1_000;

/** What the alarm's outside writes work with (the meter bills a removal's rows to retention). */
export type Outbound = Pick<ShardContext, "db" | "env" | "name" | "archiveFinished" | "sqlMeter" | "timings">;

/**
 * Pending index copies go to D1 in one batch per index database (a shard's user has one): (a) the new
 * rows above the index watermark whose copy time has come, in rowid order, and (b) the rows whose
 * index_due_at has come (src/shard/sql/index-copy.ts). Once D1 holds them, (b)'s rows are marked
 * (markIndexed) and the watermark moves past (a)'s with one row written (advanceWatermark), the job
 * rows of (a) untouched. A failed write keeps both pending: (b)'s rows are postponed, the watermark
 * stays and its retry time is set, so the alarm comes back INDEX_RETRY_MS later, never at once.
 * The alarm is the only writer of this shard's index rows, and runs this before removeExpiredJobs: so
 * no copy of a job is ever in flight once its removal starts. Returns how many copies it tried to write.
 */
export async function flushIndexCopies(o: Outbound, now: number): Promise<number> {
  const watermark = readWatermark(o.db);
  const fresh =
    watermark.retryAt === null || watermark.retryAt <= now
      ? newRowsDue(o.db, watermark.copiedThrough, now, o.timings.indexFlushDelayMs, INDEX_BATCH)
      : { rows: [], through: null };
  const perRow = dueForIndex(o.db, now, INDEX_BATCH);
  // A row can be due both ways (above W with index_due_at set): one copy serves both.
  const freshIds = new Set(fresh.rows.map((r) => r.id));
  const rows = [...fresh.rows, ...perRow.filter((r) => !freshIds.has(r.id))];
  let freshLanded = true;
  for (const [db, group] of Map.groupBy(rows, (r) => r.indexDb)) {
    try {
      await upsertJobs(
        indexDatabase(o.env, db),
        group.map((r) => ({ view: viewJob(o.db, r), version: r.version })),
      );
      // (b)'s rows, and any new row that had a per-row copy pending too: cleared if still current.
      markIndexed(
        o.db,
        group.filter((r) => r.indexDueAt !== null),
      );
    } catch (err) {
      if (group.some((r) => freshIds.has(r.id))) freshLanded = false;
      // Every per-row copy of the group is postponed ((b)'s rows, and a new row's with index_due_at
      // set: left passed, it would wake the alarm at once); the new rows' watermark waits below.
      postponeIndex(
        o.db,
        group.filter((r) => r.indexDueAt !== null).map((r) => r.id),
        now + INDEX_RETRY_MS,
      );
      log("index_write_failed", { shard: o.name, jobs: group.length, error: err });
    }
  }
  if (fresh.through !== null) {
    if (freshLanded) {
      advanceWatermark(o.db, fresh.through, fresh.rows, indexCopyDue(now, o.timings.indexFlushDelayMs));
    } else {
      postponeWatermark(o.db, now + INDEX_RETRY_MS);
    }
  }
  return rows.length;
}

/**
 * Retention: finished jobs past their removal time leave the shard, a batch at a time: with
 * ARCHIVE_FINISHED first their archive, otherwise first their result objects, then their index rows
 * (so listing never shows a job that GET cannot find), then their shard rows. If the archive or D1
 * cannot be reached nothing is deleted and the batch is tried again later: a job is archived at least
 * once and deleted exactly once. A job whose result objects could not all be deleted in this step
 * stays for the next one (at once when the step's budget ran out, a minute later when R2 failed), and
 * the rest of the batch goes on without it. Returns how many jobs were due.
 */
export async function removeExpiredJobs(o: Outbound, now: number): Promise<number> {
  const entered = dueForRemoval(o.db, now, REMOVAL_BATCH);
  // The retention sweep's due jobs (no jobs_wake entry): settled once their removal is over.
  const sweeps = readSweeps(o.db, now, REMOVAL_BATCH - entered.length);
  try {
    return await removeFound(o, [...entered, ...sweeps.flatMap((p) => p.due)], now);
  } finally {
    for (const page of sweeps) retentionSql(o, () => settleSweep(o.db, page, now));
  }
}

/** Removes `found` (jobs due for removal), as removeExpiredJobs says; answers how many were due. */
async function removeFound(o: Outbound, found: JobRow[], now: number): Promise<number> {
  // A job whose dependents on other shards have not heard its outcome yet is kept until they have.
  const held = heldByDependents(
    o.db,
    found.map((j) => j.id),
  );
  if (held.size > 0) retentionSql(o, () => postponeRemoval(o.db, [...held], now + REMOVAL_RETRY_MS));
  const due = found.filter((j) => !held.has(j.id));
  const [first] = due;
  if (!first) return found.length;
  try {
    if (o.archiveFinished) {
      await archiveJobs(
        o.env.RESULTS,
        { userId: first.userId, shard: shardOfJobId(first.id) ?? 0, now },
        retentionSql(o, () => due.map((j) => viewJob(o.db, j))),
      );
    }
    // Archived jobs keep their results: the archive's `result` points at them.
    const ready = o.archiveFinished ? due : await removeResults(o, due, now);
    for (const [db, group] of Map.groupBy(ready, (j) => j.indexDb)) {
      await removeFromIndex(
        indexDatabase(o.env, db),
        group.map((j) => ({ userId: j.userId, createdAt: j.createdAt, id: j.id })),
      );
    }
    const removed = retentionSql(o, () =>
      removeJobs(
        o.db,
        ready.map((j) => j.id),
        now,
      ),
    );
    log("jobs_removed", { shard: o.name, jobs: removed.length, archived: o.archiveFinished });
  } catch (err) {
    const ids = due.map((j) => j.id);
    retentionSql(o, () => postponeRemoval(o.db, ids, now + REMOVAL_RETRY_MS));
    log("removal_failed", { shard: o.name, jobs: ids.length, error: err });
  }
  return due.length;
}

/**
 * Deletes the result objects of the batch's jobs that have a result_location, at most
 * RESULT_KEYS_PER_STEP (one R2 call) per step; returns the jobs whose objects are all gone (and those
 * that never had any). Every object a job wrote is named by one of its attempt rows, so nothing is
 * listed: under its user's root (resultKey), and, for a job written before results were scoped
 * (results_scoped false), under the bare prefix as well (legacyResultKey: its earlier attempts wrote
 * there), so such a step takes half as many attempts. A job cut off by the budget has its deleted
 * attempts forgotten and goes on at the next step; its removal time has passed, so the alarm comes
 * back at once. When R2 fails, the jobs with results wait a minute and the others are removed now.
 */
async function removeResults(o: Outbound, due: JobRow[], now: number): Promise<JobRow[]> {
  const withResults = due.filter((j) => j.resultLocation !== null);
  if (withResults.length === 0) return due;
  const byId = new Map(withResults.map((j) => [j.id, j]));
  const attemptsPerStep = withResults.every((j) => j.resultsScoped)
    ? RESULT_KEYS_PER_STEP
    : RESULT_KEYS_PER_STEP / 2;
  const found = retentionSql(o, () =>
    attemptKeysOf(
      o.db,
      withResults.map((j) => j.id),
      attemptsPerStep + 1,
    ),
  );
  const step = found.slice(0, attemptsPerStep);
  // Attempts come in job id order: the job at the cut has more, and the jobs after it were not reached.
  const cut = found.length > attemptsPerStep ? (found[attemptsPerStep]?.jobId ?? null) : null;
  const keys = step.flatMap((a) => {
    const job = byId.get(a.jobId);
    if (!job || job.resultLocation === null) return [];
    const scoped = resultKey(job.userId, job.resultLocation, a.jobId, a.occurrence, a.number);
    if (job.resultsScoped) return [scoped];
    return [scoped, legacyResultKey(job.resultLocation, a.jobId, a.occurrence, a.number)];
  });
  try {
    if (keys.length > 0) {
      await o.env.RESULTS.delete(keys);
      recordOperations("retention", { r2Deletes: keys.length });
    }
  } catch (err) {
    const ids = withResults.map((j) => j.id);
    retentionSql(o, () => postponeRemoval(o.db, ids, now + REMOVAL_RETRY_MS));
    log("result_removal_failed", { shard: o.name, jobs: ids.length, error: err });
    return due.filter((j) => j.resultLocation === null);
  }
  if (cut === null) return due;
  const reached = step.filter((a) => a.jobId === cut).at(-1);
  if (reached) retentionSql(o, () => forgetAttempts(o.db, cut, reached.number, now));
  return due.filter((j) => j.resultLocation === null || j.id < cut);
}

/** Runs the shard's own queries of a removal and bills their rows to the retention phase. */
function retentionSql<T>(o: Outbound, fn: () => T): T {
  const { value, rows } = o.sqlMeter.measure(fn);
  recordOperations("retention", rows);
  return value;
}
