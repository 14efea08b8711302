// The D1 read model: one row per job, used only for listing. Never scheduled from.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const jobIndex = sqliteTable(
  "job_index",
  {
    jobId: text("job_id").primaryKey(),
    userId: text("user_id").notNull(),
    status: text("status").notNull(),
    type: text("type").notNull(),
    createdAt: integer("created_at").notNull(),
    // The shard's per-job version; upserts only ever move it forward.
    version: integer("version").notNull(),
    // The job object as the API shows it, at `version`.
    doc: text("doc").notNull(),
  },
  (t) => [
    index("job_index_user_created").on(t.userId, t.createdAt, t.jobId),
    index("job_index_user_status_created").on(t.userId, t.status, t.createdAt, t.jobId),
    index("job_index_user_type_created").on(t.userId, t.type, t.createdAt, t.jobId),
  ],
);

export type JobIndexRow = typeof jobIndex.$inferSelect;
