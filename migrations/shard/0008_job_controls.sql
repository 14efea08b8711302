ALTER TABLE `jobs` ADD `labels` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `callback_url` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `retry_policy` text DEFAULT 'all' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `expires_after_seconds` integer;