// The job controls on the shard: pause, resume, run now, retry and PATCH, each one synchronous step.
//
// applyControl(db, control, jobId, now, t) → {ok, job, released, pooledDue} | not_found | finished | busy | paused
//     | blocked | not_retryable | invalid_resources
//   (a retried job with dependencies not yet succeeded is linked to them again: dependencies.ts)
//   reads jobs[id] (pools for a retry); writes jobs[id] (status, schedule, deadline, index copy
//   scheduled; a withdrawn dispatch moves the fence) and allocations (a paused queued job's units).
//   Rows written: 3 (row, jobs_wake, jobs_index_due; 2 when an index copy is already pending, by
//   index_due_at or the row above the index watermark: touch)
//   + 1 per pool released, also for a control that changes nothing (a repeated pause, a resume of a
//   job not paused); 0 if refused.
// patchJob(db, jobId, patch, now, t, check) → {ok, job} | not_found | finished | invalid
//   reads jobs[id], pools; writes jobs[id]: the patched columns, or only pending_patch while an
//   attempt is queued or running. Rows written: 3 when applied (row, jobs_wake, jobs_index_due), 2
//   when it waits (row, jobs_index_due), one less either way when an index copy is already pending
//   (touch); 0 if refused.
//
// Each step (atomic under the Durable Object's gates) reads the job, asks the pure state machine
// (src/core/state.ts) where it goes, and writes that. The caller re-arms the alarm once.
import { eq } from "drizzle-orm";
import { dueDeadline } from "../../core/dependencies";
import { shardOfJobId } from "../../core/ids";
import type { JobPatch } from "../../core/job-patch";
import { mergePatches } from "../../core/job-patch";
import { recurrenceOf } from "../../core/schedule";
import {
  assertTransition,
  type ControlOutcome,
  isFinished,
  paused,
  ranNow,
  resumed,
  retried,
  type ScheduleState,
} from "../../core/state";
import { HOME_SHARD } from "../address";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import type { ControlResult, ErrorDetail, PatchResult, RefusalOf } from "../rpc";
import { type JobRow, jobs } from "../schema";
import { attemptInFlight } from "./attempts";
import { effective } from "./begun";
import { leaveKeys } from "./debounce";
import { linkDependencies } from "./dependencies";
import { withCutoff } from "./overlap";
import { patchColumns, patchedRow } from "./patch-rows";
import { release, resourceErrors } from "./pools";
import { forgetUnfinishedBound } from "./submit";
import { touch } from "./touch";

export type Control = "pause" | "resume" | "run" | "retry";

/**
 * What a control changed: the job after it, whether pool units were freed (waiters may go), and whether
 * a job naming pools became due now (a retried job failed again by a dependency: its dependents that
 * say run; dependencies.ts).
 */
export type ControlDone = { ok: true; job: JobRow; released: boolean; pooledDue: boolean };

const scheduleOf = (job: JobRow): ScheduleState => ({
  status: job.status,
  recurrence: recurrenceOf(job),
  runAt: job.runAt,
  occurrenceAt: job.occurrenceAt,
  occurrence: job.occurrence,
  currentRetries: job.currentRetries,
  extraRun: job.extraRun,
  policy: { overlap: job.overlap, catchUp: job.catchUp, catchUpWindowSeconds: job.catchUpWindowSeconds },
});

function decide(db: ShardDb, control: Control, job: JobRow, now: number): ControlOutcome {
  const state = scheduleOf(job);
  switch (control) {
    case "pause":
      return paused(state);
    case "resume":
      return resumed(state, now, attemptInFlight(db, job));
    case "run":
      return ranNow(state, now);
    case "retry":
      return retried(state, now);
  }
}

/**
 * applyControl: moves one job as the state machine says. Invariants:
 * - pause: a paused job is never claimed (claimDue takes only scheduled jobs) and has no deadline,
 *   unless the attempt begun before the pause still runs: then its lease deadline stays, so the
 *   alarm still gives that attempt up, and its report settles the job into paused (or finished).
 *   A queued job's dispatch is withdrawn: the fence moves on (its message is refused at begin) and
 *   its units are released.
 * - resume, run and retry schedule the job with its due time as its deadline; retry keeps the
 *   attempts (history) and refuses a job naming a pool that can no longer hold its units.
 * - a running attempt is never touched: its fence, lease and units stay as they are.
 * - a PATCH that waited for a withdrawn dispatch applies now, as on any job with nothing in flight.
 */
export function applyControl(
  db: ShardDb,
  control: Control,
  jobId: string,
  now: number,
  t: ShardTimings,
): ControlDone | RefusalOf<ControlResult> {
  const job = findJob(db, jobId);
  if (!job) return { ok: false, reason: "not_found" };
  // Running a job now would run it before what it depends on: it runs when they have succeeded.
  if (control === "run" && job.blockedBy !== null && !isFinished(job.status))
    return { ok: false, reason: "blocked" };
  const out = decide(db, control, job, now);
  if (!out.ok) return out;
  if (control === "retry") {
    const details = resourceErrors(db, job.resources);
    if (details.length > 0) return { ok: false, reason: "invalid_resources", details };
    // A finished job becomes unfinished: the next submit counts the shard's unfinished jobs exactly.
    forgetUnfinishedBound(db);
    // A debounced job retried runs as a plain one: its key has, or will have, a pending job of its own.
    if (job.debounceKey !== null) leaveKeys(db, [jobId]);
  }
  const { change } = out;
  if (change.status !== job.status) assertTransition(job.status, change.status);
  const withdrawn = job.status === "queued" && change.status === "paused";
  const released = withdrawn && release(db, jobId, job.attempt);
  // Paused with nothing running: nothing is due. Scheduled: due at run_at. Otherwise (a queued or
  // running job resumed or paused again) the deadline the attempt already has.
  const idle = change.status === "paused" && !attemptInFlight(db, job);
  // A PATCH that waited for the withdrawn dispatch applies now (patchColumns keeps the paused status).
  const waited =
    withdrawn && job.pendingPatch ? patchColumns({ ...job, ...change }, job.pendingPatch, now) : {};
  const updated = db
    .update(jobs)
    .set({
      ...change,
      ...waited,
      ...(withdrawn ? { attempt: job.attempt + 1 } : {}),
      // Resumed while its attempt runs: a cancel_other job's next occurrence replaces it when due.
      deadline:
        change.status === "scheduled"
          ? dueDeadline(job, change.runAt)
          : idle
            ? null
            : job.deadline === null
              ? null
              : withCutoff({ ...job, status: change.status }, job.deadline),
      ...touch(now, t, job),
    })
    .where(eq(jobs.id, jobId))
    .returning()
    .get();
  // A retried job waits again on the dependencies that had not succeeded (one that failed fails it again).
  if (control === "retry" && updated?.blockedBy) {
    const { pooledDue } = linkDependencies(db, jobId, {}, now, t);
    return { ok: true, job: findJob(db, jobId) ?? updated, released, pooledDue };
  }
  return { ok: true, job: effective(updated) ?? job, released, pooledDue: false };
}

/**
 * Pools live on the home shard with every job that names one, and a job's id fixes its shard: a job
 * submitted without resources to another shard cannot start naming pools, so say so rather than
 * "no pool named …" (this shard has no pools at all). The same holds for a flow-control key: the home
 * shard alone decides for keys.
 */
function poolErrors(db: ShardDb, job: JobRow, target: JobRow): ErrorDetail[] {
  if (target.needsPools && !job.needsPools && shardOfJobId(job.id) !== HOME_SHARD) {
    return target.flowKey !== null
      ? [
          {
            path: "flow_control",
            message:
              "this job was submitted without flow_control to one of your other shards, where keys are not decided; submit a new job with flow_control instead",
          },
        ]
      : [
          {
            path: "resources",
            message:
              "this job was submitted without resources to one of your other shards, where pools are not kept; submit a new job with resources instead",
          },
        ];
  }
  return resourceErrors(db, target.resources);
}

/**
 * patchJob: PATCH /v1/jobs/:id. Invariants: nothing is written unless the job with the patch applied
 * passes the submit rules (`check`) and its pools exist and fit; a finished job is refused; an
 * attempt already queued or running keeps what it started with: the patch waits in pending_patch
 * (merged with any earlier one) and applies when that attempt ends, while the job's view shows it.
 * Otherwise the row changes at once, and a schedule change moves the job to its new next run.
 */
export function patchJob(
  db: ShardDb,
  jobId: string,
  patch: JobPatch,
  now: number,
  t: ShardTimings,
  check: (job: JobRow) => ErrorDetail[],
): { ok: true; job: JobRow } | RefusalOf<PatchResult> {
  const job = findJob(db, jobId);
  if (!job) return { ok: false, reason: "not_found" };
  if (isFinished(job.status)) return { ok: false, reason: "finished" };
  const combined = mergePatches(job.pendingPatch, patch);
  const target = patchedRow(job, combined);
  const details = [...check(target), ...poolErrors(db, job, target)];
  if (details.length > 0) return { ok: false, reason: "invalid", details };
  const inFlight = job.status === "queued" || attemptInFlight(db, job);
  const fields = inFlight ? { pendingPatch: combined } : patchColumns(job, combined, now);
  const updated = db
    .update(jobs)
    .set({ ...fields, ...touch(now, t, job) })
    .where(eq(jobs.id, jobId))
    .returning()
    .get();
  return { ok: true, job: effective(updated) ?? job };
}
