// How a PATCH lands on a job row: the columns it writes, with the schedule and derived columns that
// follow from it.
//
// No commands (no SQL): column builders shared by PATCH itself (a job with no attempt in flight) and by
// the end of an attempt (a patch that waited for it).
// patchedRow(job, patch) → JobRow; patchedFields(job, patch), patchColumns(job, patch, now) → columns
//   They assign every column but id, version and index_due_at, so the UPDATE that writes them pays the
//   row and its jobs_wake entry, and, when the caller's touch (touch.ts) schedules the index copy, its
//   jobs_index_due entry: 2 or 3 rows written.
import { dueDeadline } from "../../core/dependencies";
import { isGated } from "../../core/flow-control";
import { changesSchedule, type JobPatch, rescheduled } from "../../core/job-patch";
import { recurrenceOf } from "../../core/schedule";
import type { JobRow } from "../schema";

/** The row with the patch's fields in place; clearing cron clears its time zone, setting one defaults it. */
export function patchedRow(job: JobRow, patch: JobPatch): JobRow {
  const { runAt: _, ...fields } = patch;
  const merged: JobRow = { ...job, ...fields, pendingPatch: null };
  if (merged.cron === null && !("timezone" in patch)) merged.timezone = null;
  if (merged.cron !== null && merged.timezone === null) merged.timezone = "UTC";
  if ("flowControl" in patch) merged.flowKey = merged.flowControl?.key ?? null;
  merged.needsPools = isGated(merged);
  return merged;
}

/**
 * A patched row as columns to write: without the key (assigning it would cost its index a row
 * written), the version (the caller bumps it) or index_due_at (the caller's touch decides it, and
 * leaves it unassigned when a copy is pending: assigning it would cost jobs_index_due a row written).
 */
export function patchedFields(job: JobRow, patch: JobPatch): Partial<JobRow> {
  const { id: _id, version: _v, indexDueAt: _i, ...row } = patchedRow(job, patch);
  return row;
}

/** The columns a patch writes, given the row before it (the row must not have an attempt in flight). */
export function patchColumns(job: JobRow, patch: JobPatch, now: number): Partial<JobRow> {
  const { id: _id, version: _v, indexDueAt: _i, ...row } = patchedRow(job, patch);
  if (!changesSchedule(patch)) return row;
  const next = rescheduled(job, recurrenceOf(row), patch.runAt, now);
  // A blocked job keeps no due time: it becomes due when its last dependency succeeds.
  const deadline = job.status === "scheduled" ? dueDeadline(job, next.runAt) : job.deadline;
  return { ...row, ...next, deadline };
}
