// Flow control per key (docs/design.md "Flow control per key"): may one more attempt of a key start?
// Pure: the shard's claimDue feeds it the key's use from SQLite, the tests feed it a model's; `now` is
// an argument.
//
// A key's use has three parts:
// - holders: attempts that hold one of the key's slots: claimed (queued, the message in flight) or
//   begun and not ended. A slot is taken at the claim and given back when the attempt ends in any way.
// - notBegun: the holders that have not begun yet. Each will be a start when it begins.
// - starts: the key's start log, the times attempts of the key began, as [time, count] pairs in time
//   order, kept only as far back as the longest period among the key's jobs.
// A start is a begin (the moment the consumer is about to call the target), not a claim: a claim waits
// in the queue for a varying time, so spacing claims would not space the calls the target sees. A claim
// is admitted only when the starts in the window ending now plus every claim not yet begun stay below
// the rate; each of those claims begins later than now, when the window ending at its begin holds no
// more starts than the one ending now did, plus the claims counted here: so in every window of
// `period` there are at most `rate` begins, by construction.
import { z } from "zod";

export const FlowControlSchema = z.object({
  key: z.string(),
  concurrency: z.int().nullable(),
  rate: z.int().nullable(),
  period_seconds: z.int(),
});

/** A job's flow control as the job object shows it (absent limits as null). */
export type FlowControl = z.infer<typeof FlowControlSchema>;

/** A start log: [time, count] pairs in increasing time, one pair per distinct begin time. */
export type StartLog = readonly (readonly [at: number, count: number])[];

export interface FlowUse {
  holders: number;
  notBegun: number;
  starts: StartLog;
}

export interface FlowLimits {
  concurrency: number | null;
  rate: number | null;
  periodMs: number;
}

/** The submit's flow_control with its defaults filled in (absent limits as null, period 1 s). */
export function flowControlOf(f: {
  key: string;
  concurrency?: number | undefined;
  rate?: number | undefined;
  period_seconds?: number | undefined;
}): FlowControl {
  return {
    key: f.key,
    concurrency: f.concurrency ?? null,
    rate: f.rate ?? null,
    period_seconds: f.period_seconds ?? 1,
  };
}

/**
 * Gated: the claim must decide whether the job may go (it names a pool, or a flow-control key), so it
 * lives on the home shard and is marked in the row (jobs.needs_pools) for the claim and the alarm.
 */
export const isGated = (job: { resources: Record<string, number>; flowControl: FlowControl | null }) =>
  Object.keys(job.resources).length > 0 || job.flowControl !== null;

export const limitsOf = (f: FlowControl): FlowLimits => ({
  concurrency: f.concurrency,
  rate: f.rate,
  periodMs: f.period_seconds * 1000,
});

/** Starts strictly after `since` (a window (since, now] holds them). */
export function startsAfter(log: StartLog, since: number): number {
  let n = 0;
  for (let i = log.length - 1; i >= 0; i--) {
    const entry = log[i];
    if (!entry || entry[0] <= since) break;
    n += entry[1];
  }
  return n;
}

export type Admission = { ok: true } | { ok: false; reopensAt: number | null };

/**
 * admit: whether one more attempt of the key may be claimed at `now` under `limits`. When it may not,
 * `reopensAt` is the first time the rate lets one through with nothing else changing (an old start
 * leaves the window), or null when only an event can (an attempt ends, a claimed one begins).
 */
export function admit(use: FlowUse, limits: FlowLimits, now: number): Admission {
  if (limits.concurrency !== null && use.holders >= limits.concurrency) return { ok: false, reopensAt: null };
  if (limits.rate === null) return { ok: true };
  const inWindow = startsAfter(use.starts, now - limits.periodMs) + use.notBegun;
  if (inWindow < limits.rate) return { ok: true };
  if (use.notBegun >= limits.rate) return { ok: false, reopensAt: null };
  // The oldest starts in the window must leave it: the one that brings the count below the rate
  // leaves at its time + period.
  let excess = inWindow - limits.rate + 1;
  for (const [at, count] of use.starts) {
    if (at <= now - limits.periodMs) continue;
    excess -= count;
    if (excess <= 0) return { ok: false, reopensAt: at + limits.periodMs };
  }
  return { ok: false, reopensAt: null };
}

/** The use after one more claim of the key. */
export const claimed = (use: FlowUse): FlowUse => ({
  ...use,
  holders: use.holders + 1,
  notBegun: use.notBegun + 1,
});

/** The log without starts at or before `now - keepMs`: no window of `keepMs` ending now or later holds them. */
export function pruned(log: StartLog, now: number, keepMs: number): StartLog {
  const since = now - keepMs;
  const first = log.findIndex(([at]) => at > since);
  return first === -1 ? [] : first === 0 ? log : log.slice(first);
}

/** The log with one start at `at` (never before the latest: begins are recorded in time order). */
export function withStart(log: StartLog, at: number, keepMs: number): StartLog {
  const kept = pruned(log, at, keepMs);
  const last = kept[kept.length - 1];
  if (last && last[0] >= at) return [...kept.slice(0, -1), [last[0], last[1] + 1]];
  return [...kept, [at, 1]];
}
