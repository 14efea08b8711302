// The shard's figures for GET /v1/metrics: per-minute counters written with the change they count,
// and what the shard holds now.
//
// countInMinute(db, now, event) → void
//   writes metric_minutes[minute of now] (upsert). Rows written: 1 (0 for an empty event).
// pruneMetricMinutes(db, now) → void
//   deletes the minutes before the window. Rows written: 1 per minute deleted (about one per active
//   minute).
// readMetrics(db, now) → ShardMetrics
//   reads live jobs counted by status and due scheduled jobs (jobs_wake, at most MAX_UNFINISHED_JOBS
//   entries), ≤ WINDOW_MINUTES metric_minutes rows, and the pools as listPools. Rows written: 0.
//
// Nothing here reads the attempts table: its history is unbounded within retention, while the counters
// are at most one row per minute of the window.
import { and, count, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import { histogramFromSparse, latenessBucketOf } from "../../core/lateness-histogram";
import {
  type AttemptOutcome,
  type FinalStatus,
  LIVE_STATUSES,
  type LiveStatus,
  type MinuteCounts,
  minuteOf,
  type ShardMetrics,
  WINDOW_MINUTES,
  windowStartMinute,
} from "../../core/metrics";
import type { ShardDb } from "../db";
import { jobs, metricMinutes } from "../schema";
import { listPools } from "./pools";

/**
 * What one change adds to its minute: an attempt that ended, a job that finished, or both. An expired
 * occurrence counts as outcome `expired` with no lateness (no attempt started, so none is measured).
 */
export interface MinuteEvent {
  attempt?: { outcome: AttemptOutcome; latenessMs: number | null };
  finished?: FinalStatus;
  /** How many jobs finished so (default 1): a bulk cancel counts a whole step in one upsert. */
  jobs?: number;
}

const OUTCOME_COLUMNS = {
  succeeded: metricMinutes.succeeded,
  failed: metricMinutes.failed,
  timed_out: metricMinutes.timedOut,
  cancelled: metricMinutes.cancelled,
  expired: metricMinutes.expired,
} as const;

const FINISHED_COLUMNS = {
  succeeded: metricMinutes.jobsSucceeded,
  failed: metricMinutes.jobsFailed,
  cancelled: metricMinutes.jobsCancelled,
} as const;

/**
 * countInMinute: adds one change to the counters of the minute of `now`. Called inside the same
 * synchronous step as the change itself, so a change is counted exactly when it is committed.
 * Costs one row written (an upsert on the minute's rowid), however many columns it adds to.
 */
export function countInMinute(db: ShardDb, now: number, event: MinuteEvent): void {
  const { attempt, finished } = event;
  if (!attempt && !finished) return;
  const plusOne = (column: { name: string }) => sql`${column} + 1`;
  const inserted: Record<string, unknown> = { minute: minuteOf(now) };
  const updated: Record<string, unknown> = {};
  if (attempt) {
    const column = OUTCOME_COLUMNS[attempt.outcome];
    inserted[fieldOf(column)] = 1;
    updated[fieldOf(column)] = plusOne(column);
  }
  if (attempt && attempt.latenessMs !== null) {
    const lateness = Math.max(0, Math.round(attempt.latenessMs));
    const bucket = String(latenessBucketOf(lateness));
    const path = `$."${bucket}"`;
    Object.assign(inserted, {
      latenessMaxMs: lateness,
      latenessSumMs: lateness,
      lateness: { [bucket]: 1 },
    });
    Object.assign(updated, {
      latenessMaxMs: sql`max(${metricMinutes.latenessMaxMs}, ${lateness})`,
      latenessSumMs: sql`${metricMinutes.latenessSumMs} + ${lateness}`,
      lateness: sql`json_set(${metricMinutes.lateness}, ${path}, coalesce(json_extract(${metricMinutes.lateness}, ${path}), 0) + 1)`,
    });
  }
  if (finished) {
    const column = FINISHED_COLUMNS[finished];
    const n = event.jobs ?? 1;
    inserted[fieldOf(column)] = n;
    updated[fieldOf(column)] = sql`${column} + ${n}`;
  }
  db.insert(metricMinutes)
    .values(inserted as typeof metricMinutes.$inferInsert)
    .onConflictDoUpdate({ target: metricMinutes.minute, set: updated })
    .run();
}

/** The schema's property name of a column (drizzle's `set` and `values` take property names). */
function fieldOf(column: { name: string }): keyof typeof metricMinutes.$inferInsert {
  const entry = Object.entries(metricMinutes).find(([, c]) => c === column);
  if (!entry) throw new Error(`metric_minutes has no column ${column.name}`);
  return entry[0] as keyof typeof metricMinutes.$inferInsert;
}

/**
 * pruneMetricMinutes: deletes the minutes that have left the window. Invariant: the table holds at
 * most the window's minutes plus those written since the last prune (the alarm prunes every cycle).
 */
export function pruneMetricMinutes(db: ShardDb, now: number): void {
  db.delete(metricMinutes)
    .where(lt(metricMinutes.minute, windowStartMinute(now)))
    .run();
}

function liveCounts(db: ShardDb): Record<LiveStatus, number> {
  // Counts through the jobs_wake index (status leads it); unfinished jobs are capped per shard by
  // MAX_UNFINISHED_JOBS, so this reads at most that many index entries.
  const rows = db
    .select({ status: jobs.status, n: count() })
    .from(jobs)
    .where(inArray(jobs.status, [...LIVE_STATUSES]))
    .groupBy(jobs.status)
    .all();
  const live = Object.fromEntries(LIVE_STATUSES.map((s) => [s, 0])) as Record<LiveStatus, number>;
  for (const r of rows) live[r.status as LiveStatus] = r.n;
  return live;
}

/** Scheduled jobs already due: a scheduled job's deadline is its due time (jobs_wake range). */
function dueNotDispatched(db: ShardDb, now: number): number {
  const [row] = db
    .select({ n: count() })
    .from(jobs)
    .where(
      and(eq(jobs.status, "scheduled"), inArray(jobs.needsPools, [false, true]), lte(jobs.deadline, now)),
    )
    .all();
  return row?.n ?? 0;
}

function minutesInWindow(db: ShardDb, now: number): MinuteCounts[] {
  const rows = db
    .select()
    .from(metricMinutes)
    .where(and(gte(metricMinutes.minute, windowStartMinute(now)), lte(metricMinutes.minute, minuteOf(now))))
    .orderBy(metricMinutes.minute)
    .limit(WINDOW_MINUTES)
    .all();
  return rows.map((r) => ({
    minute: r.minute,
    attempts: {
      succeeded: r.succeeded,
      failed: r.failed,
      timed_out: r.timedOut,
      cancelled: r.cancelled,
      expired: r.expired,
    },
    finished: { succeeded: r.jobsSucceeded, failed: r.jobsFailed, cancelled: r.jobsCancelled },
    latenessMaxMs: r.latenessMaxMs,
    latenessSumMs: r.latenessSumMs,
    lateness: histogramFromSparse(r.lateness),
  }));
}

/** This shard's part of the user's figures (pools: only the home shard has any). */
export function readMetrics(db: ShardDb, now: number): ShardMetrics {
  return {
    now,
    live: liveCounts(db),
    dueNotDispatched: dueNotDispatched(db, now),
    minutes: minutesInWindow(db, now),
    pools: listPools(db, now),
  };
}
