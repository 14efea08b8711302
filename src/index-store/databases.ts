// The index is partitioned by user over several D1 databases: one holds 10 GB and runs one query at a
// time, and 100 million jobs a day would fill one in hours. A user is assigned a database at creation
// and keeps it (the number is stored on the home shard and copied into each job), so databases can be
// added later without moving anyone; listing, filters and cursors work within the user's database.
import { fnv1a } from "../core/queue-choice";
import type { Env } from "../env";

/** The database a new user gets: a stable hash of the user id over the databases now in use. */
export function assignIndexDatabase(userId: string, databases: number): number {
  return fnv1a(userId) % databases;
}

/**
 * The binding of index database `n`: INDEX_DB, then INDEX_DB_1, INDEX_DB_2, … by name, so adding one is
 * a block in wrangler.toml and INDEX_DATABASES (docs/deploy.md). A database with no binding is a
 * configuration error.
 */
export function indexDatabase(env: Env, n: number): D1Database {
  const binding = n === 0 ? "INDEX_DB" : `INDEX_DB_${n}`;
  const db = (env as unknown as Record<string, D1Database | undefined>)[binding];
  if (!db) throw new Error(`index database ${n} has no binding (${binding})`);
  return db;
}
