// The shard's figures for GET /v1/metrics: per-minute counters written with the change they count,
// and what the shard holds now.
//
// countInMinute(db, now, event | tally) → void
//   writes metric_minutes[minute of now] (upsert): one change, or a MinuteTally of many summed.
//   Rows written: 1 (0 for an empty event or tally), however many changes it counts.
// rollMetricMinutes(db, now) → void
//   moves the minutes before rollBeforeMinute(now) (the hour the window starts in) into their hours'
//   rows (metric_hours, only hours of the last 7 days) and into the running totals (metric_totals),
//   deletes them, and deletes the hours older than 7 days, in one synchronous step. Runs in effect once
//   an hour per shard: rows written 1 per minute deleted (as the prune before it), plus 1 per hour row
//   written or deleted and 1 for the totals, per roll (not per job).
// readMetrics(db, now, range?) → ShardMetrics
//   reads live jobs counted by status and due scheduled jobs (jobs_wake, at most MAX_UNFINISHED_JOBS
//   entries), the metric_minutes rows (60 to 119 between rolls), the totals row, for a 24h or 7d
//   range ≤ 24 or 168 metric_hours rows, and the pools as listPools. Rows written: 0.
//
// Nothing here reads the attempts table: its history is unbounded within retention, while the counters
// are at most one row per minute of two hours, one per hour of 7 days, and one.
import { and, count, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import { addHistogram, histogramFromSparse, latenessBucketOf } from "../../core/lateness-histogram";
import {
  type AttemptOutcome,
  type Counts,
  emptyMinute,
  type FinalStatus,
  firstHourKept,
  hourOfMinute,
  LIVE_STATUSES,
  type LiveStatus,
  type MetricsRange,
  type MinuteCounts,
  minuteOf,
  rangeFirstHour,
  rollBeforeMinute,
  type ShardMetrics,
} from "../../core/metrics";
import type { ShardDb } from "../db";
import { inWake, jobs, metricHours, metricMinutes, metricTotals } from "../schema";
import { BEGUN } from "./begun";
import { listPools } from "./pools";
import { prepared } from "./prepared";
import { storageOf } from "./storage";

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

/** The outcome and final-status columns countInMinute binds, in COUNT_IN_MINUTE's order. */
const OUTCOMES = ["succeeded", "failed", "timed_out", "cancelled", "expired"] as const;
const FINALS = ["succeeded", "failed", "cancelled"] as const;
// The compiler refuses an outcome or a final status missing above (it would go uncounted).
const everyOutcome: [Exclude<AttemptOutcome, (typeof OUTCOMES)[number]>] extends [never] ? true : never =
  true;
const everyFinal: [Exclude<FinalStatus, (typeof FINALS)[number]>] extends [never] ? true : never = true;
void everyOutcome;
void everyFinal;

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

  /** Adds a stored row's counts (a minute being rolled into its hour and the totals). */
  addRow(r: MetricRow): this {
    const attempts: Record<AttemptOutcome, number> = {
      succeeded: r.succeeded,
      failed: r.failed,
      timed_out: r.timedOut,
      cancelled: r.cancelled,
      expired: r.expired,
    };
    const finished: Record<FinalStatus, number> = {
      succeeded: r.jobsSucceeded,
      failed: r.jobsFailed,
      cancelled: r.jobsCancelled,
    };
    for (const o of OUTCOMES) if (attempts[o]) this.attempts[o] = (this.attempts[o] ?? 0) + attempts[o];
    for (const f of FINALS) if (finished[f]) this.finished[f] = (this.finished[f] ?? 0) + finished[f];
    for (const [bucket, n] of Object.entries(r.lateness)) {
      this.lateness[bucket] = (this.lateness[bucket] ?? 0) + n;
      this.measured += n;
    }
    this.latenessMaxMs = Math.max(this.latenessMaxMs, r.latenessMaxMs);
    this.latenessSumMs += r.latenessSumMs;
    return this;
  }

  get empty(): boolean {
    return Object.keys(this.attempts).length === 0 && Object.keys(this.finished).length === 0;
  }
}

type MetricRow = typeof metricMinutes.$inferSelect;

/**
 * countInMinute: adds one change (a MinuteEvent), or many summed (a MinuteTally), to the counters of
 * the minute of `now`. Called inside the same synchronous step as the changes themselves, so a change
 * is counted exactly when it is committed. Costs one row written (an upsert on the minute's rowid),
 * however many changes and columns it adds; none for an empty event or tally.
 */
export function countInMinute(db: ShardDb, now: number, counted: MinuteEvent | MinuteTally): void {
  const tally = counted instanceof MinuteTally ? counted : new MinuteTally().add(counted);
  upsertCounts(db, COUNT_IN_MINUTE, minuteOf(now), tally);
}

/** Adds a tally to a row of one of the counters' tables (one statement, one row written). */
function upsertCounts(db: ShardDb, statement: string, key: number, tally: MinuteTally): void {
  if (tally.empty) return;
  const { attempts: a, finished: f } = tally;
  storageOf(db).sql.exec(
    statement,
    key,
    ...OUTCOMES.map((o) => a[o] ?? 0),
    ...FINALS.map((s) => f[s] ?? 0),
    tally.latenessMaxMs,
    tally.latenessSumMs,
    JSON.stringify(tally.lateness),
  );
}

/**
 * The upsert countInMinute runs, its text fixed at load (one statement, whatever the tally holds:
 * workerd keeps it compiled; nothing to build per call). Counters add; the lateness histogram is
 * merged bucket by bucket (a sparse JSON object: the union of the buckets, counts summed).
 */
const countIn = (
  table: string,
  key: string,
) => `insert into ${table} (${key}, succeeded, failed, timed_out, cancelled, expired,
  jobs_succeeded, jobs_failed, jobs_cancelled, lateness_max_ms, lateness_sum_ms, lateness)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict (${key}) do update set
  succeeded = succeeded + excluded.succeeded,
  failed = failed + excluded.failed,
  timed_out = timed_out + excluded.timed_out,
  cancelled = cancelled + excluded.cancelled,
  expired = expired + excluded.expired,
  jobs_succeeded = jobs_succeeded + excluded.jobs_succeeded,
  jobs_failed = jobs_failed + excluded.jobs_failed,
  jobs_cancelled = jobs_cancelled + excluded.jobs_cancelled,
  lateness_max_ms = max(lateness_max_ms, excluded.lateness_max_ms),
  lateness_sum_ms = lateness_sum_ms + excluded.lateness_sum_ms,
  lateness = case when excluded.lateness = '{}' then ${table}.lateness else (
    select json_group_object(key, total) from (
      select key, sum(value) as total from (
        select key, value from json_each(${table}.lateness)
        union all select key, value from json_each(excluded.lateness)
      ) group by key
    )
  ) end`;
const COUNT_IN_MINUTE = countIn("metric_minutes", "minute");
const COUNT_IN_HOUR = countIn("metric_hours", "hour");
const COUNT_IN_TOTALS = countIn("metric_totals", "id");

/** Minutes rolled per alarm run at most: an hour's worth, twice over (a shard idle for longer rolls
 * the rest in its next runs; what is not rolled yet is still counted, as minute rows). */
const ROLL_BATCH = 120;

/**
 * rollMetricMinutes: moves the minutes before rollBeforeMinute(now) into their hours (those of the
 * last 7 days) and into the running totals, deletes them, and prunes the hours older than 7 days. One
 * synchronous step (no await), so it commits as one: a count is in a minute row or in the totals,
 * never both, never neither, and the totals plus the minute rows only grow. Invariant after a run
 * that rolled fewer than ROLL_BATCH: the minute rows are those from the hour the window starts in on
 * (60 to 119 of them), the hour rows those of the last 7 days.
 */
export function rollMetricMinutes(db: ShardDb, now: number): void {
  const rows = db
    .select()
    .from(metricMinutes)
    .where(lt(metricMinutes.minute, rollBeforeMinute(now)))
    .orderBy(metricMinutes.minute)
    .limit(ROLL_BATCH)
    .all();
  const last = rows.at(-1);
  const firstHour = firstHourKept(now);
  if (last) {
    const totals = new MinuteTally();
    const hours = new Map<number, MinuteTally>();
    for (const r of rows) {
      totals.addRow(r);
      const hour = hourOfMinute(r.minute);
      // An hour already past the 7 days lives on in the totals only.
      if (hour < firstHour) continue;
      const tally = hours.get(hour) ?? new MinuteTally();
      hours.set(hour, tally.addRow(r));
    }
    for (const [hour, tally] of hours) upsertCounts(db, COUNT_IN_HOUR, hour, tally);
    upsertCounts(db, COUNT_IN_TOTALS, 0, totals);
    db.delete(metricMinutes).where(lte(metricMinutes.minute, last.minute)).run();
  }
  prepared(db, "metrics.pruneHours", (db) =>
    db
      .delete(metricHours)
      .where(lt(metricHours.hour, sql.placeholder("first")))
      .prepare(),
  ).run({ first: firstHour });
}

function liveCounts(db: ShardDb): Record<LiveStatus, number> {
  // Counts through the jobs_wake index (status leads it); unfinished jobs are capped per shard by
  // MAX_UNFINISHED_JOBS, so this reads at most that many index entries.
  const rows = db
    .select({ status: jobs.status, n: count() })
    .from(jobs)
    .where(and(inArray(jobs.status, [...LIVE_STATUSES]), inWake))
    .groupBy(jobs.status)
    .all();
  const live = Object.fromEntries(LIVE_STATUSES.map((s) => [s, 0])) as Record<LiveStatus, number>;
  for (const r of rows) live[r.status as LiveStatus] = r.n;
  // Begun attempts in their one-row form are stored queued (begun.ts): they are running. Reads the
  // queued rows (at most the in-flight window and the attempts running).
  const begun = db.select({ n: count() }).from(jobs).where(and(BEGUN, inWake)).get()?.n ?? 0;
  live.queued -= begun;
  live.running += begun;
  return live;
}

/** Scheduled jobs already due: a scheduled job's deadline is its due time (jobs_wake range). */
function dueNotDispatched(db: ShardDb, now: number): number {
  const [row] = db
    .select({ n: count() })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "scheduled"),
        inArray(jobs.needsPools, [false, true]),
        lte(jobs.deadline, now),
        inWake,
      ),
    )
    .all();
  return row?.n ?? 0;
}

function countsOf(r: MetricRow): Counts {
  return {
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
  };
}

/** Every minute row (60 to 119 between rolls; the window's among them), oldest first. */
function minuteRows(db: ShardDb): MinuteCounts[] {
  const rows = db.select().from(metricMinutes).orderBy(metricMinutes.minute).all();
  return rows.map((r) => ({ minute: r.minute, ...countsOf(r) }));
}

/** Everything counted since the shard started: the running totals plus the minutes not rolled yet. */
function totalsOf(db: ShardDb, minutes: readonly MinuteCounts[]): Counts {
  const { minute: _, ...sum } = emptyMinute(0);
  const row = db.select().from(metricTotals).where(eq(metricTotals.id, 0)).get();
  const parts = row ? [countsOf({ ...row, minute: 0 }), ...minutes] : minutes;
  for (const p of parts) {
    for (const o of OUTCOMES) sum.attempts[o] += p.attempts[o];
    for (const f of FINALS) sum.finished[f] += p.finished[f];
    sum.latenessMaxMs = Math.max(sum.latenessMaxMs, p.latenessMaxMs);
    sum.latenessSumMs += p.latenessSumMs;
    addHistogram(sum.lateness, p.lateness);
  }
  return sum;
}

/** The hour rows a range's chart needs (none for the per-minute range), oldest first. */
function hourRows(db: ShardDb, range: MetricsRange | undefined, now: number): MinuteCounts[] {
  const first = rangeFirstHour(range, now);
  if (first === null) return [];
  const rows = db
    .select()
    .from(metricHours)
    .where(and(gte(metricHours.hour, first), lte(metricHours.hour, hourOfMinute(minuteOf(now)))))
    .orderBy(metricHours.hour)
    .all();
  return rows.map(({ hour, ...r }) => ({ minute: hour * 60, ...countsOf({ ...r, minute: 0 }) }));
}

/** This shard's part of the user's figures (pools: only the home shard has any). */
export function readMetrics(db: ShardDb, now: number, range?: MetricsRange): ShardMetrics {
  const minutes = minuteRows(db);
  return {
    now,
    live: liveCounts(db),
    dueNotDispatched: dueNotDispatched(db, now),
    minutes,
    totals: totalsOf(db, minutes),
    ...(range === undefined || range === "1h" ? {} : { hours: hourRows(db, range, now) }),
    pools: listPools(db, now),
  };
}
