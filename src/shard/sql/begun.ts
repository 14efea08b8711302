// A begun attempt at one row written (issue 16): begin leaves the job row's indexed columns as the claim
// wrote them (status `queued`, deadline the dispatch lease) and writes the attempt's liveness deadline
// into `run_deadline`, which no index covers. So begin costs the row alone, not the row and its
// jobs_wake entry. A heartbeat, or the alarm once the lease has passed (promoteBegun), moves the row
// into its plain running form (status `running`, deadline = run_deadline): two rows, only for an
// attempt still running then.
//
// effective(row) → the row as every reader outside this file sees it (no SQL): a queued row with
//   run_deadline set is running, its deadline run_deadline.
// EFFECTIVE_STATUS, BEGUN, NOT_BEGUN: the same rule as SQL, for filters and counts.
// promoteBegun (dispatch.ts, the alarm) moves a begun row into its running form once its lease passed.
//
// Why the fence stays exact: the claim clears run_deadline and begin sets it, both in the job's row, in
// one synchronous step each. begin accepts an attempt only while its row is effectively queued under
// that attempt number, so a second begin of the same attempt (a redelivered message) finds it running
// and is refused as a duplicate, exactly as when begin wrote status itself. Every writer reads the row
// through effective(), so a control or report on a begun attempt sees a running job with its liveness
// deadline, and writes that deadline whenever it assigns one (pause keeps it: controls.ts).
//
// Why a dead consumer is still noticed on time: begin uses this form only when the liveness deadline is
// not earlier than the lease (otherwise it writes the running form at once, as before); the alarm
// wakes at the lease (jobs_wake, status queued), where promoteBegun moves the deadline to run_deadline
// (and expireLeases, next in the same run, gives the attempt up if that has passed too).
// No import of ../db: findJob (db.ts) reads rows through effective().
import { type SQL, sql } from "drizzle-orm";
import type { JobRow } from "../schema";

/** Whether the row is a begun attempt in its one-row form. */
export function isBegun(row: Pick<JobRow, "status" | "runDeadline">): boolean {
  return row.status === "queued" && row.runDeadline !== null;
}

/** The row as readers see it: a begun attempt is running, with its liveness deadline. */
export function effective<R extends JobRow>(row: R): R;
export function effective<R extends JobRow>(row: R | undefined): R | undefined;
export function effective<R extends JobRow>(row: R | undefined): R | undefined {
  if (!row || !isBegun(row)) return row;
  return { ...row, status: "running", deadline: row.runDeadline };
}

// The rule as plain SQL over the jobs table (unqualified columns: for statements over jobs alone),
// for statements of fixed text and, wrapped, for drizzle-built ones.
/** A queued row begun in the one-row form. */
export const BEGUN_TEXT = "(status = 'queued' and run_deadline is not null)";
/** A queued row not begun: claimed, its message not yet taken. */
export const NOT_BEGUN_TEXT = "(status = 'queued' and run_deadline is null)";
/** The job's status as readers see it. */
export const EFFECTIVE_STATUS_TEXT = `(case when ${BEGUN_TEXT} then 'running' else status end)`;

export const BEGUN: SQL = sql.raw(BEGUN_TEXT);
export const NOT_BEGUN: SQL = sql.raw(NOT_BEGUN_TEXT);
export const EFFECTIVE_STATUS: SQL = sql.raw(EFFECTIVE_STATUS_TEXT);
