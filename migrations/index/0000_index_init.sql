CREATE TABLE `job_index` (
	`job_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`type` text NOT NULL,
	`created_at` integer NOT NULL,
	`version` integer NOT NULL,
	`doc` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `job_index_user_created` ON `job_index` (`user_id`,`created_at`,`job_id`);--> statement-breakpoint
CREATE INDEX `job_index_user_status_created` ON `job_index` (`user_id`,`status`,`created_at`,`job_id`);--> statement-breakpoint
CREATE INDEX `job_index_user_type_created` ON `job_index` (`user_id`,`type`,`created_at`,`job_id`);