CREATE TABLE `account` (
	`user_id` text PRIMARY KEY NOT NULL,
	`name` text,
	`shards` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`key_hash` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `attempts` (
	`job_id` text NOT NULL,
	`number` integer NOT NULL,
	`occurrence` integer NOT NULL,
	`status` text NOT NULL,
	`scheduled_at` integer NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`lateness_ms` integer NOT NULL,
	`error` text,
	PRIMARY KEY(`job_id`, `number`)
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`body_hash` text NOT NULL,
	`job_id` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`priority` integer NOT NULL,
	`payload` text,
	`run_at` integer NOT NULL,
	`occurrence_at` integer NOT NULL,
	`interval_seconds` integer,
	`cron` text,
	`timezone` text,
	`max_retries` integer NOT NULL,
	`current_retries` integer DEFAULT 0 NOT NULL,
	`retry_delay_seconds` integer NOT NULL,
	`timeout_seconds` integer NOT NULL,
	`result_location` text,
	`result` text,
	`last_error` text,
	`resources` text NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	`last_run_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`occurrence` integer DEFAULT 0 NOT NULL,
	`deadline` integer,
	`version` integer DEFAULT 1 NOT NULL,
	`indexed_version` integer DEFAULT 0 NOT NULL,
	`index_due_at` integer
);
--> statement-breakpoint
CREATE INDEX `jobs_deadline` ON `jobs` (`deadline`) WHERE "jobs"."deadline" is not null;--> statement-breakpoint
CREATE INDEX `jobs_due` ON `jobs` (`status`,`priority`,`run_at`);--> statement-breakpoint
CREATE INDEX `jobs_index_due` ON `jobs` (`index_due_at`) WHERE "jobs"."index_due_at" is not null;--> statement-breakpoint
CREATE TABLE `signing_secrets` (
	`secret` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer
);
