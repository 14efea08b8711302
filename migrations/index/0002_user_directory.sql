CREATE TABLE `user_directory` (
	`user_id` text NOT NULL,
	`name` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`created_at`, `user_id`)
);
