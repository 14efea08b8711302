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
import { nextRunAt, type Recurrence } from "./schedule";

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
  const next = nextRunAt(job.recurrence, job.occurrenceAt, now);
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
    runAt: next,
    occurrenceAt: next,
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
}

/** Where a control moves a job's schedule; the caller writes these fields as they are. */
export type ScheduleChange = Omit<ScheduleState, "recurrence">;

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
 * time), or runs now if that has passed. A recurring job goes to its first nominal occurrence at
 * or after now: missed ones are skipped, never burst. A retry or extra run left unfinished by the
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
  const nominal =
    job.occurrenceAt >= now ? job.occurrenceAt : (nextRunAt(job.recurrence, job.occurrenceAt, now) ?? now);
  const abandoned = job.currentRetries > 0;
  return {
    ok: true,
    change: {
      ...base,
      runAt: nominal,
      occurrenceAt: nominal,
      currentRetries: 0,
      extraRun: false,
      occurrence: abandoned ? job.occurrence + 1 : job.occurrence,
    },
  };
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

function strip({ recurrence: _, ...rest }: ScheduleState): ScheduleChange {
  return rest;
}
