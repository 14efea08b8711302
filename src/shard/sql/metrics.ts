// The shard's figures for GET /v1/metrics: per-minute counters written with the change they count,
// and what the shard holds now.
//
// countInMinute(db, now, event) → void
//   writes metric_minutes[minute of now] (upsert, one statement built once for every event). Rows
//   written: 1 (0 for an empty event).
// pruneMetricMinutes(db, now) → void
//   deletes the minutes before the window (built once). Rows written: 1 per minute deleted (about one
//   per active minute).
// readMetrics(db, now) → ShardMetrics
//   reads live jobs counted by status and due scheduled jobs (jobs_wake, at most MAX_UNFINISHED_JOBS
//   entries), ≤ WINDOW_MINUTES metric_minutes rows, and the pools as listPools. Rows written: 0.
//
// Nothing here reads the attempts table: its history is unbounded within retention, while the counters
// are at most one row per minute of the window.
import { and, count, eq, gte, inArray, lt, lte, type SQL, sql } from "drizzle-orm";
import type { SQLiteInsertValue } from "drizzle-orm/sqlite-core";
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
import { prepared } from "./prepared";

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

/** The counters a minute keeps per attempt outcome and per finished status, as column properties. */
const OUTCOME_FIELDS = {
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "timedOut",
  cancelled: "cancelled",
  expired: "expired",
} as const;

const FINISHED_FIELDS = {
  succeeded: "jobsSucceeded",
  failed: "jobsFailed",
  cancelled: "jobsCancelled",
} as const;

/** Every counter the upsert adds to, by property name. */
const COUNTERS = [...Object.values(OUTCOME_FIELDS), ...Object.values(FINISHED_FIELDS)];

/**
 * The minute's upsert, one shape for every event: each counter adds what it is bound to (0 for the
 * counters the event does not touch, which is also their default in a new row), the lateness maximum
 * and sum add the attempt's lateness (0 without one: lateness is never negative), and the histogram
 * adds one to the bucket at `path` unless `path` is null. Binds `minute`, each counter, `latenessMs`,
 * `histogram` (a new row's histogram) and `path`.
 */
function upsertStatement(db: ShardDb) {
  const values: SQLiteInsertValue<typeof metricMinutes> = {
    minute: sql.placeholder("minute"),
    latenessMaxMs: sql.placeholder("latenessMs"),
    latenessSumMs: sql.placeholder("latenessMs"),
    lateness: sql.placeholder("histogram"),
  };
  const set: Record<string, SQL> = {};
  for (const field of COUNTERS) {
    const column = metricMinutes[field];
    values[field] = sql.placeholder(field);
    set[field] = sql`${column} + excluded.${sql.identifier(column.name)}`;
  }
  const path = sql.placeholder("path");
  const histogram = metricMinutes.lateness;
  return db
    .insert(metricMinutes)
    .values(values)
    .onConflictDoUpdate({
      target: metricMinutes.minute,
      set: {
        ...set,
        latenessMaxMs: sql`max(${metricMinutes.latenessMaxMs}, excluded.lateness_max_ms)`,
        latenessSumMs: sql`${metricMinutes.latenessSumMs} + excluded.lateness_sum_ms`,
        lateness: sql`case when ${path} is null then ${histogram}
          else json_set(${histogram}, ${path}, coalesce(json_extract(${histogram}, ${path}), 0) + 1) end`,
      },
    })
    .prepare();
}

/**
 * countInMinute: adds one change to the counters of the minute of `now`. Called inside the same
 * synchronous step as the change itself, so a change is counted exactly when it is committed.
 * Costs one row written (an upsert on the minute's rowid), however many columns it adds to. The
 * statement is built once per database (prepared.ts) and bound per call.
 */
export function countInMinute(db: ShardDb, now: number, event: MinuteEvent): void {
  const { attempt, finished } = event;
  if (!attempt && !finished) return;
  const bound: Record<string, unknown> = { minute: minuteOf(now), latenessMs: 0, histogram: {}, path: null };
  for (const field of COUNTERS) bound[field] = 0;
  if (attempt) bound[OUTCOME_FIELDS[attempt.outcome]] = 1;
  if (attempt && attempt.latenessMs !== null) {
    const lateness = Math.max(0, Math.round(attempt.latenessMs));
    const bucket = String(latenessBucketOf(lateness));
    Object.assign(bound, { latenessMs: lateness, histogram: { [bucket]: 1 }, path: `$."${bucket}"` });
  }
  if (finished) bound[FINISHED_FIELDS[finished]] = event.jobs ?? 1;
  prepared(db, "metrics.countInMinute", upsertStatement).run(bound);
}

/**
 * pruneMetricMinutes: deletes the minutes that have left the window. Invariant: the table holds at
 * most the window's minutes plus those written since the last prune (the alarm prunes every cycle).
 * Built once per database, bound per call.
 */
export function pruneMetricMinutes(db: ShardDb, now: number): void {
  const statement = prepared(db, "metrics.prune", (db) =>
    db
      .delete(metricMinutes)
      .where(lt(metricMinutes.minute, sql.placeholder("start")))
      .prepare(),
  );
  statement.run({ start: windowStartMinute(now) });
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
