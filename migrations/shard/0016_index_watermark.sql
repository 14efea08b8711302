-- The index copy's watermark (src/shard/sql/index-copy.ts): every job with rowid ≤ copied_through has
-- been copied to D1; a row above it has its copy pending without a jobs_index_due entry. Existing rows
-- keep their per-row tracking (index_due_at), so the watermark starts at the table's max(rowid): nothing
-- already copied is copied again, and every row inserted from now on is above it.
CREATE TABLE `index_watermark` (
	`id` integer PRIMARY KEY NOT NULL,
	`copied_through` integer NOT NULL,
	`retry_at` integer
);--> statement-breakpoint
INSERT INTO `index_watermark` (`id`, `copied_through`) SELECT 0, coalesce(max(rowid), 0) FROM `jobs`;
