-- The latest attempt of each job moves into its row (issue 16, fewer rows per job): begin and finish
-- write it with the job row's own update, so a job that runs once writes no attempt row (it wrote one
-- at begin and rewrote it at finish), and the attempts table keeps only the earlier attempts, each
-- written once when the next one begins. None of these columns is indexed: no row written beyond the
-- job row's own. The attempt's start is last_run_at (begin wrote both with the same time) and its
-- lateness is max(0, last_run_at - last_attempt_scheduled_at) (begin computed it so).
ALTER TABLE `jobs` ADD `last_attempt_number` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_attempt_occurrence` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_attempt_status` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_attempt_scheduled_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_attempt_finished_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_attempt_error` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_attempt_resources` text;--> statement-breakpoint
-- Hand-written: existing jobs lose nothing. Each job's highest-numbered attempt row (running or ended)
-- is copied into its row, through the attempts table's own key...
UPDATE `jobs` SET (
	`last_attempt_number`, `last_attempt_occurrence`, `last_attempt_status`, `last_attempt_scheduled_at`,
	`last_run_at`, `last_attempt_finished_at`, `last_attempt_error`, `last_attempt_resources`
) = (
	SELECT `number`, `occurrence`, `status`, `scheduled_at`, `started_at`, `finished_at`, `error`, `resources`
	FROM `attempts` WHERE `attempts`.`job_id` = `jobs`.`id` ORDER BY `number` DESC LIMIT 1
) WHERE EXISTS (SELECT 1 FROM `attempts` WHERE `attempts`.`job_id` = `jobs`.`id`);--> statement-breakpoint
-- ...and leaves the table, which from here on holds only the attempts before each job's latest.
DELETE FROM `attempts` WHERE (`job_id`, `number`) IN (
	SELECT `id`, `last_attempt_number` FROM `jobs` WHERE `last_attempt_number` IS NOT NULL
);
