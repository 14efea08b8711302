// The shard's side of the D1 index copy (src/shard/outbound.ts, flushIndexCopies): which jobs' copies
// are due, and what D1 now holds. Each statement is built once per database (prepared.ts) and bound
// per call; a batch travels as one JSON parameter (Durable Object SQLite binds at most 100 per query),
// so each function is one statement whatever the batch's size.
//
// dueForIndex(db, now, limit) → JobRow[]
//   reads ≤ limit jobs whose index copy is due (jobs_index_due), earliest first. Rows written: 0.
// markIndexed(db, written) → void
//   writes each job's indexed_version and index_due_at. Rows written per job: 1 when D1 holds its newest
//   version (its jobs_index_due entry leaves), 2 when a newer change keeps the copy pending, 0 when
//   already recorded.
// postponeIndex(db, ids, until) → void
//   writes each job's index_due_at. Rows written: 2 per job (row, jobs_index_due).
import { and, asc, isNotNull, lte, sql } from "drizzle-orm";
import type { ShardDb } from "../db";
import type { IndexedVersion } from "../rpc";
import { type JobRow, jobs } from "../schema";
import { effective } from "./begun";
import { prepared } from "./prepared";

/** Jobs whose D1 copy is behind and due to be written. */
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
