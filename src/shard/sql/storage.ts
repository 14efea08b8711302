// The shard's storage under its drizzle database, for statements whose text is fixed (no query to build).
//
// storageOf(db) → DurableObjectStorage: the storage drizzle(storage) was given, and so the metering
//   facade in a TaskShard (src/metering/sql-meter.ts): what runs here is billed like any query. No SQL.
import type { ShardDb } from "../db";

/** drizzle's durable-sqlite database keeps the storage it was given as `$client`. */
export const storageOf = (db: ShardDb): DurableObjectStorage =>
  (db as unknown as { $client: DurableObjectStorage }).$client;
