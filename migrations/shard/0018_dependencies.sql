-- Issue 19: job dependencies. Hand-edited: dependents and dependency_messages are WITHOUT ROWID (their
-- key is the table, so a row costs one row written, not a row and its key's index).
CREATE TABLE `dependency_messages` (
	`kind` text NOT NULL,
	`job_id` text NOT NULL,
	`dep_id` text NOT NULL,
	`outcome` text,
	`deadline` integer NOT NULL,
	`sends` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`kind`, `job_id`, `dep_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `dependency_messages_deadline` ON `dependency_messages` (`deadline`);--> statement-breakpoint
CREATE TABLE `dependents` (
	`dep_id` text NOT NULL,
	`job_id` text NOT NULL,
	`waiting` integer DEFAULT true NOT NULL,
	PRIMARY KEY(`dep_id`, `job_id`)
) WITHOUT ROWID;
--> statement-breakpoint
ALTER TABLE `jobs` ADD `depends_on` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `on_dependency_failure` text DEFAULT 'fail' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `blocked_by` text;