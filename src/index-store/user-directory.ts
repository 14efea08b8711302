// The user directory (GET /v1/admin/users): the one place that lists every user. Accounts live on
// each user's home shard, which only answers for its own user; this table in index database 0 names
// them all. Listing is an admin task, off the hot path, so one D1 database serves it.
import { and, asc, eq, gt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { userDirectory } from "./schema";

export interface DirectoryEntry {
  userId: string;
  name: string | null;
  createdAt: number;
}

/** Where a page of the directory ends: the last entry's key. */
export interface DirectoryPosition {
  createdAt: number;
  userId: string;
}

/**
 * registerUser: the user is listed from now on. Idempotent per (created_at, user id). Written before
 * the account is created, so every account that exists is in the directory.
 */
export async function registerUser(d1: D1Database, entry: DirectoryEntry): Promise<void> {
  await drizzle(d1).insert(userDirectory).values(entry).onConflictDoNothing().run();
}

/** One page, oldest first (keyset on the table's key), and the position to go on from (null: last). */
export async function listDirectory(
  d1: D1Database,
  q: { limit: number; after?: DirectoryPosition },
): Promise<{ entries: DirectoryEntry[]; next: DirectoryPosition | null }> {
  const after = q.after;
  const rows = await drizzle(d1)
    .select()
    .from(userDirectory)
    .where(
      after
        ? or(
            gt(userDirectory.createdAt, after.createdAt),
            and(eq(userDirectory.createdAt, after.createdAt), gt(userDirectory.userId, after.userId)),
          )
        : undefined,
    )
    .orderBy(asc(userDirectory.createdAt), asc(userDirectory.userId))
    .limit(q.limit + 1);
  const entries = rows.slice(0, q.limit);
  const last = entries.at(-1);
  return {
    entries,
    next: rows.length > q.limit && last ? { createdAt: last.createdAt, userId: last.userId } : null,
  };
}
