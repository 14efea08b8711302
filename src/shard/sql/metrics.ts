// The shard's figures for GET /v1/metrics: per-minute counters written with the change they count,
// and what the shard holds now.
//
// countInMinute(db, now, event | tally) → void
//   writes metric_minutes[minute of now] (upsert): one change, or a MinuteTally of many summed.
//   Rows written: 1 (0 for an empty event or tally), however many changes it counts.
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
 * Many changes' counts for one minute, summed: a request that ends many attempts (finishMany) adds each
 * change here in the step that makes it and writes the minute row once, at the end of that same step.
 * Pure arithmetic, no SQL.
 */
export class MinuteTally {
  /** Attempts that ended, by outcome. */
  readonly attempts: Partial<Record<AttemptOutcome, number>> = {};
  /** Jobs that finished, by final status. */
  readonly finished: Partial<Record<FinalStatus, number>> = {};
  /** Attempts whose lateness is measured, and their lateness: count per histogram bucket, max, sum. */
  measured = 0;
  readonly lateness: Record<string, number> = {};
  latenessMaxMs = 0;
  latenessSumMs = 0;

  add(event: MinuteEvent): this {
    const { attempt, finished } = event;
    if (attempt) {
      this.attempts[attempt.outcome] = (this.attempts[attempt.outcome] ?? 0) + 1;
      if (attempt.latenessMs !== null) {
        const lateness = Math.max(0, Math.round(attempt.latenessMs));
        const bucket = String(latenessBucketOf(lateness));
        this.lateness[bucket] = (this.lateness[bucket] ?? 0) + 1;
        this.latenessMaxMs = Math.max(this.latenessMaxMs, lateness);
        this.latenessSumMs += lateness;
        this.measured++;
      }
    }
    if (finished) this.finished[finished] = (this.finished[finished] ?? 0) + (event.jobs ?? 1);
    return this;
  }

  get empty(): boolean {
    return Object.keys(this.attempts).length === 0 && Object.keys(this.finished).length === 0;
  }
}

/**
 * countInMinute: adds one change (a MinuteEvent), or many summed (a MinuteTally), to the counters of
 * the minute of `now`. Called inside the same synchronous step as the changes themselves, so a change
 * is counted exactly when it is committed. Costs one row written (an upsert on the minute's rowid),
 * however many changes and columns it adds; none for an empty event or tally.
 */
export function countInMinute(db: ShardDb, now: number, counted: MinuteEvent | MinuteTally): void {
  const tally = counted instanceof MinuteTally ? counted : new MinuteTally().add(counted);
  if (tally.empty) return;
  const inserted: Record<string, unknown> = { minute: minuteOf(now) };
  const updated: Record<string, unknown> = {};
  const addTo = (column: { name: string }, n: number) => {
    inserted[fieldOf(column)] = n;
    updated[fieldOf(column)] = sql`${column} + ${n}`;
  };
  for (const [outcome, n] of Object.entries(tally.attempts) as [AttemptOutcome, number][]) {
    addTo(OUTCOME_COLUMNS[outcome], n);
  }
  for (const [status, n] of Object.entries(tally.finished) as [FinalStatus, number][]) {
    addTo(FINISHED_COLUMNS[status], n);
  }
  if (tally.measured > 0) {
    const { latenessMaxMs: max, latenessSumMs: sum } = tally;
    // One json_set for every bucket touched: each path's new count reads the row's old one.
    const pairs = Object.entries(tally.lateness).map(([bucket, n]) => {
      const path = `$."${bucket}"`;
      return sql`${path}, coalesce(json_extract(${metricMinutes.lateness}, ${path}), 0) + ${n}`;
    });
    Object.assign(inserted, { latenessMaxMs: max, latenessSumMs: sum, lateness: { ...tally.lateness } });
    Object.assign(updated, {
      latenessMaxMs: sql`max(${metricMinutes.latenessMaxMs}, ${max})`,
      latenessSumMs: sql`${metricMinutes.latenessSumMs} + ${sum}`,
      lateness: sql`json_set(${metricMinutes.lateness}, ${sql.join(pairs, sql`, `)})`,
    });
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
