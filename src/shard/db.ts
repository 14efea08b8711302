// The shard's basics, shared by every query module (src/shard/sql/) and the Durable Object: the
// database handle, the timings the queries keep, and a job by id.
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { JOB_COLUMNS, jobRowOf } from "./job-rows";
import type { JobRow } from "./schema";
import { effective } from "./sql/begun";

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

/** What statements of fixed text use of a Durable Object's `storage.sql` (also what a node stand-in offers). */
export interface ShardSql {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
}

/**
 * The storage drizzle was given (drizzle's durable-sqlite database keeps it as `$client`): in a
 * TaskShard the metering facade (src/metering/sql-meter.ts), so what runs on it is billed like any query.
 */
export const storageOf = (db: ShardDb): { sql: ShardSql } =>
  (db as unknown as { $client: { sql: ShardSql } }).$client;

const FIND_JOB = `select ${JOB_COLUMNS} from jobs where id = ?`;

/**
 * findJob: the job's row, or undefined. Reads one row, with a statement of fixed text (workerd keeps it
 * compiled) and the row decoded by jobRowOf (src/shard/job-rows.ts), not drizzle's per-call machinery.
 */
export function findJob(db: ShardDb, jobId: string): JobRow | undefined {
  const [raw] = storageOf(db).sql.exec(FIND_JOB, jobId).toArray();
  // A begun attempt in its one-row form reads as the running job it is (src/shard/sql/begun.ts).
  return raw === undefined ? undefined : effective(jobRowOf(raw));
}
