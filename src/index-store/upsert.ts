// The index copy's write: job snapshots upserted into the D1 index by the shard's alarm
// (src/shard/outbound.ts). D1 is a single writer and the first bottleneck at scale, so callers hand
// over many jobs at once and they go out as one batch (one round trip).
//
// upsertJobs(d1, entries) → void
//   one D1 batch of one statement per chunk of entries (one chunk unless their documents pass
//   CHUNK_CHARS); each statement is built once as SQL text and binds its chunk as one JSON parameter,
//   so a flush costs no per-row statement, binding or query building. Writes job_index rows.
//   D1 rows written: 1 per row inserted or moved to a higher version, 0 for the others.
//
// Uses only the D1 binding's prepare/bind/batch (no cloudflare:* import), so the queries bench can
// time it in Node against a stand-in.
import type { JobView } from "../core/job";
import { recordOperations } from "../metering/operations";

export interface IndexEntry {
  view: JobView;
  version: number;
}

/** What the writer uses of a D1 binding (a D1Database is one). */
export interface IndexWriterDb<S> {
  prepare(query: string): { bind(...values: unknown[]): S };
  batch(statements: S[]): Promise<{ meta?: { rows_read?: number; rows_written?: number } }[]>;
}

/**
 * One upsert per row of the JSON array it binds (`[{id, user, status, type, created, version, doc}]`,
 * `doc` the job object). The row only ever moves to a higher version. `where true` lets SQLite read
 * the ON CONFLICT clause of an INSERT … SELECT.
 */
export const UPSERT_ROWS = `insert into job_index (job_id, user_id, status, type, created_at, version, doc)
  select json_extract(value, '$.id'), json_extract(value, '$.user'), json_extract(value, '$.status'),
    json_extract(value, '$.type'), json_extract(value, '$.created'), json_extract(value, '$.version'),
    json_extract(value, '$.doc')
  from json_each(?1) where true
  on conflict (user_id, created_at, job_id) do update
  set status = excluded.status, version = excluded.version, doc = excluded.doc
  where excluded.version > job_index.version`;

/**
 * Most characters of JSON one statement binds: a D1 value is at most 2,000,000 bytes, and a UTF-16
 * character is at most 3 bytes of UTF-8. A job's document is far smaller (a 64 KiB payload at most),
 * so a flush of 50 is one statement unless its payloads are large.
 */
export const CHUNK_CHARS = 600_000;

/** Each entry as one element of UPSERT_ROWS' array, grouped into arrays of at most CHUNK_CHARS. */
export function upsertChunks(entries: IndexEntry[]): string[] {
  const chunks: string[] = [];
  let parts: string[] = [];
  let chars = 2;
  for (const { view, version } of entries) {
    const part = JSON.stringify({
      id: view.id,
      user: view.user_id,
      status: view.status,
      type: view.type,
      created: Date.parse(view.created_at),
      version,
      // Listed jobs carry only their latest attempt (docs/design.md); GET has the full history.
      doc: view.attempts.length > 1 ? { ...view, attempts: view.attempts.slice(0, 1) } : view,
    });
    if (parts.length > 0 && chars + part.length + 1 > CHUNK_CHARS) {
      chunks.push(`[${parts.join(",")}]`);
      parts = [];
      chars = 2;
    }
    parts.push(part);
    chars += part.length + 1;
  }
  if (parts.length > 0) chunks.push(`[${parts.join(",")}]`);
  return chunks;
}

/**
 * upsertJobs: converges each row to the newest version it is given. Invariant: a row only ever
 * moves to a higher version, so repeated, late or out-of-order writes never regress it. The batch is
 * one D1 transaction: all of it lands or none.
 */
export async function upsertJobs<S>(d1: IndexWriterDb<S>, entries: IndexEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const results = await d1.batch(upsertChunks(entries).map((json) => d1.prepare(UPSERT_ROWS).bind(json)));
  let d1RowsRead = 0;
  let d1RowsWritten = 0;
  for (const r of results) {
    d1RowsRead += r.meta?.rows_read ?? 0;
    d1RowsWritten += r.meta?.rows_written ?? 0;
  }
  recordOperations("index", { d1RowsRead, d1RowsWritten });
}
