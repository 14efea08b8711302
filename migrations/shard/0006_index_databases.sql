ALTER TABLE `account` ADD `index_db` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `index_db` integer DEFAULT 0 NOT NULL;