// Writes job snapshots into the D1 index. D1 is a single writer and the first bottleneck at scale,
// so callers hand over many jobs at once and they go out as one batch (one round trip).
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { JobView } from "../core/job";
import { recordOperations } from "../metering/operations";
import { jobIndex } from "./schema";

export interface IndexEntry {
  view: JobView;
  version: number;
}

/**
 * upsertJobs: converges each row to the newest version it is given. Invariant: a row only ever
 * moves to a higher version, so repeated, late or out-of-order writes never regress it.
 */
export async function upsertJobs(d1: D1Database, entries: IndexEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const db = drizzle(d1);
  const statements = entries.map((e) =>
    db
      .insert(jobIndex)
      .values({
        jobId: e.view.id,
        userId: e.view.user_id,
        status: e.view.status,
        type: e.view.type,
        createdAt: Date.parse(e.view.created_at),
        version: e.version,
        // Listed jobs carry only their latest attempt (design.md); GET has the full history.
        doc: JSON.stringify({ ...e.view, attempts: e.view.attempts.slice(0, 1) }),
      })
      .onConflictDoUpdate({
        target: [jobIndex.userId, jobIndex.createdAt, jobIndex.jobId],
        set: {
          status: sql`excluded.status`,
          version: sql`excluded.version`,
          doc: sql`excluded.doc`,
        },
        setWhere: sql`excluded.version > ${jobIndex.version}`,
      }),
  );
  const [first, ...rest] = statements;
  if (!first) return;
  const results = await db.batch([first, ...rest]);
  let d1RowsRead = 0;
  let d1RowsWritten = 0;
  for (const r of results as { meta?: { rows_read?: number; rows_written?: number } }[]) {
    d1RowsRead += r.meta?.rows_read ?? 0;
    d1RowsWritten += r.meta?.rows_written ?? 0;
  }
  recordOperations("index", { d1RowsRead, d1RowsWritten });
}

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
