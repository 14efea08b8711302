-- The retention sweep (issue 16; src/shard/sql/retention-sweep.ts): a finished job whose finish can
-- leave it to the sweep is marked `swept` and leaves jobs_wake, which becomes partial, so that finish
-- writes no index entry (1 row written less per job); the sweep removes such jobs in rowid order, one
-- cursor per retention in retention_sweeps. Existing rows are not swept: all keep their entries, and
-- the cursors are made when the first job of each retention finishes from here on.
CREATE TABLE `retention_sweeps` (
	`retention_seconds` integer PRIMARY KEY NOT NULL,
	`through` integer NOT NULL,
	`sweep_at` integer
);
--> statement-breakpoint
DROP INDEX `jobs_wake`;--> statement-breakpoint
ALTER TABLE `jobs` ADD `swept` integer;--> statement-breakpoint
CREATE INDEX `jobs_wake` ON `jobs` (`status`,`needs_pools`,`deadline`) WHERE ("swept" is null or "status" not in ('succeeded', 'failed', 'cancelled'));