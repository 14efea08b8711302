-- A begun attempt's liveness deadline, kept in a column no index covers (issue 16, fewer rows per job):
-- begin writes it and leaves the indexed columns (status queued, deadline the dispatch lease) as the
-- claim wrote them, so begin writes one row instead of two (the row and its jobs_wake entry). A queued
-- row with run_deadline set is a running job (src/shard/sql/begun.ts); the alarm moves it into status
-- and deadline once the lease passes, a heartbeat at once. Existing rows: none is set, so every job
-- stays as it was.
ALTER TABLE `jobs` ADD `run_deadline` integer;