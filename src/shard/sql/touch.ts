// The version and index-copy columns a change of a job's state writes with it (no SQL of its own).
//
// bump(now) → {updated_at, version}: no indexed column, so no row written beyond the job row's own.
//   `now` may be a placeholder, for a statement built once (prepared.ts).
// touch(now, t) → bump's columns + index_due_at: always 1 more row written (its jobs_index_due entry),
//   even when a copy is already pending, since the column is assigned whatever its value.
//
// How SQLite rows written are counted (Cloudflare's rowsWritten, as measured): an insert, 1 per row + 1
// per index entry; an update, 1 per row + 1 per index whose column it assigns, changed or not (none for
// a partial index the new row is left out of: jobs_index_due when index_due_at becomes null); a delete,
// 1 per row, whatever its indexes. The jobs table's indexes: the id key, jobs_wake (status,
// needs_pools, deadline), jobs_index_due (index_due_at, when not null).
import { type Placeholder, sql } from "drizzle-orm";
import { jobs } from "../schema";

/**
 * A change to a job that the D1 index need not see on its own (claimed, begun): bumps the version,
 * which guards the D1 upsert, and assigns no indexed column, so it costs one row written.
 */
export function bump(now: number | Placeholder) {
  return {
    updatedAt: typeof now === "number" ? now : sql<number>`${now}`,
    version: sql`${jobs.version} + 1`,
  };
}

/**
 * A change to a settled state (scheduled, succeeded, failed, cancelled) that the index must show:
 * bumps the version and schedules the index copy `indexFlushDelayMs` ahead, keeping an earlier
 * pending time, so a burst of changes to one job costs one D1 write. Transient states (queued,
 * running) use `bump`: listing shows them only if a settled state's copy happens to catch them,
 * and `GET /v1/jobs/:id` always has the current one.
 */
export function touch(now: number, t: { indexFlushDelayMs: number }) {
  return {
    ...bump(now),
    indexDueAt: sql`coalesce(${jobs.indexDueAt}, ${now + t.indexFlushDelayMs})`,
  };
}
