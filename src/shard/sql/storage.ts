// The shard's storage under its drizzle database, for statements whose text is fixed (no query to build).
//
// storageOf(db) → ShardSql: the `sql` of the storage drizzle(storage) was given, and so the metering
//   facade in a TaskShard (src/metering/sql-meter.ts): what runs here is billed like any query. No SQL.
import type { ShardDb } from "../db";

/** What these statements use of a Durable Object's `storage.sql` (also what a node stand-in offers). */
export interface ShardSql {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
}

/** drizzle's durable-sqlite database keeps the storage it was given as `$client`. */
export const storageOf = (db: ShardDb): { sql: ShardSql } =>
  (db as unknown as { $client: { sql: ShardSql } }).$client;
