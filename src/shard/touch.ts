import { sql } from "drizzle-orm";
import { jobs } from "./schema";

/**
 * Every change to a job bumps its version (which guards the D1 upsert) and schedules the index
 * copy `indexFlushDelayMs` ahead, keeping an earlier pending time, so a burst of changes to one
 * job costs one D1 write.
 */
export function touch(now: number, t: { indexFlushDelayMs: number }) {
  return {
    updatedAt: now,
    version: sql`${jobs.version} + 1`,
    indexDueAt: sql`coalesce(${jobs.indexDueAt}, ${now + t.indexFlushDelayMs})`,
  };
}
