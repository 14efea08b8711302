CREATE TABLE `allocations` (
	`job_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`pool` text NOT NULL,
	`units` integer NOT NULL,
	PRIMARY KEY(`job_id`, `attempt`, `pool`)
);
--> statement-breakpoint
CREATE INDEX `allocations_pool` ON `allocations` (`pool`);--> statement-breakpoint
CREATE TABLE `pools` (
	`name` text PRIMARY KEY NOT NULL,
	`capacity` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `attempts` ADD `resources` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `needs_pools` integer DEFAULT false NOT NULL;