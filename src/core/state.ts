// The job state machine. Pure: no runtime imports, time and randomness come in as arguments.
//
//   scheduled ──claim──▶ queued ──begin──▶ running ──settle──▶ succeeded | failed | scheduled
//       ▲                  │                                      (retry or next occurrence)
//       └──── requeue ─────┘   (message lost or never sent; fencing makes the old one stale)
//   any unfinished status ──cancel──▶ cancelled
//   scheduled | queued | running ──pause──▶ paused ──resume──▶ scheduled
//       (a paused job is never claimed; a queued one's dispatch is withdrawn; a running attempt
//        finishes and settles: paused again, or succeeded/failed for a one-shot job)
//   failed | cancelled ──retry──▶ scheduled   (one-shot jobs: a new occurrence, history kept)
import { retryAt } from "./backoff";
import { type Failure, failsAtOnce, type RetryPolicy } from "./retry-policy";
import { latestNominalUpTo, nextRunAt, nominalAfter, type Recurrence } from "./schedule";

export const JOB_STATUSES = [
  "scheduled",
  "queued",
  "running",
  "paused",
  "succeeded",
  "failed",
  "cancelled",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ATTEMPT_STATUSES = ["running", "succeeded", "failed", "timed_out", "cancelled"] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  // scheduled → failed: an expired one-shot occurrence (src/core/expiry.ts) fails where it would be claimed.
  scheduled: ["queued", "failed", "cancelled", "paused"],
  queued: ["running", "scheduled", "cancelled", "paused"],
  running: ["succeeded", "failed", "scheduled", "cancelled", "paused"],
  // paused → succeeded | failed | paused: the attempt that was running when the job was paused ends.
  // paused → running: resumed while that attempt still runs.
  paused: ["scheduled", "running", "cancelled", "succeeded", "failed", "paused"],
  succeeded: [],
  // Only an explicit retry leaves these; nothing the scheduler does on its own does.
  failed: ["scheduled"],
  cancelled: ["scheduled"],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

const FINAL: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

/** Finished: the scheduler never moves the job again (a user's retry may, see `retried`). */
export function isFinished(status: JobStatus): boolean {
  return FINAL.includes(status);
}

/** The statuses a job never leaves (kept for retention, then removed). */
export const FINISHED_STATUSES = JOB_STATUSES.filter(isFinished);

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`a ${from} job cannot become ${to}`);
    this.name = "IllegalTransitionError";
  }
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

// --- recurring jobs: overlap and catch-up (docs/design.md "Recurring jobs: overlap and catch-up") -----

/** What an occurrence does when the previous one still runs. */
export const OVERLAP_POLICIES = ["skip", "buffer_one", "cancel_other"] as const;
export type Overlap = (typeof OVERLAP_POLICIES)[number];
/** What happens to occurrences missed while paused or down. */
export const CATCH_UP_POLICIES = ["none", "one", "all"] as const;
export type CatchUp = (typeof CATCH_UP_POLICIES)[number];

/** A recurring job's overlap and catch-up settings (a one-shot job has the defaults). */
export interface RecurringPolicy {
  overlap: Overlap;
  catchUp: CatchUp;
  catchUpWindowSeconds: number;
}

export const DEFAULT_RECURRING_POLICY: RecurringPolicy = {
  overlap: "skip",
  catchUp: "none",
  catchUpWindowSeconds: 3600,
};

/** Where a recurring job goes when an occurrence is over: its run time and the nominal time it serves. */
export interface NextOccurrence {
  runAt: number;
  occurrenceAt: number;
}

/**
 * The occurrence after the one at nominal time `occurrenceAt`, whose latest attempt began at `begunAt`
 * (null: none began, as for an expired occurrence) and that ended at `now`. Nominal times in
 * (occurrenceAt, begunAt] were missed before it started (catch_up's domain); those in (begunAt, now]
 * came due while it ran (overlap's domain). In that order:
 * - catch_up `all`: the oldest missed one within the window (nominal ≥ now − window) runs now; the next
 *   is decided when it ends (one at a time, oldest first);
 * - catch_up `one`: if any was missed, one run now for all of them, serving the latest nominal ≤ now;
 * - overlap `buffer_one` (and `cancel_other`, whose attempt the next occurrence did not get to cancel):
 *   if any came due while it ran, one run now serving the latest of them (never more than one);
 * - otherwise (`skip`, `none`, nothing missed): the first nominal at or after now, missed ones skipped.
 * Null for a one-shot job (or a cron with no match left).
 */
export function followingOccurrence(
  rec: Recurrence,
  occurrenceAt: number,
  begunAt: number | null,
  now: number,
  policy: RecurringPolicy,
): NextOccurrence | null {
  if (rec.kind === "once") return null;
  const began = Math.min(Math.max(begunAt ?? now, occurrenceAt), now);
  if (policy.catchUp === "all") {
    const oldest = nominalAfter(rec, occurrenceAt, now - policy.catchUpWindowSeconds * 1000 - 1);
    if (oldest !== null && oldest <= began) return { runAt: now, occurrenceAt: oldest };
  }
  if (policy.catchUp === "one") {
    const first = nominalAfter(rec, occurrenceAt, occurrenceAt);
    if (first !== null && first <= began)
      return { runAt: now, occurrenceAt: latestNominalUpTo(rec, occurrenceAt, now) ?? first };
  }
  if (policy.overlap !== "skip") {
    const latest = latestNominalUpTo(rec, occurrenceAt, now);
    if (latest !== null && latest > began) return { runAt: now, occurrenceAt: latest };
  }
  const next = nextRunAt(rec, occurrenceAt, now);
  return next === null ? null : { runAt: next, occurrenceAt: next };
}

/**
 * overlap `cancel_other`: the time at which the next occurrence comes due and replaces an attempt of
 * this one that is still queued or running (its deadline is at most this); null for any other policy.
 * The next occurrence is the first nominal after the attempt's due time, or, for an extra occurrence
 * (`run`), the nominal one it was run ahead of.
 */
export function overlapCutoff(job: {
  recurrence: Recurrence;
  overlap: Overlap;
  occurrenceAt: number;
  runAt: number;
  extraRun: boolean;
}): number | null {
  if (job.overlap !== "cancel_other" || job.recurrence.kind === "once") return null;
  if (job.extraRun && job.occurrenceAt > job.runAt) return job.occurrenceAt;
  return nominalAfter(job.recurrence, job.occurrenceAt, job.runAt);
}

/**
 * overlap `cancel_other`, at `now` ≥ the cutoff: the attempt in flight is cancelled (the caller moves
 * the fence on and releases its units) and the next occurrence is due now, serving the latest nominal
 * time ≤ now. The replaced occurrence is over (runs and the occurrence number advance, so the new
 * one's webhook id differs); retries and an extra run are reset.
 */
export function overlapReplaced(
  job: { recurrence: Recurrence; occurrenceAt: number; runAt: number; extraRun: boolean },
  now: number,
): Settlement & { status: "scheduled"; runAt: number } {
  const cutoff = overlapCutoff({ ...job, overlap: "cancel_other" }) ?? now;
  const occurrenceAt = Math.max(cutoff, latestNominalUpTo(job.recurrence, cutoff, now) ?? cutoff);
  return { status: "scheduled", runAt: now, occurrenceAt, currentRetries: 0, occurrenceFinished: true };
}

/** What the shard knows about a job when one of its attempts ends. */
export interface SettleInput {
  recurrence: Recurrence;
  occurrenceAt: number;
  maxRetries: number;
  currentRetries: number;
  retryDelaySeconds: number;
  retryPolicy: RetryPolicy;
  /**
   * The occurrence is an extra one (`run` on a recurring job): when it is over, the job returns to
   * its nominal occurrence (`occurrenceAt`) instead of the one after it, so the schedule never shifts.
   */
  extraRun?: boolean;
  /** overlap and catch-up (followingOccurrence); the defaults when absent. */
  policy?: RecurringPolicy;
  /** When the attempt that ended began (jobs.last_run_at); null or absent: none began (now). */
  begunAt?: number | null;
}

/** How an attempt ended; a failure says whether it can be retried at all (src/core/retry-policy.ts). */
export type AttemptResult = { ok: true } | ({ ok: false; retryAfterMs?: number } & Failure);

/** Where the job goes next. `runAt` is null exactly when the job is finished. */
export interface Settlement {
  status: "succeeded" | "failed" | "scheduled";
  runAt: number | null;
  occurrenceAt: number;
  currentRetries: number;
  /** True when the occurrence is over (success or retries exhausted): runs and occurrence advance. */
  occurrenceFinished: boolean;
}

/**
 * Decides what follows an attempt. A failure retries the same occurrence with backoff until
 * max_retries is spent, unless it fails at once (permanent, or a client error under retry_policy
 * `transient`); then a one-shot job fails and a recurring one moves to its next occurrence. An
 * expired occurrence is settled as a permanent failure.
 */
export function settle(
  job: SettleInput,
  result: AttemptResult,
  now: number,
  random: () => number,
): Settlement {
  const retryable = !result.ok && !failsAtOnce(job.retryPolicy, result);
  if (retryable && job.currentRetries < job.maxRetries) {
    const retry = job.currentRetries + 1;
    return {
      status: "scheduled",
      runAt: retryAt(now, job.retryDelaySeconds, retry, result.retryAfterMs, random),
      occurrenceAt: job.occurrenceAt,
      currentRetries: retry,
      occurrenceFinished: false,
    };
  }
  if (job.extraRun && job.recurrence.kind !== "once") {
    // Back to the nominal occurrence; if it came due meanwhile it runs at once (one run, no burst).
    return {
      status: "scheduled",
      runAt: job.occurrenceAt,
      occurrenceAt: job.occurrenceAt,
      currentRetries: 0,
      occurrenceFinished: true,
    };
  }
  const next = followingOccurrence(
    job.recurrence,
    job.occurrenceAt,
    job.begunAt ?? null,
    now,
    job.policy ?? DEFAULT_RECURRING_POLICY,
  );
  if (next === null) {
    return {
      status: result.ok ? "succeeded" : "failed",
      runAt: null,
      occurrenceAt: job.occurrenceAt,
      currentRetries: job.currentRetries,
      occurrenceFinished: true,
    };
  }
  return {
    status: "scheduled",
    runAt: next.runAt,
    occurrenceAt: next.occurrenceAt,
    currentRetries: 0,
    occurrenceFinished: true,
  };
}

/**
 * The status an attempt's end leaves the job in: what settle decided, except that a job paused while
 * the attempt ran stays paused instead of being scheduled again (a finished one-shot job still ends).
 */
export function settledStatus(current: JobStatus, next: Settlement["status"]): JobStatus {
  return current === "paused" && next === "scheduled" ? "paused" : next;
}

// --- job controls (POST /v1/jobs/:id/pause|resume|run|retry) ----------------------------------------

/** The scheduling fields the controls read and write. */
export interface ScheduleState {
  status: JobStatus;
  recurrence: Recurrence;
  runAt: number;
  occurrenceAt: number;
  occurrence: number;
  currentRetries: number;
  extraRun: boolean;
  /** overlap and catch-up: resume follows catch_up. The defaults when absent. */
  policy?: RecurringPolicy;
}

/** Where a control moves a job's schedule; the caller writes these fields as they are. */
export type ScheduleChange = Omit<ScheduleState, "recurrence" | "policy">;

export type ControlRefusal = "finished" | "busy" | "paused" | "not_retryable";
export type ControlOutcome = { ok: true; change: ScheduleChange } | { ok: false; reason: ControlRefusal };

const { max } = Math;

/**
 * pause: any unfinished job. The status becomes paused whatever the job was doing; the caller
 * withdraws a queued dispatch and lets a running attempt finish (its report settles into paused).
 */
export function paused(job: ScheduleState): ControlOutcome {
  if (isFinished(job.status)) return { ok: false, reason: "finished" };
  return { ok: true, change: { ...strip(job), status: "paused" } };
}

/**
 * resume: a paused job is scheduled again. A one-shot job keeps its run_at (or a pending retry's
 * time), or runs now if that has passed. A recurring job follows its catch_up (resumedOccurrence):
 * by default it goes to its first nominal occurrence at or after now, missed ones skipped, never burst. A retry or extra run left unfinished by the
 * pause is abandoned; if it had an attempt, the occurrence number moves on so webhook ids stay unique.
 */
export function resumed(job: ScheduleState, now: number, hasRunningAttempt: boolean): ControlOutcome {
  if (isFinished(job.status)) return { ok: false, reason: "finished" };
  // Resuming a job that is not paused changes nothing (a repeated resume is harmless).
  if (job.status !== "paused") return { ok: true, change: strip(job) };
  // The attempt that was running at the pause still is: the job is simply running again.
  if (hasRunningAttempt) return { ok: true, change: { ...strip(job), status: "running" } };
  const base = { ...strip(job), status: "scheduled" as const };
  if (job.recurrence.kind === "once") return { ok: true, change: { ...base, runAt: max(job.runAt, now) } };
  const { runAt, occurrenceAt } = resumedOccurrence(job, now);
  const abandoned = job.currentRetries > 0;
  return {
    ok: true,
    change: {
      ...base,
      runAt,
      occurrenceAt,
      currentRetries: 0,
      extraRun: false,
      occurrence: abandoned ? job.occurrence + 1 : job.occurrence,
    },
  };
}

/**
 * Where a recurring job resumes. Nominal times in [occurrenceAt, now) were missed while it was paused:
 * catch_up `none` skips them (the first nominal at or after now); `one` runs once now, serving the
 * latest of them; `all` runs the oldest within the window (nominal ≥ now − window) now, and settle
 * takes the rest in turn, one at a time.
 */
function resumedOccurrence(job: ScheduleState, now: number): NextOccurrence {
  const rec = job.recurrence;
  const occurrenceAt = job.occurrenceAt;
  if (occurrenceAt >= now) return { runAt: occurrenceAt, occurrenceAt };
  const policy = job.policy ?? DEFAULT_RECURRING_POLICY;
  if (policy.catchUp === "one")
    return { runAt: now, occurrenceAt: latestNominalUpTo(rec, occurrenceAt, now) ?? occurrenceAt };
  if (policy.catchUp === "all") {
    const from = now - policy.catchUpWindowSeconds * 1000;
    const oldest = occurrenceAt >= from ? occurrenceAt : nominalAfter(rec, occurrenceAt, from - 1);
    if (oldest !== null && oldest < now) return { runAt: now, occurrenceAt: oldest };
  }
  const nominal = nextRunAt(rec, occurrenceAt, now) ?? now;
  return { runAt: nominal, occurrenceAt: nominal };
}

/**
 * run: a scheduled job runs now. A one-shot job (or a recurring job waiting on a retry) moves its
 * run_at to now. A recurring job gets one extra occurrence now; its nominal next occurrence is kept
 * in occurrenceAt and comes back when the extra one is over (settle), so the schedule never shifts.
 * An extra occurrence takes the next occurrence number like any other, so webhook ids stay unique;
 * asking again before it runs changes nothing.
 */
export function ranNow(job: ScheduleState, now: number): ControlOutcome {
  if (isFinished(job.status)) return { ok: false, reason: "finished" };
  if (job.status === "paused") return { ok: false, reason: "paused" };
  if (job.status !== "scheduled") return { ok: false, reason: "busy" };
  const base = strip(job);
  if (job.recurrence.kind === "once" || job.currentRetries > 0 || job.extraRun)
    return { ok: true, change: { ...base, runAt: Math.min(job.runAt, now) } };
  // The nominal occurrence is due already: it is the run asked for.
  if (job.runAt <= now) return { ok: true, change: base };
  return { ok: true, change: { ...base, runAt: now, extraRun: true } };
}

/**
 * retry: a failed or cancelled one-shot job runs again now, as a new occurrence (its own webhook
 * id) with its retries reset. Its attempts stay as they are: the history is kept.
 */
export function retried(job: ScheduleState, now: number): ControlOutcome {
  if (job.recurrence.kind !== "once" || (job.status !== "failed" && job.status !== "cancelled"))
    return { ok: false, reason: "not_retryable" };
  return {
    ok: true,
    change: {
      ...strip(job),
      status: "scheduled",
      runAt: now,
      occurrenceAt: now,
      currentRetries: 0,
      extraRun: false,
      occurrence: job.occurrence + 1,
    },
  };
}

function strip({ recurrence: _, policy: _p, ...rest }: ScheduleState): ScheduleChange {
  return rest;
}
