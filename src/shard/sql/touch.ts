// The version and index-copy columns a change of a job's state writes with it (no SQL of its own).
//
// bump(now) → {updated_at, version}: no indexed column, so no row written beyond the job row's own.
//   `now` may be a placeholder or SQL, for a statement built once (prepared.ts).
// indexDueAfter(job, now, t) → the index_due_at touch would assign, or null when it assigns none.
// touch(now, t, job?) → bump's columns, + index_due_at unless `job` already has a copy pending by its
//   index_due_at. The value assigned is pendingOr(due): null for a row above the index watermark (its
//   copy is pending by construction: index-copy.ts), so a new job's change writes no jobs_index_due
//   entry either; 1 more row written (its jobs_index_due entry) for a row at or below it. None when the
//   column is left alone. Without `job` (a set-based update over many rows) the column is assigned:
//   coalesce keeps a pending time, but the entry is written even then (for a row below the watermark).
//
// How SQLite rows written are counted (Cloudflare's rowsWritten, as measured): an insert, 1 per row + 1
// per index entry; an update, 1 per row + 1 per index whose column it assigns, changed or not (none for
// a partial index the new row is left out of: jobs_index_due when index_due_at becomes or stays null);
// a delete, 1 per row, whatever its indexes. The jobs table's indexes: the id key, jobs_wake (status,
// needs_pools, deadline), jobs_index_due (index_due_at, when not null).
import { type Placeholder, type SQL, sql } from "drizzle-orm";
import { indexCopyDue } from "../../core/index-copy-time";
import { type JobRow, jobs } from "../schema";

/**
 * True for a job row above the index watermark: inserted after the copy that last advanced it, so its
 * copy is pending without an index_due_at (index-copy.ts). A missing watermark row counts as 0: every
 * row is then pending, which copies too much, never too little. Reads the one watermark row.
 */
export const PAST_WATERMARK = sql.raw(
  `"jobs"."rowid" > coalesce((select "copied_through" from "index_watermark" where "id" = 0), 0)`,
);

/** The index_due_at a settled change assigns when the row has no per-row copy pending: `due`, or null
 * (no jobs_index_due entry) when the row is above the watermark and so pending anyway. */
export function pendingOr(due: number | SQL): SQL<number | null> {
  return sql<number | null>`case when ${PAST_WATERMARK} then null else ${due} end`;
}

/**
 * A change to a job that the D1 index need not see on its own (claimed, begun): bumps the version,
 * which guards the D1 upsert, and assigns no indexed column, so it costs one row written. `now` may
 * be SQL (a placeholder, for a statement built once: prepared.ts).
 */
export function bump(now: number | Placeholder | SQL) {
  return {
    updatedAt: typeof now === "number" ? now : sql<number>`${now}`,
    version: sql`${jobs.version} + 1`,
  };
}

/**
 * A change to a settled state (scheduled, succeeded, failed, cancelled) that the index must show:
 * bumps the version and schedules the index copy within `indexFlushDelayMs` (on its half-delay grid,
 * src/core/index-copy-time.ts), keeping an earlier
 * pending time, so a burst of changes to one job costs one D1 write. Transient states (queued,
 * running) use `bump`: listing shows them only if a settled state's copy happens to catch them,
 * and `GET /v1/jobs/:id` always has the current one.
 *
 * A copy is pending when index_due_at is set or the row is above the index watermark (index-copy.ts);
 * either way the pending copy copies the row as it is when it runs, so it carries this change too.
 *
 * `job`: the row as this same synchronous step read it. When its index_due_at is set, the column is
 * not assigned at all: the pending copy keeps its time, and the update writes no jobs_index_due entry.
 * Otherwise it is assigned pendingOr(due): null above the watermark (no entry: a new job's copy, by the
 * watermark, keeps its time), the copy time at or below it. So a change is in D1 within
 * indexFlushDelayMs of the first change still pending, as with coalesce, for one row written less.
 */
export function touch(now: number, t: { indexFlushDelayMs: number }, job?: Pick<JobRow, "indexDueAt">) {
  if (job && job.indexDueAt !== null) return bump(now);
  const due = indexCopyDue(now, t.indexFlushDelayMs);
  return {
    ...bump(now),
    indexDueAt: job ? pendingOr(due) : sql<number | null>`coalesce(${jobs.indexDueAt}, ${pendingOr(due)})`,
  };
}

/**
 * The index_due_at a settled change at `now` assigns (touch, for a statement built once): a flush
 * delay ahead when no copy is pending by index_due_at, null when one is (then the column is not
 * assigned). The statement assigns it through pendingOr, so a row above the watermark keeps null.
 */
export function indexDueAfter(
  job: Pick<JobRow, "indexDueAt">,
  now: number,
  t: { indexFlushDelayMs: number },
): number | null {
  return job.indexDueAt === null ? indexCopyDue(now, t.indexFlushDelayMs) : null;
}
