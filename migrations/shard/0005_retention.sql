ALTER TABLE `account` ADD `finished_retention_seconds` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `finished_retention_seconds` integer DEFAULT 604800 NOT NULL;--> statement-breakpoint
CREATE INDEX `idempotency_keys_job` ON `idempotency_keys` (`job_id`);--> statement-breakpoint
-- Jobs finished before retention existed are removed one retention period after their last change.
UPDATE `jobs` SET `deadline` = `updated_at` + `finished_retention_seconds` * 1000 WHERE `status` IN ('succeeded', 'failed', 'cancelled') AND `deadline` IS NULL;
