// A user's figures (GET /v1/metrics): what each shard reports and how the API merges them. Pure: no
// runtime imports, `now` comes in with the shards' reports.
import { z } from "zod";
import {
  addHistogram,
  cumulativeBuckets,
  emptyHistogram,
  type Histogram,
  histogramCount,
  percentileOf,
} from "./lateness-histogram";

/** How an attempt ended, as the per-minute counters count it. */
export const ATTEMPT_OUTCOMES = ["succeeded", "failed", "timed_out", "cancelled", "expired"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];
/** The outcomes that are failures of the attempt (a cancel is the user's choice, not a failure). */
export const FAILURE_OUTCOMES: readonly AttemptOutcome[] = ["failed", "timed_out", "expired"];

/** The statuses a job is counted in right now (its shard holds every such job). */
export const LIVE_STATUSES = ["scheduled", "queued", "running", "paused"] as const;
export type LiveStatus = (typeof LIVE_STATUSES)[number];
/** The statuses a job finishes in; counted per minute when it gets there. */
export const FINAL_STATUSES = ["succeeded", "failed", "cancelled"] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** The figures are over the last hour: the current minute and the 59 before it. */
export const WINDOW_MINUTES = 60;
const MINUTE_MS = 60_000;
/** Older minutes are kept as hours (metric_hours), for the 24 h and 7 d charts. */
const HOUR_MINUTES = 60;
/** Hours kept: 7 days, the longest chart, ending in the hour of now. */
export const HOURS_KEPT = 7 * 24;

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** The epoch hour of an epoch minute. */
export function hourOfMinute(minute: number): number {
  return Math.floor(minute / HOUR_MINUTES);
}

/** The first minute inside the window that ends in the minute of `now`. */
export function windowStartMinute(now: number): number {
  return minuteOf(now) - WINDOW_MINUTES + 1;
}

/**
 * The minutes before this one are rolled into their hours (and the shard's running totals): the start
 * of the hour the window begins in. So the window's minutes are always rows of their own, a shard
 * keeps 60 to 119 minute rows, and the roll runs once an hour per shard (src/shard/sql/metrics.ts).
 */
export function rollBeforeMinute(now: number): number {
  return hourOfMinute(windowStartMinute(now)) * HOUR_MINUTES;
}

/** The first hour kept: older hours are pruned, their counts live on in the running totals only. */
export function firstHourKept(now: number): number {
  return hourOfMinute(minuteOf(now)) - HOURS_KEPT + 1;
}

/** The chart ranges GET /v1/metrics?range= serves: per minute over 1 h, per hour over 24 h or 7 d. */
export const METRICS_RANGES = ["1h", "24h", "7d"] as const;
export type MetricsRange = (typeof METRICS_RANGES)[number];
const RANGE_POINTS: Record<MetricsRange, { points: number; stepMinutes: number }> = {
  "1h": { points: WINDOW_MINUTES, stepMinutes: 1 },
  "24h": { points: 24, stepMinutes: HOUR_MINUTES },
  "7d": { points: HOURS_KEPT, stepMinutes: HOUR_MINUTES },
};

/** The first hour a range's hourly series needs (null: the range is per minute, from minute rows). */
export function rangeFirstHour(range: MetricsRange | undefined, now: number): number | null {
  if (range === undefined || RANGE_POINTS[range].stepMinutes === 1) return null;
  return hourOfMinute(minuteOf(now)) - RANGE_POINTS[range].points + 1;
}

/** One minute of one shard's counters. */
export interface MinuteCounts {
  /** Epoch minute (ms / 60,000). */
  minute: number;
  attempts: Record<AttemptOutcome, number>;
  /** Jobs that finished in this minute, by final status. */
  finished: Record<FinalStatus, number>;
  latenessMaxMs: number;
  latenessSumMs: number;
  lateness: Histogram;
}

/** Counts without their minute: a shard's running totals, or a sum of minutes. */
export type Counts = Omit<MinuteCounts, "minute">;

export interface PoolUse {
  name: string;
  capacity: number;
  in_use: number;
  waiting: number;
}

/** What one shard reports (the `metrics` RPC). */
export interface ShardMetrics {
  /** The shard's clock when it read its figures. */
  now: number;
  live: Record<LiveStatus, number>;
  /** Scheduled jobs whose due time has passed and that are not dispatched yet. */
  dueNotDispatched: number;
  /** The minutes that have counts (at least the window's; up to two hours of them), oldest first. */
  minutes: MinuteCounts[];
  /**
   * Everything counted since the shard started (the running totals plus the minutes not yet rolled
   * into them): only ever grows, so the Prometheus counters are these. Optional: a shard's report from
   * before issue 20 had none (treated as zero).
   */
  totals?: Counts;
  /** The hours a range asked for (`minute` is the hour's first minute), oldest first; else none. */
  hours?: MinuteCounts[];
  /** The user's pools; only the home shard has any. */
  pools: PoolUse[];
}

const zeroes = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export function emptyMinute(minute: number): MinuteCounts {
  return {
    minute,
    attempts: zeroes(ATTEMPT_OUTCOMES),
    finished: zeroes(FINAL_STATUSES),
    latenessMaxMs: 0,
    latenessSumMs: 0,
    lateness: emptyHistogram(),
  };
}

function addMinute(into: Counts, more: Counts): void {
  for (const o of ATTEMPT_OUTCOMES) into.attempts[o] += more.attempts[o];
  for (const s of FINAL_STATUSES) into.finished[s] += more.finished[s];
  into.latenessMaxMs = Math.max(into.latenessMaxMs, more.latenessMaxMs);
  into.latenessSumMs += more.latenessSumMs;
  addHistogram(into.lateness, more.lateness);
}

const count = z.int().min(0);
const LatenessFiguresSchema = z.strictObject({
  count: count.describe("attempts with a lateness in the histogram"),
  sum: count.describe("their lateness added up, ms (the Prometheus summary's _sum)"),
  p50: z.int().nullable(),
  p99: z.int().nullable(),
  max: z.int().nullable(),
});
export type LatenessFigures = z.infer<typeof LatenessFiguresSchema>;
const byKeys = <K extends string>(keys: readonly [K, ...K[]]) =>
  z.strictObject(Object.fromEntries(keys.map((k) => [k, count])) as Record<K, typeof count>);

const TotalsSchema = z
  .strictObject({
    attempts: byKeys(ATTEMPT_OUTCOMES).describe("attempts that ended, by outcome"),
    jobs_finished: byKeys(FINAL_STATUSES).describe("jobs that finished, by final status"),
    lateness_ms: z.strictObject({
      count: count.describe("attempts with a measured lateness"),
      sum: count.describe("their lateness added up, ms"),
      buckets: z
        .array(z.strictObject({ le: count, count }))
        .describe(
          "cumulative: attempts whose lateness is at most `le` ms (`count` above is the +Inf bucket); " +
            "the Prometheus histogram's buckets",
        ),
    }),
  })
  .describe(
    "everything counted since each shard started, added over the shards: only ever grows (the " +
      "Prometheus counters)",
  );

const PointSchema = z.strictObject({
  start: z.iso.datetime(),
  attempts: byKeys(ATTEMPT_OUTCOMES),
  jobs_finished: byKeys(FINAL_STATUSES),
  lateness_ms: LatenessFiguresSchema,
});

const SeriesSchema = z
  .strictObject({
    range: z.enum(METRICS_RANGES),
    step_seconds: z.int().describe("60 for 1h, 3,600 for 24h and 7d"),
    points: z.array(PointSchema).describe("one per step, oldest first, empty steps included"),
  })
  .describe("the chart series `range` asked for (per minute over 1 h, per hour over 24 h or 7 d)");

/** The API's answer (JSON); the Prometheus text is rendered from the same object. */
export const UserMetricsSchema = z.strictObject({
  as_of: z.iso.datetime(),
  window_seconds: z.int(),
  jobs: byKeys(LIVE_STATUSES).describe("jobs in each unfinished status now"),
  jobs_finished: byKeys(FINAL_STATUSES).describe("jobs that finished within the window, by final status"),
  attempts: byKeys([...ATTEMPT_OUTCOMES, "total"]).describe("attempts that ended within the window"),
  failures: count.describe("attempts within the window that failed, timed out or expired"),
  lateness_ms: LatenessFiguresSchema.describe("start minus scheduled time, over the window"),
  due_not_dispatched: count.describe("scheduled jobs already due and not dispatched yet"),
  pools: z.array(z.strictObject({ name: z.string(), capacity: count, in_use: count, waiting: count })),
  per_minute: z
    .array(
      z.strictObject({
        minute: z.iso.datetime(),
        attempts: byKeys(ATTEMPT_OUTCOMES),
        lateness_ms: LatenessFiguresSchema,
      }),
    )
    .describe("one entry per minute of the window, oldest first, empty minutes included"),
  totals: TotalsSchema,
  series: SeriesSchema.optional(),
});
export type Totals = z.infer<typeof TotalsSchema>;

/** GET /v1/admin/metrics (JSON): a page of users' figures merged, and each user's headline. */
export const AdminMetricsSchema = UserMetricsSchema.extend({
  pools: z
    .array(
      z.strictObject({
        user_id: z.string(),
        name: z.string(),
        capacity: count,
        in_use: count,
        waiting: count,
      }),
    )
    .describe("every covered user's pools"),
  users: z
    .array(
      z.strictObject({
        user_id: z.string(),
        name: z.string().nullable(),
        shards: z.int().min(1),
        jobs: byKeys(LIVE_STATUSES),
        due_not_dispatched: count,
        attempts: byKeys([...ATTEMPT_OUTCOMES, "total"]),
        failures: count,
        lateness_ms: LatenessFiguresSchema,
      }),
    )
    .describe("the users whose figures are merged above, in directory order (window figures: last hour)"),
  unavailable: z
    .array(z.string())
    .describe("users of this page whose shards did not answer: left out of every figure above"),
  next_cursor: z
    .string()
    .nullable()
    .describe("the next page of users (the page ends early when its shard calls reach 500)"),
});
type Series = z.infer<typeof SeriesSchema>;
export type UserMetrics = z.infer<typeof UserMetricsSchema>;

function latenessFigures(m: Counts): LatenessFigures {
  const { lateness: h, latenessMaxMs: maxMs } = m;
  const count = histogramCount(h);
  return {
    count,
    sum: m.latenessSumMs,
    p50: percentileOf(h, 0.5, maxMs),
    p99: percentileOf(h, 0.99, maxMs),
    max: count === 0 ? null : maxMs,
  };
}

/**
 * Merges the shards' reports into the user's figures over the window that ends in the minute of
 * `now`. Exact: counts add, maxima take the largest and histograms add bucket by bucket, so the
 * percentiles are those of every attempt together. Minutes outside the window are ignored.
 */
export function mergeShardMetrics(
  parts: readonly ShardMetrics[],
  now: number,
  range?: MetricsRange,
): UserMetrics {
  const first = windowStartMinute(now);
  const totals = emptyMinute(0);
  const series = Array.from({ length: WINDOW_MINUTES }, (_, i) => emptyMinute(first + i));
  const total = emptyMinute(first);
  const live = zeroes(LIVE_STATUSES);
  let due = 0;
  const pools: PoolUse[] = [];
  for (const part of parts) {
    for (const s of LIVE_STATUSES) live[s] += part.live[s];
    due += part.dueNotDispatched;
    pools.push(...part.pools);
    if (part.totals) addMinute(totals, part.totals);
    for (const m of part.minutes) {
      const slot = series[m.minute - first];
      if (!slot) continue;
      addMinute(slot, m);
      addMinute(total, m);
    }
  }
  const attemptsTotal = ATTEMPT_OUTCOMES.reduce((n, o) => n + total.attempts[o], 0);
  return {
    as_of: new Date(now).toISOString(),
    window_seconds: (WINDOW_MINUTES * MINUTE_MS) / 1000,
    jobs: live,
    jobs_finished: total.finished,
    attempts: { ...total.attempts, total: attemptsTotal },
    failures: FAILURE_OUTCOMES.reduce((n, o) => n + total.attempts[o], 0),
    lateness_ms: latenessFigures(total),
    due_not_dispatched: due,
    pools: pools.sort((a, b) => a.name.localeCompare(b.name)),
    per_minute: series.map((m) => ({
      minute: new Date(m.minute * MINUTE_MS).toISOString(),
      attempts: m.attempts,
      lateness_ms: latenessFigures(m),
    })),
    totals: totalsOf(totals),
    ...(range ? { series: seriesOf(parts, now, range) } : {}),
  };
}

function totalsOf(t: Counts): Totals {
  return {
    attempts: t.attempts,
    jobs_finished: t.finished,
    lateness_ms: {
      count: histogramCount(t.lateness),
      sum: t.latenessSumMs,
      buckets: cumulativeBuckets(t.lateness),
    },
  };
}

/**
 * A range's chart: per minute from the minute rows (1h), or per hour from the hour rows plus the
 * minutes not yet rolled into their hour (24h, 7d). A count is in exactly one of the two (the roll
 * moves it), so the hours are exact.
 */
function seriesOf(parts: readonly ShardMetrics[], now: number, range: MetricsRange): Series {
  const { points, stepMinutes } = RANGE_POINTS[range];
  const last = Math.floor(minuteOf(now) / stepMinutes) * stepMinutes;
  const first = last - (points - 1) * stepMinutes;
  const slots = Array.from({ length: points }, (_, i) => emptyMinute(first + i * stepMinutes));
  const add = (m: MinuteCounts) => {
    const slot = slots[Math.floor((m.minute - first) / stepMinutes)];
    if (slot && m.minute >= first) addMinute(slot, m);
  };
  for (const part of parts) {
    for (const m of part.minutes) add(m);
    if (stepMinutes > 1) for (const h of part.hours ?? []) add(h);
  }
  return {
    range,
    step_seconds: stepMinutes * 60,
    points: slots.map((m) => ({
      start: new Date(m.minute * MINUTE_MS).toISOString(),
      attempts: m.attempts,
      jobs_finished: m.finished,
      lateness_ms: latenessFigures(m),
    })),
  };
}
