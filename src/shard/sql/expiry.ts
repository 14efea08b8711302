// expires_after_seconds at the point of claim: a due job too late to start is settled, not sent.
//
// expireOccurrence(db, jobId, now, t) → {job, finishedOccurrence, dueAgain, madeDue} | null
//   reads jobs[id]; writes jobs[id] (failed, or its next occurrence; last_error `expired`; index copy
//   scheduled) and metric_minutes (upsert). Rows written: 4 (row, jobs_wake, jobs_index_due, minute;
//   3 when an index copy is already pending, index_due_at set or the row above the index watermark:
//   touch); 0 unless the job is scheduled.
import { eq } from "drizzle-orm";
import { EXPIRED_ERROR } from "../../core/expiry";
import { assertTransition, settle } from "../../core/state";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import { type JobRow, jobs } from "../schema";
import { settleInputOf, settlementFields } from "./attempts";
import { tellDependents } from "./dependencies";
import { countInMinute } from "./metrics";

/** Expiry never retries, so settle() draws no backoff jitter. */
const NO_JITTER = () => 0;

/**
 * expireOccurrence: claimDue found this due job past its run_at + expires_after_seconds
 * (src/core/expiry.ts), so it is not dispatched. Contract: only a scheduled job moves; its occurrence
 * is settled as a permanent failure (settle): a one-shot job fails, a recurring one moves to its next
 * occurrence at or after now (missed ones are skipped, never burst), retries reset. `last_error`
 * becomes `expired` and `runs` counts the occurrence; no attempt is recorded, since none started (the
 * minute's metrics count it as outcome `expired`, in the same step).
 * Holds no pool units (a scheduled job holds none), so nothing is released. Its dependents hear it
 * failed (dependencies.ts). Returns the job as it now is, the occurrence that ended (for its callback),
 * whether the job is due again at once (its next occurrence falls exactly on now), and whether a job
 * that waited on it is due now (one that says run, no longer blocked), so the walk can still reach
 * them; null if nothing moved.
 */
export function expireOccurrence(
  db: ShardDb,
  jobId: string,
  now: number,
  t: ShardTimings,
): { job: JobRow; finishedOccurrence: number; dueAgain: boolean; madeDue: boolean } | null {
  const job = findJob(db, jobId);
  if (job?.status !== "scheduled") return null;
  // No attempt began: every occurrence it was late for was missed (catch_up decides).
  const input = { ...settleInputOf(job), begunAt: null };
  const next = settle(input, { ok: false, permanent: true }, now, NO_JITTER);
  if (next.status !== job.status) assertTransition(job.status, next.status);
  const updated = db
    .update(jobs)
    .set({ ...settlementFields(job, next, now, t), lastError: EXPIRED_ERROR })
    .where(eq(jobs.id, jobId))
    .returning()
    .get();
  countInMinute(db, now, {
    attempt: { outcome: "expired", latenessMs: null },
    finished: next.status === "failed" ? "failed" : undefined,
  });
  const heard = tellDependents(db, jobId, "failed", now, t);
  return {
    job: updated ?? job,
    finishedOccurrence: job.occurrence,
    dueAgain: next.runAt !== null && next.runAt <= now,
    madeDue: heard.due,
  };
}
