// PATCH /v1/jobs/:id in the shard's terms: which fields may change, and how a schedule change moves a
// job's next run. Pure: `now` is an argument.
import type { FlowControl } from "./flow-control";
import type { RetryPolicy } from "./retry-policy";
import { firstRunAt, type Recurrence } from "./schedule";
import type { CatchUp, Overlap } from "./state";

/** The fields a PATCH may set, named as the shard's row names them; null clears a nullable one. */
export interface JobPatch {
  runAt?: number;
  priority?: number;
  payload?: unknown;
  intervalSeconds?: number | null;
  cron?: string | null;
  timezone?: string | null;
  maxRetries?: number;
  retryDelaySeconds?: number;
  timeoutSeconds?: number;
  name?: string | null;
  resources?: Record<string, number>;
  labels?: Record<string, string>;
  callbackUrl?: string | null;
  retryPolicy?: RetryPolicy;
  expiresAfterSeconds?: number | null;
  flowControl?: FlowControl | null;
  overlap?: Overlap;
  catchUp?: CatchUp;
  catchUpWindowSeconds?: number;
}

const SCHEDULE_FIELDS = ["runAt", "intervalSeconds", "cron", "timezone"] as const;

/** True when the patch moves the job's schedule (its next run must be computed again). */
export function changesSchedule(patch: JobPatch): boolean {
  return SCHEDULE_FIELDS.some((f) => f in patch);
}

/** A later patch over an earlier one still waiting for its attempt to end: the later wins per field. */
export function mergePatches(earlier: JobPatch | null, later: JobPatch): JobPatch {
  return { ...(earlier ?? {}), ...later };
}

export interface NextRun {
  runAt: number;
  occurrenceAt: number;
  occurrence: number;
  currentRetries: number;
  extraRun: false;
}

/**
 * A job's next run after its schedule changed. An explicit run_at anchors the new schedule there (in
 * the past: now); otherwise the new schedule starts from the job's nominal occurrence (or now, if
 * that has passed), so changing an interval or a cron never runs the job early by surprise. A
 * pending retry or extra run is replaced by the new schedule; if that occurrence had an attempt, the
 * occurrence number moves on so webhook ids stay unique.
 */
export function rescheduled(
  job: { occurrenceAt: number; occurrence: number; currentRetries: number },
  recurrence: Recurrence,
  requestedRunAt: number | undefined,
  now: number,
): NextRun {
  const at = firstRunAt(recurrence, requestedRunAt ?? job.occurrenceAt, now);
  return {
    runAt: at,
    occurrenceAt: at,
    occurrence: job.currentRetries > 0 ? job.occurrence + 1 : job.occurrence,
    currentRetries: 0,
    extraRun: false,
  };
}

/** Where a retry goes when a PATCH of run_at waited for the attempt that failed (see below). */
export interface PatchedRetry {
  runAt: number;
  occurrenceAt: number;
  extraRun: false;
}

/**
 * The retry of an attempt that ended while a PATCH of run_at waited for it: it goes out at the
 * patched time (in the past: now), the run_at the PATCH answered with, and never sooner than a
 * Retry-After the target asked for. It stays a retry of the same occurrence (the same webhook-id, one
 * more of max_retries spent): the PATCH moved when the job next runs, not what that run is. The
 * patched time becomes the occurrence's nominal time, so a recurring job's schedule is anchored
 * there as a PATCH of run_at anchors it on a job with nothing in flight (and an extra run, `run`,
 * merges into it).
 */
export function patchedRetry(
  recurrence: Recurrence,
  requestedRunAt: number,
  now: number,
  retryAfterMs: number | undefined,
): PatchedRetry {
  const occurrenceAt = firstRunAt(recurrence, requestedRunAt, now);
  const serverAsks =
    retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(0, retryAfterMs) : 0;
  return { runAt: Math.max(occurrenceAt, now + serverAsks), occurrenceAt, extraRun: false };
}
