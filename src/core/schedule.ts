// When a job runs: its first execution time and the occurrence after each run. Pure: `now` is an
// argument and cron matching is delegated to croner (never hand-parsed).
//
// Cron expressions are exactly 5 fields (minute hour day-of-month month day-of-week); croner's
// seconds/year forms (6/7 fields) are rejected. croner's nicknames are accepted because it expands
// them to 5-field patterns (@hourly = "0 * * * *", @daily/@midnight, @weekly, @monthly,
// @yearly/@annually); @reboot is rejected. croner's 5-field extensions (L, W, #, +, ?) are allowed.
//
// DST rule (croner's Vixie-cron rule with fixedTimeRule "no-wildcard"). A job is FIXED-TIME when its
// minute and hour fields contain no `*`, `?` or step `/` (`30 1 * * *`, `30 1,13 * * *`,
// `0 1-3 * * *`); otherwise it is an INTERVAL job (`0 * * * *`, `*/15 * * * *`, `0 */2 * * *`).
// - Fall back (a wall-clock time occurs twice): a fixed-time job runs ONCE, at the first occurrence.
//   `30 1 * * *` in America/New_York on 2026-11-01 runs at 01:30 EDT (05:30Z) only, not at 01:30 EST.
//   An interval job runs on both passes, because they are distinct real hours: `0 * * * *` runs at
//   01:00 EDT (05:00Z) and 01:00 EST (06:00Z), so it keeps firing every real hour.
// - Spring forward (a wall-clock time does not exist): a fixed-time job still runs that day, at the
//   first valid instant after the gap: `30 2 * * *` in New York on 2026-03-08 runs at 03:00 EDT
//   (07:00Z), not 03:30. Several missing times collapse into that one run. An interval job skips the
//   missing times: `0 * * * *` goes 01:00 EST → 03:00 EDT, one real hour apart.
// All results are real instants and strictly increase, so iterating nextRunAt cannot repeat a run.
import { Cron } from "croner";

export type Recurrence =
  | { kind: "once" }
  | { kind: "interval"; seconds: number }
  | { kind: "cron"; expression: string; timezone: string };

/** A job's recurrence from its stored or submitted fields (a cron without a zone runs in UTC). */
export function recurrenceOf(job: {
  intervalSeconds?: number | null;
  cron?: string | null;
  timezone?: string | null;
}): Recurrence {
  if (job.intervalSeconds != null) return { kind: "interval", seconds: job.intervalSeconds };
  if (job.cron != null) return { kind: "cron", expression: job.cron, timezone: job.timezone ?? "UTC" };
  return { kind: "once" };
}

// Expressions are stored per job and parsed on every reschedule; bound the work a caller can ask for.
const MAX_EXPRESSION_LENGTH = 256;
// Any 5-field pattern that matches at all matches within one 400-year Gregorian cycle, so searching
// from a fixed date tells "never matches" (e.g. `0 0 30 2 *`) apart from "rare" without needing `now`.
const VALIDATION_REFERENCE = new Date(Date.UTC(2000, 0, 1));

function compile(expression: string, timezone: string): Cron {
  return new Cron(expression, {
    timezone,
    mode: "5-part",
    // Makes lists/ranges such as `30 1,13 * * *` fixed-time too, so they never double-run at fall back.
    fixedTimeRule: "no-wildcard",
    paused: true,
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function timezoneError(timezone: string): string | null {
  if (typeof timezone !== "string" || timezone.length === 0) return "timezone must be a non-empty string";
  // Newer Intl accepts offsets like "+01:00", which have no DST and are not IANA names: require a name.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(timezone)) return `unknown time zone "${timezone}"`;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return null;
  } catch {
    return `unknown time zone "${timezone}"`;
  }
}

/** The usual mistake, said plainly: a cron with seconds (6 fields) or years (7) from another scheduler. */
function fieldCountError(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields[0]?.startsWith("@") || fields.length === 5) return null;
  const extra =
    fields.length === 6 || fields.length === 7
      ? "; seconds and years are not supported, so drop the leading seconds field (and any trailing year)"
      : "";
  return `cron takes 5 fields (minute hour day-of-month month day-of-week), "${expression}" has ${fields.length}${extra}`;
}

/** Returns an error message, or null when `expression` is a valid 5-field cron and `timezone` a valid IANA zone. */
export function cronError(expression: string, timezone: string): string | null {
  const tzError = timezoneError(timezone);
  if (tzError) return tzError;
  if (typeof expression !== "string" || expression.trim().length === 0) return "cron expression is empty";
  if (expression.length > MAX_EXPRESSION_LENGTH) return "cron expression is too long";
  const fieldCountProblem = fieldCountError(expression);
  if (fieldCountProblem) return fieldCountProblem;
  try {
    if (compile(expression, timezone).nextRun(VALIDATION_REFERENCE) === null) {
      return `cron expression "${expression}" never matches`;
    }
    return null;
  } catch (err) {
    return `invalid cron expression "${expression}": ${message(err)}`;
  }
}

/** The first cron match at or after `from`, or null past croner's search horizon (year 3000). */
function cronAtOrAfter(rec: { expression: string; timezone: string }, from: number): number | null {
  // croner searches strictly after its reference, truncated to the second; matches fall on whole
  // seconds, so starting 1 ms earlier makes a match exactly at `from` count.
  const next = compile(rec.expression, rec.timezone).nextRun(new Date(from - 1));
  if (next === null) return null;
  const at = next.getTime();
  if (!(at >= from))
    throw new Error(`croner returned ${next.toISOString()} before ${new Date(from).toISOString()}`);
  return at;
}

function intervalMs(seconds: number): number {
  const ms = Math.round(seconds * 1000);
  // A zero, negative or NaN period would make nextRunAt return the same slot forever.
  if (!Number.isFinite(ms) || ms < 1) throw new RangeError(`interval must be a positive number of seconds`);
  return ms;
}

/** First execution time (epoch ms) for a new job, from `from` = max(requestedRunAt ?? now, now). once/interval: `from`. cron: the first cron time >= `from`. */
export function firstRunAt(rec: Recurrence, requestedRunAt: number | undefined, now: number): number {
  // A run_at in the past means "now" (the contract): it never claims lateness it did not suffer,
  // which would also inflate its aged priority.
  const from = Math.max(requestedRunAt ?? now, now);
  if (rec.kind !== "cron") return from;
  const at = cronAtOrAfter(rec, from);
  if (at === null) throw new RangeError(`cron expression "${rec.expression}" has no run after ${from}`);
  return at;
}

/**
 * The next occurrence after an occurrence scheduled at `previous` has finished at `now`, or null
 * for `once` (and for a cron with no match left before croner's year-3000 horizon).
 * interval: previous + k*interval, the smallest such time > previous and >= now (no drift, no burst).
 * cron: the first match > previous and >= now (missed matches skipped).
 */
export function nextRunAt(rec: Recurrence, previous: number, now: number): number | null {
  switch (rec.kind) {
    case "once":
      return null;
    case "interval": {
      const step = intervalMs(rec.seconds);
      const k = Math.max(1, Math.ceil((now - previous) / step));
      const at = previous + k * step;
      // Float division can round a quotient just above an integer down onto it; never land before now.
      return at < now ? at + step : at;
    }
    case "cron":
      return cronAtOrAfter(rec, Math.max(previous + 1, now));
  }
}

/**
 * The first nominal occurrence strictly after `t` on the grid anchored at `previous` (itself a nominal
 * time), or null for `once`. Never `previous` itself.
 */
export function nominalAfter(rec: Recurrence, previous: number, t: number): number | null {
  return nextRunAt(rec, previous, Math.max(previous, t) + 1);
}

/**
 * The latest nominal occurrence in (previous, t] on the grid anchored at `previous`, or null when there
 * is none (or for `once`). interval: previous + k*interval with the largest such k ≥ 1; cron: croner's
 * previous match at or before `t` (the same DST rule as nextRunAt), if after `previous`.
 */
export function latestNominalUpTo(rec: Recurrence, previous: number, t: number): number | null {
  if (t <= previous) return null;
  switch (rec.kind) {
    case "once":
      return null;
    case "interval": {
      const step = intervalMs(rec.seconds);
      let at = previous + Math.floor((t - previous) / step) * step;
      // Float division can round a quotient just below an integer up onto it; never land after t.
      if (at > t) at -= step;
      return at > previous ? at : null;
    }
    case "cron": {
      // croner looks strictly before its reference, truncated to the second: 1 s on makes t itself count.
      const [match] = compile(rec.expression, rec.timezone).previousRuns(1, new Date(t + 1000));
      let at = match?.getTime() ?? null;
      if (at !== null && at > t) {
        const [earlier] = compile(rec.expression, rec.timezone).previousRuns(1, new Date(at));
        at = earlier?.getTime() ?? null;
      }
      return at !== null && at > previous ? at : null;
    }
  }
}
