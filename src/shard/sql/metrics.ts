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
  const { attempts: a, finished: f } = tally;
  storageOf(db).sql.exec(
    COUNT_IN_MINUTE,
    minuteOf(now),
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
const COUNT_IN_MINUTE = `insert into metric_minutes (minute, succeeded, failed, timed_out, cancelled, expired,
  jobs_succeeded, jobs_failed, jobs_cancelled, lateness_max_ms, lateness_sum_ms, lateness)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict (minute) do update set
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
  lateness = case when excluded.lateness = '{}' then metric_minutes.lateness else (
    select json_group_object(key, total) from (
      select key, sum(value) as total from (
        select key, value from json_each(metric_minutes.lateness)
        union all select key, value from json_each(excluded.lateness)
      ) group by key
    )
  ) end`;

/**
 * pruneMetricMinutes: deletes the minutes that have left the window. Invariant: the table holds at
 * most the window's minutes plus those written since the last prune (the alarm prunes every cycle).
 */
export function pruneMetricMinutes(db: ShardDb, now: number): void {
  prepared(db, "metrics.pruneMinutes", (db) =>
    db
      .delete(metricMinutes)
      .where(lt(metricMinutes.minute, sql.placeholder("start")))
      .prepare(),
  ).run({ start: windowStartMinute(now) });
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
  // Begun attempts in their one-row form are stored queued (begun.ts): they are running. Reads the
  // queued rows (at most the in-flight window and the attempts running).
  const begun = db.select({ n: count() }).from(jobs).where(BEGUN).get()?.n ?? 0;
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
