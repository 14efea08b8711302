// Listing from the D1 index: newest first, keyset pagination (no OFFSET), filtered by status/type.
import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { JobView } from "../core/job";
import type { Position } from "./cursor";
import { jobIndex } from "./schema";

export interface ListQuery {
  userId: string;
  status?: string;
  type?: string;
  limit: number;
  after?: Position;
}

/** One page and the position to continue from (null on the last page). */
export async function listJobs(
  d1: D1Database,
  q: ListQuery,
): Promise<{ jobs: JobView[]; next: Position | null }> {
  const filters: (SQL | undefined)[] = [eq(jobIndex.userId, q.userId)];
  if (q.status) filters.push(eq(jobIndex.status, q.status));
  if (q.type) filters.push(eq(jobIndex.type, q.type));
  if (q.after) {
    filters.push(
      or(
        lt(jobIndex.createdAt, q.after.createdAt),
        and(eq(jobIndex.createdAt, q.after.createdAt), lt(jobIndex.jobId, q.after.jobId)),
      ),
    );
  }
  const rows = await drizzle(d1)
    .select({ jobId: jobIndex.jobId, createdAt: jobIndex.createdAt, doc: jobIndex.doc })
    .from(jobIndex)
    .where(and(...filters))
    .orderBy(desc(jobIndex.createdAt), desc(jobIndex.jobId))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    jobs: page.map((r) => JSON.parse(r.doc) as JobView),
    next: rows.length > q.limit && last ? { createdAt: last.createdAt, jobId: last.jobId } : null,
  };
}
