// The shard's storage under its drizzle database, for statements whose text is fixed (no query to build).
// Defined beside findJob in src/shard/db.ts (which uses it too and must not import from here).
export { type ShardSql, storageOf } from "../db";
