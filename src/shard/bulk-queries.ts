// Bulk cancel and retry (POST /v1/jobs/cancel, POST /v1/jobs/retry) on one shard: the filter is read
// from the shard's own rows, never from the D1 read model, and applied in bounded batches.
import { and, asc, eq, gt, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { JobStatus } from "../core/state";
import { cancel } from "./attempt-queries";
import { applyControl } from "./control-queries";
import type { ShardTimings } from "./dispatch-queries";
import type { JobFilter } from "./rpc";
import { jobs } from "./schema";
import type { ShardDb } from "./view";

/** Rows decided per SQLite transaction: bounds one commit's size however many jobs match. */
export const BULK_BATCH = 500;

export type BulkAction = "cancel" | "retry";

/** The statuses each action can move a job out of; a job in any other status is not matched. */
const ACTIONABLE: Record<BulkAction, JobStatus[]> = {
  cancel: ["scheduled", "queued", "running", "paused"],
  retry: ["failed", "cancelled"],
};

/** The filter as SQL over the jobs table; every field given must match (an empty filter is refused upstream). */
function matching(filter: JobFilter, action: BulkAction): SQL | undefined {
  const statuses = ACTIONABLE[action].filter((s) => filter.status === undefined || s === filter.status);
  return and(
    inArray(jobs.status, statuses),
    // Only one-shot jobs can be retried (design.md).
    action === "retry" ? and(isNull(jobs.intervalSeconds), isNull(jobs.cron)) : undefined,
    // Ids travel as one JSON parameter: Durable Object SQLite binds at most 100 per query.
    filter.ids ? sql`${jobs.id} in (select value from json_each(${JSON.stringify(filter.ids)}))` : undefined,
    filter.type === undefined ? undefined : eq(jobs.type, filter.type),
    // length() counts characters, as substr() does; a JS length counts UTF-16 units (🚀 is 2).
    filter.name === undefined
      ? undefined
      : sql`substr(${jobs.name}, 1, length(${filter.name})) = ${filter.name}`,
    ...Object.entries(filter.labels ?? {}).map(
      ([k, v]) => sql`exists (select 1 from json_each(${jobs.labels}) where key = ${k} and value = ${v})`,
    ),
    filter.createdBefore === undefined ? undefined : lt(jobs.createdAt, filter.createdBefore),
  );
}

/**
 * applyBulk: cancels or retries every job of this shard that matches the filter, BULK_BATCH rows per
 * transaction, walking the ids in order so each job is decided once. Invariants: `matched` is exactly
 * the number of jobs this call moved (a job already cancelled, or not retryable, is not counted), so
 * repeating a cancel matches 0; each job moves through the same step as its single-job route
 * (cancel: units released, a running attempt closed; retry: history kept, pools checked).
 * Returns the count and whether pool units were freed or pooled jobs became due.
 */
export function applyBulk(
  db: ShardDb,
  action: BulkAction,
  filter: JobFilter,
  now: number,
  t: ShardTimings,
): { matched: number; poolsMoved: boolean } {
  const where = matching(filter, action);
  let matched = 0;
  let poolsMoved = false;
  let after = "";
  for (;;) {
    const page = db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(where, gt(jobs.id, after)))
      .orderBy(asc(jobs.id))
      .limit(BULK_BATCH)
      .all();
    if (page.length === 0) return { matched, poolsMoved };
    db.transaction(() => {
      for (const { id } of page) {
        const out = action === "cancel" ? cancel(db, id, now, t) : applyControl(db, "retry", id, now, t);
        if (!out.ok) continue;
        matched += 1;
        poolsMoved ||= out.released || out.job.needsPools;
      }
    });
    after = page[page.length - 1]?.id ?? after;
    if (page.length < BULK_BATCH) return { matched, poolsMoved };
  }
}
