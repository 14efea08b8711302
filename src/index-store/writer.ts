// Writes to the D1 index: job snapshots (upsertJobs, in upsert.ts: the alarm's hot path, built once
// and free of any binding type so the queries bench times it in Node) and retention's removals. D1 is
// a single writer and the first bottleneck at scale, so callers hand over many jobs at once and they
// go out as one batch (one round trip).
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { recordOperations } from "../metering/operations";
import { jobIndex } from "./schema";

export { type IndexEntry, upsertJobs } from "./upsert";

/**
 * removeFromIndex: deletes the rows of jobs that retention removed. Each is found by its full key
 * (user, created_at, job_id), one B-tree lookup; a row already gone is no error, so a repeated
 * removal is harmless.
 */
export async function removeFromIndex(
  d1: D1Database,
  rows: { userId: string; createdAt: number; id: string }[],
): Promise<void> {
  if (rows.length === 0) return;
  const db = drizzle(d1);
  const [first, ...rest] = rows.map((r) =>
    db
      .delete(jobIndex)
      .where(
        and(eq(jobIndex.userId, r.userId), eq(jobIndex.createdAt, r.createdAt), eq(jobIndex.jobId, r.id)),
      ),
  );
  if (!first) return;
  const results = await db.batch([first, ...rest]);
  let d1RowsWritten = 0;
  for (const r of results as { meta?: { rows_written?: number } }[])
    d1RowsWritten += r.meta?.rows_written ?? 0;
  recordOperations("retention", { d1RowsWritten });
}
