// A job's attempts, kept in two places: its latest attempt (the last one that began) in its own row
// (jobs.last_attempt_*, its start being last_run_at), the earlier ones as rows of the attempts table.
// Together they are the attempts table as it was before (one row per attempt that began): begin writes
// the new attempt into the job row with the update it makes anyway, and first copies the attempt it
// replaces into the attempts table; finish and cancel end it in the job row. A job with k attempts so
// writes k - 1 attempt rows, each once, instead of 2k.
//
// latestAttempt(job) → AttemptRow | null
//   no SQL: the job row's latest attempt, shaped as an attempts row.
// Both statements are built once per database (prepared.ts).
// keepLatest(db, jobId) → void
//   reads jobs[id]; writes attempts (+1 row: the job's latest attempt, as its row holds it; WITHOUT
//   ROWID, so one row written). Rows written: 1; 0 when the job has no attempt yet.
// earlierAttempts(db, jobId, before, limit) → AttemptRow[]
//   reads ≤ limit attempts rows of the job numbered below `before`, newest first (by their key).
//   Rows written: 0.
// Helper (no SQL): latenessOf.
//
// Invariant: attempt numbers only grow (each claim takes the next), and an attempt row is written only
// when a later attempt begins, so every attempts row of a job is numbered below the job's
// last_attempt_number, and a job whose latest attempt is number 1 has no attempts rows.
import { and, eq, isNotNull, lt, sql } from "drizzle-orm";
import type { ShardDb } from "../db";
import { type AttemptRow, attempts, type JobRow, jobs } from "../schema";
import { prepared } from "./prepared";

/** An attempt's lateness: how long after its scheduled time it started (begin computed it so). */
export function latenessOf(startedAt: number, scheduledAt: number): number {
  return Math.max(0, startedAt - scheduledAt);
}

/** The job's latest attempt as an attempts row, or null when none has begun. */
export function latestAttempt(job: JobRow): AttemptRow | null {
  if (job.lastAttemptNumber === null) return null;
  const startedAt = job.lastRunAt ?? 0;
  const scheduledAt = job.lastAttemptScheduledAt ?? startedAt;
  return {
    jobId: job.id,
    number: job.lastAttemptNumber,
    occurrence: job.lastAttemptOccurrence ?? job.occurrence,
    status: job.lastAttemptStatus ?? "running",
    scheduledAt,
    startedAt,
    finishedAt: job.lastAttemptFinishedAt,
    latenessMs: latenessOf(startedAt, scheduledAt),
    error: job.lastAttemptError,
    resources: job.lastAttemptResources ?? {},
  };
}

/**
 * keepLatest: the job's latest attempt becomes a row of the attempts table, exactly as its row holds
 * it, before begin replaces it with the next attempt. Copied by SQLite from the row itself, in the
 * attempts table's column order.
 */
export function keepLatest(db: ShardDb, jobId: string): void {
  prepared(db, "attemptHistory.keepLatest", (d) =>
    d
      .insert(attempts)
      .select(
        d
          .select({
            jobId: jobs.id,
            number: sql<number>`${jobs.lastAttemptNumber}`.as("number"),
            occurrence: sql<number>`${jobs.lastAttemptOccurrence}`.as("occurrence"),
            status: sql<AttemptRow["status"]>`${jobs.lastAttemptStatus}`.as("status"),
            scheduledAt: sql<number>`${jobs.lastAttemptScheduledAt}`.as("scheduled_at"),
            startedAt: sql<number>`${jobs.lastRunAt}`.as("started_at"),
            finishedAt: jobs.lastAttemptFinishedAt,
            latenessMs: sql<number>`max(0, ${jobs.lastRunAt} - ${jobs.lastAttemptScheduledAt})`.as(
              "lateness_ms",
            ),
            error: jobs.lastAttemptError,
            resources: sql<string>`coalesce(${jobs.lastAttemptResources}, '{}')`.as("resources"),
          })
          .from(jobs)
          .where(and(eq(jobs.id, sql.placeholder("id")), isNotNull(jobs.lastAttemptNumber))),
      )
      .prepare(),
  ).run({ id: jobId });
}

/** The job's attempts rows numbered below `before`, newest first, at most `limit`. */
export function earlierAttempts(db: ShardDb, jobId: string, before: number, limit: number): AttemptRow[] {
  if (limit <= 0) return [];
  return prepared(db, "attemptHistory.earlier", (d) =>
    d
      .select()
      .from(attempts)
      .where(and(eq(attempts.jobId, sql.placeholder("id")), lt(attempts.number, sql.placeholder("before"))))
      .orderBy(sql`${attempts.number} desc`)
      .limit(sql.placeholder("limit"))
      .prepare(),
  ).all({ id: jobId, before, limit });
}
