-- Pending callbacks (design.md `callback_url`). WITHOUT ROWID: the (job_id, occurrence) key is the
-- table, so recording a callback writes the row and its deadline entry, not also a key index.
-- Hand-edited: drizzle's schema cannot say WITHOUT ROWID.
CREATE TABLE `callbacks` (
	`job_id` text NOT NULL,
	`occurrence` integer NOT NULL,
	`url` text NOT NULL,
	`body` text NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	`sends` integer DEFAULT 0 NOT NULL,
	`deadline` integer NOT NULL,
	PRIMARY KEY(`job_id`, `occurrence`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `callbacks_deadline` ON `callbacks` (`deadline`);
