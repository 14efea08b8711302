ALTER TABLE `account` ADD `max_unfinished_jobs` integer;--> statement-breakpoint
ALTER TABLE `account` ADD `shard_ceiling` integer;--> statement-breakpoint
ALTER TABLE `account` ADD `grown_at` integer;