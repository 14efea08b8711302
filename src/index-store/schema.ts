// The D1 read model: one row per job, used only for listing. Never scheduled from.
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const jobIndex = sqliteTable(
  "job_index",
  {
    jobId: text("job_id").notNull(),
    userId: text("user_id").notNull(),
    status: text("status").notNull(),
    type: text("type").notNull(),
    createdAt: integer("created_at").notNull(),
    // The shard's per-job version; upserts only ever move it forward.
    version: integer("version").notNull(),
    // The job object as the API shows it, at `version`.
    doc: text("doc").notNull(),
  },
  // One B-tree, WITHOUT ROWID (migration 0001): the key is listing's order, so a page is one range of
  // the user's rows and each write costs one row (D1 bills rows written; every index would add one).
  // Status, type, name and label filters read through the user's range instead of an index of their
  // own: reads cost a thousandth of a write, and a user's range is bounded by retention.
  (t) => [primaryKey({ columns: [t.userId, t.createdAt, t.jobId] })],
);

export type JobIndexRow = typeof jobIndex.$inferSelect;

// The user directory (GET /v1/admin/users), in index database 0 only: accounts live on each user's
// home shard and nothing else lists them. Written when a user is created; keyed by the listing's
// order (oldest first), so a page is one range and a walk never misses a user created meanwhile.
export const userDirectory = sqliteTable(
  "user_directory",
  {
    userId: text("user_id").notNull(),
    name: text("name"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.createdAt, t.userId] })],
);
