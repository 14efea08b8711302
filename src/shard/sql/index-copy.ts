// The shard's side of the D1 index copy (src/shard/outbound.ts, flushIndexCopies): which jobs' copies
// are due, and what D1 now holds. Each statement is built once per database (prepared.ts) and bound
// per call; a batch travels as one JSON parameter (Durable Object SQLite binds at most 100 per query),
// so each function is one statement whatever the batch's size (two in one transaction for
// advanceWatermark).
//
// Two ways a job's copy is pending (docs/architecture.md, "Index copies by watermark"):
//   (a) its row is above the index watermark W (index_watermark.copied_through): a row inserted after
//       the copy that last advanced W. Nothing is written per job to say so: a submit writes no
//       jobs_index_due entry, and a change to such a row assigns none (touch.ts, pendingOr).
//   (b) its index_due_at is set: a settled change to a row at or below W, or a copy postponed.
// The invariant: every job with rowid ≤ W has been copied to D1 at least as of the copy that advanced
// W, and every change since then to a settled state is pending by (b) (see advanceWatermark for the
// change made while that copy was in flight).
//
// dueForIndex(db, now, limit) → JobRow[]
//   (b): reads ≤ limit jobs whose index_due_at has come (jobs_index_due), earliest first. Rows written: 0.
// readWatermark(db) → Watermark
//   reads the watermark row. Rows written: 0.
// newRowsDue(db, w, now, delayMs, limit) → {rows, through}
//   (a): reads ≤ limit rows above w in rowid order, stopping at the first whose copy time
//   (indexCopyDue(created_at)) has not come, and ≤ limit (rowid, created_at) to find it. Rows written: 0.
// markIndexed(db, written) → void
//   (b): writes each job's indexed_version and index_due_at. Rows written per job: 1 when D1 holds its
//   newest version (its jobs_index_due entry leaves), 2 when a newer change keeps the copy pending, 0
//   when already recorded.
// advanceWatermark(db, through, copied, due) → void
//   (a), once D1 holds `copied`: one transaction; W = min(through, max(rowid)), retry_at cleared; a
//   copied job changed since it was read (version above the copied one) gets index_due_at = due.
//   Rows written: 1 (the watermark row) for the whole batch, + 2 per job changed meanwhile (row,
//   jobs_index_due; none in the usual case). The copied job rows themselves are not written.
// postponeWatermark(db, until) → void
//   (a) after a failed D1 write: retry_at = until, W unchanged. Rows written: 1.
// lowerWatermark(db) → void
//   after a delete of job rows, in the same transaction: W = max(rowid) (0 if empty) when it was
//   above it. Rows written: 1 when it lowers W (the shard's newest rows were deleted), else 0.
// postponeIndex(db, ids, until) → void
//   (b): writes each job's index_due_at. Rows written: 2 per job (row, jobs_index_due).
//
// indexed_version: the newest version a (b) copy recorded (markIndexed), a lower bound of what D1
// holds: a copy by the watermark records nothing in the job row (0 for a job only ever copied so). Its
// one reader is markIndexed's guard, which needs no more (D1's upsert is versioned: src/index-store).
import { and, asc, getTableColumns, isNotNull, lte, sql } from "drizzle-orm";
import { indexCopyCutoff } from "../../core/index-copy-time";
import type { ShardDb } from "../db";
import type { IndexedVersion } from "../rpc";
import { indexWatermark, type JobRow, jobs } from "../schema";
import { effective } from "./begun";
import { prepared } from "./prepared";

/** Jobs whose D1 copy is behind by their index_due_at, and due to be written. */
export function dueForIndex(db: ShardDb, now: number, limit: number): JobRow[] {
  const statement = prepared(db, "indexCopy.dueForIndex", (db) =>
    db
      .select()
      .from(jobs)
      .where(and(isNotNull(jobs.indexDueAt), lte(jobs.indexDueAt, sql.placeholder("now"))))
      .orderBy(asc(jobs.indexDueAt))
      .limit(sql.placeholder("limit"))
      .prepare(),
  );
  return statement.all({ now, limit }).map((row) => effective(row));
}

/** The index watermark: rows up to `copiedThrough` are copied; `retryAt`, a failed copy's retry time. */
export interface Watermark {
  copiedThrough: number;
  retryAt: number | null;
}

/** The watermark row (migration 0016 writes it; a shard without it counts as W = 0). */
export function readWatermark(db: ShardDb): Watermark {
  const row = prepared(db, "indexCopy.watermark", (db) =>
    db
      .select({ copiedThrough: indexWatermark.copiedThrough, retryAt: indexWatermark.retryAt })
      .from(indexWatermark)
      .where(sql`${indexWatermark.id} = 0`)
      .prepare(),
  ).get();
  return row ?? { copiedThrough: 0, retryAt: null };
}

/** Larger than any rowid. */
const NO_ROWID = "9223372036854775807";

/**
 * The new rows (above `copiedThrough`) whose copy time has come, in rowid order, at most `limit`:
 * the rows before the first one (of the next `limit`) created at or after indexCopyCutoff(now), i.e.
 * whose indexCopyDue(created_at) is still ahead. A prefix, so W can advance to its last rowid
 * (`through`, null when none is due). Rows are read as every whole-row reader reads them (effective).
 */
export function newRowsDue(
  db: ShardDb,
  copiedThrough: number,
  now: number,
  delayMs: number,
  limit: number,
): { rows: JobRow[]; through: number | null } {
  const statement = prepared(db, "indexCopy.newRowsDue", (db) => {
    const w = sql.placeholder("w");
    const n = sql.placeholder("limit");
    return db
      .select({ ...getTableColumns(jobs), rowid: sql<number>`"jobs"."rowid"`.as("rowid") })
      .from(jobs)
      .where(
        sql`"jobs"."rowid" > ${w} and "jobs"."rowid" < coalesce((
          select min(r) from (select rowid as r, created_at as c from jobs where rowid > ${w} order by rowid limit ${n})
          where c >= ${sql.placeholder("cutoff")}), ${sql.raw(NO_ROWID)})`,
      )
      .orderBy(sql`"jobs"."rowid"`)
      .limit(n)
      .prepare();
  });
  const found = statement.all({ w: copiedThrough, limit, cutoff: indexCopyCutoff(now, delayMs) });
  const last = found.at(-1);
  return {
    rows: found.map(({ rowid: _rowid, ...row }) => effective(row)),
    through: last ? last.rowid : null,
  };
}

/**
 * markIndexed: records that D1 holds `version` of each job. Invariant: the pending index write is
 * cleared only when D1 holds the newest version; a change made since keeps its pending write. A job
 * named twice counts with its highest version.
 */
export function markIndexed(db: ShardDb, written: IndexedVersion[]): void {
  if (written.length === 0) return;
  const statement = prepared(db, "indexCopy.markIndexed", (db) =>
    db
      .update(jobs)
      .set({
        indexedVersion: sql`max(${jobs.indexedVersion}, w.version)`,
        indexDueAt: sql`case when ${jobs.version} <= w.version then null else ${jobs.indexDueAt} end`,
      })
      .from(
        sql`(select json_extract(value, '$.id') as id, max(json_extract(value, '$.version')) as version
             from json_each(${sql.placeholder("written")}) group by 1) as w`,
      )
      .where(and(sql`${jobs.id} = w.id`, sql`${jobs.indexedVersion} < w.version`))
      .prepare(),
  );
  statement.run({ written: JSON.stringify(written.map(({ id, version }) => ({ id, version }))) });
}

/**
 * advanceWatermark: D1 holds `copied` (the rows newRowsDue read, up to rowid `through`), so W moves up
 * to `through`, in one step with the check that makes it exact. Invariant kept: every row at or below
 * W is in D1 as of this copy, and any change to it since is pending by index_due_at. A change made
 * while this copy awaited D1 saw the row above the old W and assigned no index_due_at (touch.ts): its
 * version is above the copied one, so it gets `due` here, in the same step that moves the row below W.
 * W never passes max(rowid): the rows a delete removed meanwhile are not counted (lowerWatermark).
 */
export function advanceWatermark(db: ShardDb, through: number, copied: IndexedVersion[], due: number): void {
  const changed = prepared(db, "indexCopy.changedSinceCopy", (db) =>
    db
      .update(jobs)
      .set({ indexDueAt: sql`${sql.placeholder("due")}` })
      .from(
        sql`(select json_extract(value, '$.id') as id, json_extract(value, '$.version') as version
             from json_each(${sql.placeholder("copied")})) as w`,
      )
      .where(and(sql`${jobs.id} = w.id`, sql`${jobs.version} > w.version`, sql`${jobs.indexDueAt} is null`))
      .prepare(),
  );
  const advance = prepared(db, "indexCopy.advanceWatermark", (db) =>
    db
      .insert(indexWatermark)
      .values({
        id: 0,
        copiedThrough: sql`min(${sql.placeholder("through")}, (select coalesce(max(rowid), 0) from jobs))`,
        retryAt: null,
      })
      .onConflictDoUpdate({
        target: indexWatermark.id,
        set: { copiedThrough: sql`excluded.copied_through`, retryAt: null },
      })
      .prepare(),
  );
  db.transaction(() => {
    changed.run({ due, copied: JSON.stringify(copied.map(({ id, version }) => ({ id, version }))) });
    advance.run({ through });
  });
}

/** A failed D1 write of the new rows: W stays, and the copy is tried again at `until`. */
export function postponeWatermark(db: ShardDb, until: number): void {
  prepared(db, "indexCopy.postponeWatermark", (db) =>
    db
      .insert(indexWatermark)
      .values({ id: 0, copiedThrough: 0, retryAt: sql`${sql.placeholder("until")}` })
      .onConflictDoUpdate({ target: indexWatermark.id, set: { retryAt: sql`excluded.retry_at` } })
      .prepare(),
  ).run({ until });
}

/**
 * lowerWatermark: after job rows were deleted, in the delete's own transaction. Keeps W ≤ max(rowid)
 * (0 when the table is empty), which is what makes a new row pending by construction: the jobs table
 * has no AUTOINCREMENT, so SQLite gives a new row max(rowid) + 1 (> W), and would reuse the rowids of
 * deleted newest rows. Lowering W to max(rowid) marks no copied row pending again: every row left is
 * at or below it. Rows written: 1 when W was above max(rowid), else 0.
 */
export function lowerWatermark(db: Pick<ShardDb, "run">): void {
  db.run(sql`update ${indexWatermark} set copied_through = (select coalesce(max(rowid), 0) from jobs)
    where id = 0 and copied_through > (select coalesce(max(rowid), 0) from jobs)`);
}

/** A failed D1 write is tried again later, from the shard, until it lands. */
export function postponeIndex(db: ShardDb, ids: string[], until: number): void {
  if (ids.length === 0) return;
  const statement = prepared(db, "indexCopy.postponeIndex", (db) =>
    db
      .update(jobs)
      .set({ indexDueAt: sql`${sql.placeholder("until")}` })
      .where(sql`${jobs.id} in (select value from json_each(${sql.placeholder("ids")}))`)
      .prepare(),
  );
  statement.run({ until, ids: JSON.stringify(ids) });
}
