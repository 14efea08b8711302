// The shard's basics, shared by every query module (src/shard/sql/) and the Durable Object: the
// database handle, the timings the queries keep, and a job by id.
import { eq, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { type JobRow, jobs } from "./schema";
import { effective } from "./sql/begun";
import { prepared } from "./sql/prepared";

export type ShardDb = DrizzleSqliteDODatabase<Record<string, unknown>>;

export interface ShardTimings {
  /** A queued job whose message has not begun by then is dispatched again. */
  dispatchDeadlineMs: number;
  /** Extra time past timeout_seconds before the shard declares an attempt timed out. */
  leaseGraceMs: number;
  /** A running attempt with no heartbeat (or begin) for this long is given up, whatever its timeout. */
  heartbeatTimeoutMs: number;
  /** Delay before a changed job is copied to the D1 index; coalesces bursts of changes. */
  indexFlushDelayMs: number;
}

/** findJob: the job's row, or undefined. Reads one row. Built once per database (prepared.ts). */
export function findJob(db: ShardDb, jobId: string): JobRow | undefined {
  const row = prepared(db, "db.findJob", (d) =>
    d
      .select()
      .from(jobs)
      .where(eq(jobs.id, sql.placeholder("id")))
      .prepare(),
  ).get({ id: jobId });
  // A begun attempt in its one-row form reads as the running job it is (src/shard/sql/begun.ts).
  return effective(row);
}
