CREATE TABLE `metric_hours` (
	`hour` integer PRIMARY KEY NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`timed_out` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`expired` integer DEFAULT 0 NOT NULL,
	`jobs_succeeded` integer DEFAULT 0 NOT NULL,
	`jobs_failed` integer DEFAULT 0 NOT NULL,
	`jobs_cancelled` integer DEFAULT 0 NOT NULL,
	`lateness_max_ms` integer DEFAULT 0 NOT NULL,
	`lateness_sum_ms` integer DEFAULT 0 NOT NULL,
	`lateness` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `metric_totals` (
	`id` integer PRIMARY KEY NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`timed_out` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`expired` integer DEFAULT 0 NOT NULL,
	`jobs_succeeded` integer DEFAULT 0 NOT NULL,
	`jobs_failed` integer DEFAULT 0 NOT NULL,
	`jobs_cancelled` integer DEFAULT 0 NOT NULL,
	`lateness_max_ms` integer DEFAULT 0 NOT NULL,
	`lateness_sum_ms` integer DEFAULT 0 NOT NULL,
	`lateness` text DEFAULT '{}' NOT NULL
);
