CREATE TABLE `key_fence` (
	`id` integer PRIMARY KEY NOT NULL,
	`shards` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `account` ADD `former_shards` text DEFAULT '[]' NOT NULL;