// What the alarm writes outside the shard: the D1 index copies of changed jobs, and retention's removal
// of finished jobs (archive, index rows, then the shard's rows). Both are bounded per alarm and never
// throw: a failure is logged and the work postponed, so the alarm always re-arms.
import { shardOfJobId } from "../core/ids";
import type { Env } from "../env";
import { indexDatabase } from "../index-store/databases";
import { removeFromIndex, upsertJobs } from "../index-store/writer";
import { log } from "../log";
import { archiveJobs } from "./archive";
import { dueForRemoval, postponeRemoval, removeJobs } from "./retention-queries";
import * as submits from "./submit-queries";
import { type ShardDb, viewJob } from "./view";

const INDEX_BATCH = 50;
const INDEX_RETRY_MS = 5000;
const REMOVAL_BATCH = 100;
const REMOVAL_RETRY_MS = 60_000;

export interface Outbound {
  db: ShardDb;
  env: Env;
  /** The shard's name, for logs. */
  shard: string;
  /** ARCHIVE_FINISHED: removed jobs are first written to the results bucket. */
  archiveFinished: boolean;
}

/** Pending index copies go to D1 in one batch per index database (a shard's user has one). */
export async function flushIndexCopies(o: Outbound, now: number): Promise<void> {
  const rows = submits.dueForIndex(o.db, now, INDEX_BATCH);
  for (const [db, group] of Map.groupBy(rows, (r) => r.indexDb)) {
    try {
      await upsertJobs(
        indexDatabase(o.env, db),
        group.map((r) => ({ view: viewJob(o.db, r), version: r.version })),
      );
      submits.markIndexed(o.db, group);
    } catch (err) {
      submits.postponeIndex(
        o.db,
        group.map((r) => r.id),
        now + INDEX_RETRY_MS,
      );
      log("index_write_failed", { shard: o.shard, jobs: group.length, error: err });
    }
  }
}

/**
 * Retention: finished jobs past their removal time leave the shard, a batch at a time, after their
 * index rows (so listing never shows a job that GET cannot find) and, with ARCHIVE_FINISHED, after
 * their archive. If the archive or D1 cannot be reached nothing is deleted and the batch is tried
 * again later: a job is archived at least once and deleted exactly once.
 */
export async function removeExpiredJobs(o: Outbound, now: number): Promise<void> {
  const due = dueForRemoval(o.db, now, REMOVAL_BATCH);
  const [first] = due;
  if (!first) return;
  const ids = due.map((j) => j.id);
  try {
    if (o.archiveFinished) {
      await archiveJobs(
        o.env.RESULTS,
        { userId: first.userId, shard: shardOfJobId(first.id) ?? 0, now },
        due.map((j) => viewJob(o.db, j)),
      );
    }
    for (const [db, group] of Map.groupBy(due, (j) => j.indexDb)) {
      await removeFromIndex(
        indexDatabase(o.env, db),
        group.map((j) => ({ userId: j.userId, createdAt: j.createdAt, id: j.id })),
      );
    }
    const removed = removeJobs(o.db, ids, now);
    log("jobs_removed", { shard: o.shard, jobs: removed.length, archived: o.archiveFinished });
  } catch (err) {
    postponeRemoval(o.db, ids, now + REMOVAL_RETRY_MS);
    log("removal_failed", { shard: o.shard, jobs: ids.length, error: err });
  }
}
