// Attempts: begin, heartbeat, finish and cancel, each fenced by the job's attempt number.
//
// begin(db, jobId, attempt, now, t) → {ok, job, latenessMs} | refusal
//   reads jobs[id]; writes jobs[id] (→ running, last_run_at, liveness deadline, the attempt as the
//   job's latest: running), and attempts (+1 row: the job's previous latest attempt, kept as history)
//   when there was one, and flow_keys (its key's start log: recordStart, flow-control.ts) for a job with
//   a flow-control rate. Rows written: 1 (the job row: its one-row form, begun.ts, when the liveness
//   deadline is not before the claim's lease) or 2 (+ its jobs_wake entry) for a job's first attempt;
//   +1 for a later one (the history row); +1 with a rate (the log); 0 if refused.
// heartbeat(db, jobId, attempt, now, t) → {ok} | refusal
//   reads jobs[id]; writes jobs[id].deadline. Rows written: 2 (the row, its jobs_wake entry); 0 if refused.
// finishAttempt(db, jobId, attempt, report, now, random, t, minute?)
//     → {ok, job, released, pooledDue, finishedOccurrence, latenessMs} | refusal
//   reads jobs[id]; writes allocations (the attempt's rows deleted), metric_minutes (upsert; with
//   `minute` given, added to it instead and written by the caller), jobs[id] (the attempt ended in its
//   latest-attempt columns; settled: retry, next occurrence or finished; a waiting PATCH applied; index
//   copy scheduled). Rows written: 4 (job row, jobs_wake, jobs_index_due, minute; 3 when an index copy
//   is already pending, whose time it keeps, by index_due_at or because the row is above the index
//   watermark: touch; 1 less with `minute`) + 1 per pool the attempt held (+ 1 when its flow-control
//   key's log goes: forgetIdleKey); 0 if refused.
// cancel(db, jobId, now, t) → {ok, job, released, pooledDue} | not_found | finished
//   reads jobs[id]; writes allocations (deleted), metric_minutes (upsert), jobs[id] (→ cancelled,
//   deadline = removal time, index copy scheduled, an attempt in flight → cancelled in its
//   latest-attempt columns). Rows written: 4 (job row, jobs_wake, jobs_index_due, minute; 3 when an
//   index copy is already pending, index_due_at set or the row above the index watermark: touch) + 1
//   per pool held.
// attemptInFlight(db, job) → boolean
//   no SQL: the job row holds its latest attempt. Rows written: 0.
// Helpers (no SQL): timeoutBound, expiryError, settleInputOf, settlementFields.
//
// refusal: not_found | stale | duplicate | finished | cancelled. A report is accepted only while its
// attempt is the job's current one and in the state the report expects, which makes queue redelivery,
// late reports from timed-out attempts and reports after a cancel harmless.
//
// The job row holds its latest attempt (the last that began: last_attempt_*, started at last_run_at);
// the attempts table holds the earlier ones (attempt-history.ts). Together they are one record per
// attempt that began, as the attempts table alone was before. The job is read with findJob and
// written with the statements of attempt-statements.ts, each built once per database and bound per
// call (issue 16).
import { changesSchedule, type JobPatch, patchedRetry, rescheduled } from "../../core/job-patch";
import { recurrenceOf } from "../../core/schedule";
import {
  assertTransition,
  isFinished,
  type SettleInput,
  type Settlement,
  settle,
  settledStatus,
} from "../../core/state";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import type {
  AttemptRefusal,
  AttemptReport,
  CancelResult,
  HeartbeatResult,
  RefusalOf,
  Refused,
} from "../rpc";
import type { JobRow } from "../schema";
import { keepLatest, latenessOf } from "./attempt-history";
import { beginUpdate, cancelUpdate, finishUpdate, heartbeatUpdate } from "./attempt-statements";
import { effective } from "./begun";
import { tellDependents } from "./dependencies";
import { forgetIdleKey, recordStart } from "./flow-control";
import { countInMinute, type MinuteEvent, type MinuteTally } from "./metrics";
import { withCutoff } from "./overlap";
import { patchedFields, patchedRow } from "./patch-rows";
import { release } from "./pools";
import { removalTime } from "./retention";
import { armSweep, ensureSweep } from "./retention-sweep";
import { indexDueAfter, touch } from "./touch";

/**
 * Whether the job's current attempt has begun and not ended: a running job's always; a paused job's
 * when it was paused while running (the attempt finishes, and its reports are accepted). The job's
 * latest attempt is the truth: it is `running` exactly from its begin to its end, and it is the
 * current one (the fence) until the next claim or a withdrawn dispatch moves the fence on. Reads no
 * SQL: the row holds it (`_db` stays for the callers).
 */
export function attemptInFlight(_db: ShardDb, job: JobRow): boolean {
  if (job.status === "running") return true;
  if (job.status !== "paused") return false;
  return job.lastAttemptNumber === job.attempt && job.lastAttemptStatus === "running";
}

/** Why a report for `attempt` cannot be accepted now, given the job and the state it expects. */
function refusal(
  db: ShardDb,
  job: JobRow | undefined,
  attempt: number,
  expected: JobRow["status"],
): AttemptRefusal | null {
  if (!job) return "not_found";
  if (job.status === "cancelled") return "cancelled";
  if (isFinished(job.status)) return "finished";
  if (job.attempt !== attempt) return "stale";
  if (job.status === expected) return null;
  if (expected === "running" && attemptInFlight(db, job)) return null;
  // The same attempt reported twice at the same step (a redelivered message) is a duplicate.
  return expected === "queued" && job.status === "running" ? "duplicate" : "stale";
}

/**
 * The end of the timeout bound of a running job's attempt: begin (`last_run_at`, written by begin) +
 * timeout + grace. No heartbeat moves a deadline past it, so a live attempt still times out.
 */
export function timeoutBound(job: JobRow, t: ShardTimings): number {
  return (job.lastRunAt ?? 0) + job.timeoutSeconds * 1000 + t.leaseGraceMs;
}

/**
 * A running attempt's deadline after a sign of life at `now` (its begin or a heartbeat): the
 * heartbeat timeout from now, but never past the timeout bound. So a dead consumer is noticed
 * within the heartbeat timeout whatever timeout_seconds is. A cancel_other job's is never past the
 * time its next occurrence replaces the attempt (withCutoff, overlap.ts), so no heartbeat pushes the
 * alarm past it.
 */
function livenessDeadline(job: JobRow, now: number, t: ShardTimings): number {
  return withCutoff(job, Math.min(timeoutBound(job, t), now + t.heartbeatTimeoutMs));
}

/** The error an attempt given up at its deadline gets: heartbeats stopped, or it timed out. */
export function expiryError(job: JobRow, t: ShardTimings): string {
  return job.deadline !== null && job.deadline < timeoutBound(job, t)
    ? `heartbeats stopped: no report or heartbeat for ${t.heartbeatTimeoutMs / 1000}s`
    : `timed out: no report within ${job.timeoutSeconds}s`;
}

/**
 * begin: the consumer is about to execute `attempt`. Invariant: at most one begin per attempt
 * number is accepted (queued → running), so a redelivered message never starts a second run.
 * Sets the attempt's deadline (livenessDeadline): if neither a report nor a heartbeat arrives by
 * then, expireLeases gives the attempt up.
 */
export function begin(
  db: ShardDb,
  jobId: string,
  attempt: number,
  now: number,
  t: ShardTimings,
): { ok: true; job: JobRow; latenessMs: number } | Refused<AttemptRefusal> {
  const job = findJob(db, jobId);
  const refused = refusal(db, job, attempt, "queued");
  if (refused || !job) return { ok: false, reason: refused ?? "not_found" };
  assertTransition(job.status, "running");
  const latenessMs = latenessOf(now, job.runAt);
  const begun = { ...job, lastRunAt: now };
  // The attempt this one replaces as the job's latest becomes history (a retry, a later occurrence).
  if (job.lastAttemptNumber !== null) keepLatest(db, jobId);
  const deadline = livenessDeadline(begun, now, t);
  // One row written when the lease the claim set comes first (the alarm wakes then and moves the
  // deadline on: begun.ts); when the attempt could be given up earlier, the running form at once.
  const form = job.deadline !== null && deadline >= job.deadline ? "oneRow" : "running";
  const running = beginUpdate(db, form).get({ id: jobId, now, deadline, attempt });
  // A start of its key (flow control): the rate counts begins.
  if (job.flowControl) recordStart(db, job.flowControl, now);
  return { ok: true, job: effective(running) ?? job, latenessMs };
}

/**
 * heartbeat: the consumer running `attempt` is alive. Invariants: only the current attempt of a
 * running job is kept alive (refused exactly as a report would be, so a stale, finished or cancelled
 * attempt learns it is no longer wanted); its deadline moves to now + heartbeat timeout, never past
 * its timeout bound. Writes the deadline only: the job's visible state, version and index copy are
 * unchanged, and the alarm is left where it is (it may fire at the old deadline, find nothing due
 * and re-arm), so a heartbeat costs one row update: two rows written, as the deadline is in jobs_wake.
 */
export function heartbeat(
  db: ShardDb,
  jobId: string,
  attempt: number,
  now: number,
  t: ShardTimings,
): HeartbeatResult {
  const job = findJob(db, jobId);
  const refused = refusal(db, job, attempt, "running");
  if (refused || !job) return { ok: false, reason: refused ?? "not_found" };
  heartbeatUpdate(db).run({ id: jobId, deadline: livenessDeadline(job, now, t) });
  return { ok: true };
}

/** What settle() needs to know about a job (src/core/state.ts). */
export function settleInputOf(job: JobRow): SettleInput {
  return {
    recurrence: recurrenceOf(job),
    occurrenceAt: job.occurrenceAt,
    maxRetries: job.maxRetries,
    currentRetries: job.currentRetries,
    retryDelaySeconds: job.retryDelaySeconds,
    retryPolicy: job.retryPolicy,
    extraRun: job.extraRun,
    policy: {
      overlap: job.overlap,
      catchUp: job.catchUp,
      catchUpWindowSeconds: job.catchUpWindowSeconds,
    },
    // The attempt that ended is the job's latest, begun at last_run_at (expiry passes null: none began).
    begunAt: job.lastRunAt,
  };
}

/** The job's columns after `next`: a settled state, so the index copy is scheduled too (touch). */
export function settlementFields(
  job: JobRow,
  next: Settlement & { extraRun?: false },
  now: number,
  t: ShardTimings,
  status: JobRow["status"] = next.status,
) {
  return { ...settlementValues(job, next, now, status), ...touch(now, t, job) };
}

/** The settled state's own columns (attempt-statements.ts binds them by these names). */
function settlementValues(
  job: JobRow,
  next: Settlement & { extraRun?: false },
  now: number,
  status: JobRow["status"],
) {
  return {
    status,
    runAt: next.runAt ?? job.runAt,
    occurrenceAt: next.occurrenceAt,
    currentRetries: next.currentRetries,
    runs: next.occurrenceFinished ? job.runs + 1 : job.runs,
    occurrence: next.occurrenceFinished && next.runAt !== null ? job.occurrence + 1 : job.occurrence,
    // An extra occurrence (run now) is over once its occurrence is, or merged into a patched run_at.
    extraRun: next.occurrenceFinished ? false : (next.extraRun ?? job.extraRun),
    // A finished job's deadline is when retention removes it (src/shard/sql/retention.ts); a
    // paused one has none (nothing is due).
    deadline: status === "paused" ? null : (next.runAt ?? removalTime(job, now)),
  };
}

/**
 * What a schedule change that waited for the attempt makes of its settlement. The next occurrence
 * follows the new schedule (anchored at a patched run_at). A retry goes on as a retry, at a patched
 * run_at when the patch has one (patchedRetry: the PATCH answered with that run_at); a patch of the
 * interval or cron alone leaves the retry at its backoff and applies from the next occurrence.
 */
function withWaitingSchedule(
  settled: Settlement,
  pending: JobPatch,
  patched: JobRow,
  occurrence: number,
  report: AttemptReport,
  now: number,
): Settlement & { extraRun?: false } {
  if (!changesSchedule(pending) || settled.runAt === null) return settled;
  if (settled.occurrenceFinished) {
    return {
      ...settled,
      ...rescheduled({ ...settled, occurrence }, recurrenceOf(patched), pending.runAt, now),
    };
  }
  if (pending.runAt === undefined) return settled;
  const retryAfterMs = report.outcome.ok ? undefined : report.outcome.retryAfterMs;
  return { ...settled, ...patchedRetry(recurrenceOf(patched), pending.runAt, now, retryAfterMs) };
}

/**
 * complete / fail: ends the running attempt, releases its units and settles the job (retry with
 * backoff, next occurrence, or finished). Invariant: only the current attempt of a running job can
 * end it, so each occurrence has at most one accepted completion, finished jobs stay finished, and
 * units are released exactly once. `finishedOccurrence`: the number of the occurrence this attempt
 * finished (succeeded, or failed with retries spent), null when the occurrence goes on (a retry).
 * The attempt's end (and the job's, if it finished) is counted in its minute's metrics in the same
 * step: at once, or added to `minute` when given, whose caller writes it before its step ends
 * (finishMany: one minute row for all of its reports).
 */
export function finishAttempt(
  db: ShardDb,
  jobId: string,
  attempt: number,
  report: AttemptReport,
  now: number,
  random: () => number,
  t: ShardTimings,
  minute?: MinuteTally,
):
  | {
      ok: true;
      job: JobRow;
      released: boolean;
      /** A job naming pools waiting on this one is due now (dependencies.ts: the caller wakes the shard). */
      pooledDue: boolean;
      finishedOccurrence: number | null;
      latenessMs: number;
    }
  | Refused<AttemptRefusal> {
  const job = findJob(db, jobId);
  const refused = refusal(db, job, attempt, "running");
  if (refused || !job) return { ok: false, reason: refused ?? "not_found" };
  // A patch that waited for this attempt applies from here: to the retry or the next occurrence.
  const pending = job.pendingPatch;
  const patched = pending ? patchedRow(job, pending) : job;
  const settled = settle(settleInputOf(patched), report.outcome, now, random);
  const next = pending
    ? withWaitingSchedule(settled, pending, patched, job.occurrence, report, now)
    : settled;
  // A job paused while this attempt ran stays paused, unless it is finished now.
  const status = settledStatus(job.status, next.status);
  assertTransition(job.status, status);
  const attemptStatus = report.outcome.ok ? "succeeded" : report.timedOut ? "timed_out" : "failed";
  const released = release(db, jobId, attempt);
  // Its key's slot is given back by the row's own update (flow-control.ts); the key's log may go.
  if (job.flowKey !== null) forgetIdleKey(db, job.flowKey, now);
  // The attempt reported is the job's latest (refusal: the fence, and begun), so its row holds it.
  const latenessMs = latenessOf(job.lastRunAt ?? now, job.lastAttemptScheduledAt ?? job.runAt);
  const error = report.outcome.ok ? null : (report.error ?? null);
  const counted: MinuteEvent = {
    attempt: { outcome: attemptStatus, latenessMs },
    finished: next.status === "scheduled" ? undefined : next.status,
  };
  if (minute) minute.add(counted);
  else countInMinute(db, now, counted);
  const values = settlementValues(job, next, now, status);
  // The retention's sweep cursor exists before the finish that may leave the job to it.
  if (isFinished(status)) ensureSweep(db, job);
  const indexDueAt = indexDueAfter(job, now, t);
  const result = report.outcome.ok ? (report.result ?? null) : null;
  const updated = finishUpdate(
    db,
    { ok: report.outcome.ok, indexDue: indexDueAt !== null },
    pending ? patchedFields(job, pending) : null,
  ).get({
    id: jobId,
    now,
    ...values,
    extraRun: values.extraRun ? 1 : 0,
    indexDueAt,
    result: result === null ? null : JSON.stringify(result),
    error,
    attemptStatus,
  });
  if (updated) armSweep(db, updated);
  const finishedOccurrence = next.occurrenceFinished ? job.occurrence : null;
  // A finished occurrence is what a job depending on this one waits for.
  const heard =
    finishedOccurrence === null
      ? null
      : tellDependents(db, jobId, report.outcome.ok ? "succeeded" : "failed", now, t);
  const pooledDue = heard?.pooledDue ?? false;
  return { ok: true, job: updated ?? job, released, pooledDue, finishedOccurrence, latenessMs };
}

/**
 * cancel: a finished job cannot be cancelled (conflict). Otherwise the job is finished as
 * cancelled: no further occurrences, a queued message will be refused at begin, and a running
 * attempt is closed as cancelled so its late report is refused. The cancel is counted in its
 * minute's metrics in the same step.
 */
export function cancel(
  db: ShardDb,
  jobId: string,
  now: number,
  t: ShardTimings,
): { ok: true; job: JobRow; released: boolean; pooledDue: boolean } | RefusalOf<CancelResult> {
  const job = findJob(db, jobId);
  if (!job) return { ok: false, reason: "not_found" };
  if (isFinished(job.status)) return { ok: false, reason: "finished" };
  assertTransition(job.status, "cancelled");
  // Units are held from dispatch: a queued job holds them as much as a running one.
  const released = release(db, jobId, job.attempt);
  if (job.flowKey !== null) forgetIdleKey(db, job.flowKey, now);
  // An attempt in flight is the job's latest: it ends as cancelled in the job row's own update.
  const inFlight = attemptInFlight(db, job);
  countInMinute(db, now, {
    attempt: inFlight
      ? {
          outcome: "cancelled",
          latenessMs: latenessOf(job.lastRunAt ?? now, job.lastAttemptScheduledAt ?? now),
        }
      : undefined,
    finished: "cancelled",
  });
  const indexDueAt = indexDueAfter(job, now, t);
  const updated = cancelUpdate(
    db,
    { inFlight, indexDue: indexDueAt !== null },
    job.pendingPatch ? patchedFields(job, job.pendingPatch) : null,
  ).get({ id: jobId, now, deadline: removalTime(job, now), indexDueAt });
  // A cancelled dependency fails the jobs that wait on it (unless they run anyway).
  const { pooledDue } = tellDependents(db, jobId, "failed", now, t);
  return { ok: true, job: updated ?? job, released, pooledDue };
}
