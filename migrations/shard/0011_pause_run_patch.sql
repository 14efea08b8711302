ALTER TABLE `jobs` ADD `extra_run` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `pending_patch` text;