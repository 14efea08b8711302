-- Rows written are billed, and every index a write touches is one more (docs/cost.md). jobs_deadline
-- served no query (jobs_wake covers every deadline lookup by status), and claimDue reads due jobs
-- through jobs_wake (a scheduled job's deadline is its due time) and sorts by effective priority,
-- which jobs_due could not serve.
DROP INDEX `jobs_deadline`;--> statement-breakpoint
DROP INDEX `jobs_due`;--> statement-breakpoint
-- Attempts WITHOUT ROWID: the (job_id, number) key is the table, so an attempt is one row written, not
-- a row and its key's index. Hand-written: drizzle's schema cannot say WITHOUT ROWID.
CREATE TABLE `__new_attempts` (
	`job_id` text NOT NULL,
	`number` integer NOT NULL,
	`occurrence` integer NOT NULL,
	`status` text NOT NULL,
	`scheduled_at` integer NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`lateness_ms` integer NOT NULL,
	`error` text,
	`resources` text DEFAULT '{}' NOT NULL,
	PRIMARY KEY(`job_id`, `number`)
) WITHOUT ROWID;--> statement-breakpoint
INSERT INTO `__new_attempts` SELECT `job_id`, `number`, `occurrence`, `status`, `scheduled_at`, `started_at`, `finished_at`, `lateness_ms`, `error`, `resources` FROM `attempts`;--> statement-breakpoint
DROP TABLE `attempts`;--> statement-breakpoint
ALTER TABLE `__new_attempts` RENAME TO `attempts`;
