-- Issue 22 (hardening): an admin's cap on a user's pools (null: MAX_POOLS), and whether a job's result
-- objects are named under its user's own root. Existing rows take false (their earlier attempts wrote
-- under the bare prefix; retention removes both names); every new job is written with true.
ALTER TABLE `account` ADD `max_pools` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `results_scoped` integer DEFAULT false NOT NULL;