// overlap `cancel_other` on the shard: an attempt still queued or running when the job's next nominal
// occurrence comes due is cancelled by the alarm, and the new occurrence is due at once.
//
// overlapCutoffOf(job) → number | null
//   no SQL: when the next occurrence replaces the job's attempt in flight (src/core/state.ts
//   overlapCutoff), for a recurring cancel_other job; null otherwise. Rows written: 0.
// withCutoff(job, deadline) → number
//   no SQL: a queued or running job's deadline (dispatch lease, liveness deadline) capped by its cutoff,
//   so the alarm wakes when the next occurrence comes due; a paused job's is left alone (nothing is
//   dispatched while paused, so nothing replaces the attempt). Rows written: 0.
// overlapDue(db, now, limit) → JobRow[]
//   reads ≤ limit cancel_other jobs queued, running or paused whose deadline has passed (jobs_wake by
//   status, then each row's overlap), as readers see them (begun.ts). Rows written: 0. Built once.
// replaceOverlapped(db, job, now, t) → {job, released}
//   writes allocations (the attempt's rows deleted), metric_minutes (upsert, when an attempt had begun),
//   jobs[id] (the fence + 1, the attempt that began ended as cancelled in its latest-attempt columns,
//   the next occurrence scheduled now: runs and occurrence + 1; a waiting PATCH applied; index copy
//   scheduled). Rows written: 4 (row, jobs_wake, jobs_index_due, minute; 3 when nothing began or an
//   index copy is pending) + 1 per pool held.
// holdPausedLease(db, jobId, deadline) → void
//   writes jobs[id].deadline (a paused job's attempt whose cutoff passed keeps running: its lease goes
//   on). Rows written: 2 (row, jobs_wake).
//
// A job with the default overlap never reaches any of these past a column test: its claim, begin,
// heartbeat and resend write exactly what they wrote before (test/integration/cost-budget.test.ts).
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { changesSchedule, rescheduled } from "../../core/job-patch";
import { recurrenceOf } from "../../core/schedule";
import { overlapCutoff, overlapReplaced } from "../../core/state";
import type { ShardDb, ShardTimings } from "../db";
import { inWake, type JobRow, jobs } from "../schema";
import { latenessOf } from "./attempt-history";
import { effective } from "./begun";
import { countInMinute } from "./metrics";
import { patchedFields, patchedRow } from "./patch-rows";
import { release } from "./pools";
import { prepared } from "./prepared";
import { touch } from "./touch";

/** The error a replaced attempt ends with. */
export const OVERLAP_CANCEL_ERROR = "cancelled: the next occurrence started (overlap: cancel_other)";

type CutoffFields = Pick<
  JobRow,
  "overlap" | "occurrenceAt" | "runAt" | "extraRun" | "intervalSeconds" | "cron" | "timezone"
>;

export function overlapCutoffOf(job: CutoffFields): number | null {
  if (job.overlap !== "cancel_other") return null;
  return overlapCutoff({
    recurrence: recurrenceOf(job),
    overlap: job.overlap,
    occurrenceAt: job.occurrenceAt,
    runAt: job.runAt,
    extraRun: job.extraRun,
  });
}

export function withCutoff(job: CutoffFields & Pick<JobRow, "status">, deadline: number): number {
  if (job.status === "paused") return deadline;
  const cutoff = overlapCutoffOf(job);
  return cutoff === null ? deadline : Math.min(deadline, cutoff);
}

export function overlapDue(db: ShardDb, now: number, limit: number): JobRow[] {
  const statement = prepared(db, "overlap.due", (d) =>
    d
      .select()
      .from(jobs)
      .where(
        and(
          inArray(jobs.status, ["queued", "running", "paused"]),
          inWake,
          lte(jobs.deadline, sql.placeholder("now")),
          eq(jobs.overlap, "cancel_other"),
        ),
      )
      .limit(sql.placeholder("limit"))
      .prepare(),
  );
  return statement.all({ now, limit }).map((row) => effective(row));
}

/**
 * replaceOverlapped: the job's next occurrence came due (its cutoff ≤ now) while an attempt of the
 * previous one is queued or running. Invariants: the fence moves on (attempt + 1), so that attempt's
 * begin, heartbeat and report are refused as stale; its units are released exactly once (the release
 * DELETE uses); an attempt that began is recorded `cancelled` with OVERLAP_CANCEL_ERROR; the new
 * occurrence has the next occurrence number (a different webhook id) and is due now, so the same alarm
 * run (or the next) claims it. A PATCH that waited for the attempt applies now, as when it ends.
 */
export function replaceOverlapped(
  db: ShardDb,
  job: JobRow,
  now: number,
  t: ShardTimings,
): { job: JobRow; released: boolean } {
  const released = release(db, job.id, job.attempt);
  const begun = job.status === "running";
  if (begun) {
    const latenessMs = latenessOf(job.lastRunAt ?? now, job.lastAttemptScheduledAt ?? job.runAt);
    countInMinute(db, now, { attempt: { outcome: "cancelled", latenessMs } });
  }
  const pending = job.pendingPatch;
  const patched = pending ? patchedRow(job, pending) : job;
  const replaced = overlapReplaced(
    {
      recurrence: recurrenceOf(job),
      occurrenceAt: job.occurrenceAt,
      runAt: job.runAt,
      extraRun: job.extraRun,
    },
    now,
  );
  const occurrence = job.occurrence + 1;
  // A schedule change that waited for the attempt moves the new occurrence onto the new schedule.
  const next =
    pending && changesSchedule(pending)
      ? rescheduled({ ...replaced, occurrence }, recurrenceOf(patched), pending.runAt, now)
      : { ...replaced, occurrence };
  const updated = db
    .update(jobs)
    .set({
      ...(pending ? patchedFields(job, pending) : {}),
      status: "scheduled",
      runAt: next.runAt,
      occurrenceAt: next.occurrenceAt,
      occurrence: next.occurrence,
      currentRetries: 0,
      extraRun: false,
      runs: job.runs + 1,
      attempt: job.attempt + 1,
      deadline: next.runAt,
      runDeadline: null,
      pendingPatch: null,
      ...(begun
        ? {
            lastAttemptStatus: "cancelled" as const,
            lastAttemptFinishedAt: now,
            lastAttemptError: OVERLAP_CANCEL_ERROR,
          }
        : {}),
      ...touch(now, t, job),
    })
    .where(eq(jobs.id, job.id))
    .returning()
    .get();
  return { job: updated ?? job, released };
}

export function holdPausedLease(db: ShardDb, jobId: string, deadline: number): void {
  db.update(jobs).set({ deadline }).where(eq(jobs.id, jobId)).run();
}
