-- Issue 18: flow control per key, overlap and catch-up, debounce. Hand-edited: flow_keys is WITHOUT ROWID
-- (its key is the table, so a start costs one row written, not a row and its key's index).
CREATE TABLE `flow_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`starts` text NOT NULL,
	`keep_ms` integer NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
ALTER TABLE `jobs` ADD `flow_control` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `flow_key` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `debounce` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `debounce_key` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `debounce_first_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `overlap` text DEFAULT 'skip' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `catch_up` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `catch_up_window_seconds` integer DEFAULT 3600 NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_debounce` ON `jobs` (`debounce_key`) WHERE "jobs"."debounce_key" is not null;