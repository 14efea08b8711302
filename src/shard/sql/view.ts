// Shard rows → the contract's job object.
//
// viewJob(db, job) → JobView
//   reads ≤ ATTEMPTS_SHOWN (20) attempts rows of the job, newest first (by their key). Rows written: 0.
// recentAttempts(db, jobId) → AttemptRow[]
//   the same read. Rows written: 0.
// Helper (no SQL): toJobView.

import { desc, eq } from "drizzle-orm";
import { iso, isoOrNull, type JobView, nextRunAtOf } from "../../core/job";
import type { ShardDb } from "../db";
import { type AttemptRow, attempts, type JobRow } from "../schema";

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

export function recentAttempts(db: ShardDb, jobId: string): AttemptRow[] {
  return db
    .select()
    .from(attempts)
    .where(eq(attempts.jobId, jobId))
    .orderBy(desc(attempts.number))
    .limit(ATTEMPTS_SHOWN)
    .all();
}

export function viewJob(db: ShardDb, job: JobRow): JobView {
  return toJobView(job, recentAttempts(db, job.id));
}
