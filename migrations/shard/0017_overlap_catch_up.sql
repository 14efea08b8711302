ALTER TABLE `jobs` ADD `overlap` text DEFAULT 'skip' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `catch_up` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `catch_up_window_seconds` integer DEFAULT 3600 NOT NULL;