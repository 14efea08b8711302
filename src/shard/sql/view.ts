// Shard rows → the contract's job object.
//
// viewJob(db, job) → JobView
//   the job's latest attempt from its row, then ≤ ATTEMPTS_SHOWN - 1 (19) earlier attempts rows, newest
//   first (by their key); none read when the latest is the job's first attempt (or none began).
//   Rows written: 0.
// recentAttempts(db, job) → AttemptRow[]
//   the same read. Rows written: 0.
// Helper (no SQL): toJobView.

import { iso, isoOrNull, type JobView, nextRunAtOf } from "../../core/job";
import type { ShardDb } from "../db";
import type { AttemptRow, JobRow } from "../schema";
import { earlierAttempts, latestAttempt } from "./attempt-history";

export const ATTEMPTS_SHOWN = 20;

/**
 * The job as the user sees it: a PATCH still waiting for its attempt to end already shows (it applies
 * to the next attempt), though the attempt in flight runs with the row's own fields.
 */
export function toJobView(row: JobRow, recent: AttemptRow[]): JobView {
  const job: JobRow = row.pendingPatch ? { ...row, ...row.pendingPatch } : row;
  return {
    id: job.id,
    user_id: job.userId,
    name: job.name,
    type: job.type,
    status: job.status,
    priority: job.priority,
    payload: job.payload ?? null,
    run_at: iso(job.runAt),
    next_run_at: nextRunAtOf(job.status, job.runAt),
    interval_seconds: job.intervalSeconds,
    cron: job.cron,
    timezone: job.cron === null ? null : job.timezone,
    max_retries: job.maxRetries,
    current_retries: job.currentRetries,
    retry_delay_seconds: job.retryDelaySeconds,
    timeout_seconds: job.timeoutSeconds,
    result_location: job.resultLocation,
    result: job.result ?? null,
    last_error: job.lastError,
    resources: job.resources,
    runs: job.runs,
    last_run_at: isoOrNull(job.lastRunAt),
    labels: job.labels,
    callback_url: job.callbackUrl,
    retry_policy: job.retryPolicy,
    expires_after_seconds: job.expiresAfterSeconds,
    flow_control: job.flowControl,
    debounce: job.debounce,
    overlap: job.overlap,
    catch_up: job.catchUp,
    catch_up_window_seconds: job.catchUpWindowSeconds,
    depends_on: job.dependsOn ?? [],
    on_dependency_failure: job.onDependencyFailure,
    blocked_by: job.blockedBy ?? [],
    traceparent: job.traceparent,
    tracestate: job.tracestate,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    attempts: recent.map((a) => ({
      number: a.number,
      status: a.status,
      scheduled_at: iso(a.scheduledAt),
      started_at: iso(a.startedAt),
      finished_at: isoOrNull(a.finishedAt),
      lateness_ms: a.latenessMs,
      error: a.error,
      resources: a.resources,
    })),
  };
}

/**
 * The job's latest ATTEMPTS_SHOWN attempts, newest first: its latest from its row, then the earlier
 * ones from the attempts table (all numbered below it: attempt-history.ts). The first attempt has
 * none before it (numbers start at 1), so a job that ran once is viewed without reading any.
 */
export function recentAttempts(db: ShardDb, job: JobRow): AttemptRow[] {
  const latest = latestAttempt(job);
  if (latest === null) return [];
  if (latest.number <= 1) return [latest];
  return [latest, ...earlierAttempts(db, job.id, latest.number, ATTEMPTS_SHOWN - 1)];
}

export function viewJob(db: ShardDb, job: JobRow): JobView {
  return toJobView(job, recentAttempts(db, job));
}
