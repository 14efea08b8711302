// A user's figures (GET /v1/metrics): what each shard reports and how the API merges them. Pure: no
// runtime imports, `now` comes in with the shards' reports.
import { z } from "zod";
import {
  addHistogram,
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

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** The first minute inside the window that ends in the minute of `now`. */
export function windowStartMinute(now: number): number {
  return minuteOf(now) - WINDOW_MINUTES + 1;
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
  /** The window's minutes that have counts, oldest first. */
  minutes: MinuteCounts[];
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

function addMinute(into: MinuteCounts, more: MinuteCounts): void {
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
});
export type UserMetrics = z.infer<typeof UserMetricsSchema>;

function latenessFigures(m: MinuteCounts): LatenessFigures {
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
export function mergeShardMetrics(parts: readonly ShardMetrics[], now: number): UserMetrics {
  const first = windowStartMinute(now);
  const series = Array.from({ length: WINDOW_MINUTES }, (_, i) => emptyMinute(first + i));
  const total = emptyMinute(first);
  const live = zeroes(LIVE_STATUSES);
  let due = 0;
  const pools: PoolUse[] = [];
  for (const part of parts) {
    for (const s of LIVE_STATUSES) live[s] += part.live[s];
    due += part.dueNotDispatched;
    pools.push(...part.pools);
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
  };
}
