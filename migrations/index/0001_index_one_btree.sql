-- The index as one B-tree keyed by listing's order (user, created_at, job_id), WITHOUT ROWID: a page
-- is one range of the user's rows and each write is one row (D1 bills rows written; the table's own
-- key index and the three listing indexes made it five). Hand-edited: drizzle cannot say WITHOUT ROWID.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_job_index` (
	`job_id` text NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`type` text NOT NULL,
	`created_at` integer NOT NULL,
	`version` integer NOT NULL,
	`doc` text NOT NULL,
	PRIMARY KEY(`user_id`, `created_at`, `job_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_job_index`("job_id", "user_id", "status", "type", "created_at", "version", "doc") SELECT "job_id", "user_id", "status", "type", "created_at", "version", "doc" FROM `job_index`;--> statement-breakpoint
DROP TABLE `job_index`;--> statement-breakpoint
ALTER TABLE `__new_job_index` RENAME TO `job_index`;--> statement-breakpoint
PRAGMA foreign_keys=ON;
