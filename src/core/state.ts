// The job state machine. Pure: no runtime imports, time and randomness come in as arguments.
//
//   scheduled ──claim──▶ queued ──begin──▶ running ──settle──▶ succeeded | failed | scheduled
//       ▲                  │                                      (retry or next occurrence)
//       └──── requeue ─────┘   (message lost or never sent; fencing makes the old one stale)
//   any unfinished status ──cancel──▶ cancelled
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
  scheduled: ["queued", "failed", "cancelled"],
  queued: ["running", "scheduled", "cancelled"],
  running: ["succeeded", "failed", "scheduled", "cancelled"],
  // Transitions in and out of paused arrive with the job-control commands (issue 10).
  paused: ["cancelled"],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isFinished(status: JobStatus): boolean {
  return TRANSITIONS[status].length === 0;
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
