import { sql } from "drizzle-orm";
import { jobs } from "../schema";

/**
 * A change to a job that the D1 index need not see on its own (claimed, begun): bumps the version,
 * which guards the D1 upsert, and assigns no indexed column, so it costs one row written.
 */
export function bump(now: number) {
  return {
    updatedAt: now,
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
