// Debounce on the home shard (docs/design.md "Debounce"; the run_at rule is src/core/debounce.ts). Every
// debounced job lives on the user's home shard, so one shard decides for a key and a key's pending job
// is always found where the next submit looks, however the user's shard count grows.
//
// pendingJob(db, key) → JobRow | undefined
//   reads the key's newest job through jobs_debounce (one index entry and its row). Pending: never
//   claimed (attempt 0: a job claimed has started, its message went out or was about to) and scheduled
//   or paused (a paused job has not started either). Rows written: 0. Built once.
// replacePending(db, pending, spec, now, t) → JobRow
//   writes jobs[id]: the new submit's body in place of the pending job's (same id, created_at and first
//   submit), due at debouncedRunAt (a paused one stays paused, with that run_at); version bumped and its
//   index copy scheduled. Rows written: 2 (row, jobs_wake: its due time moves) + 1 (jobs_index_due)
//   unless a copy is pending already.
// leaveKeys(db, ids) → void
//   a retry of a debounced job (cancelled before it started) makes it a plain job: its debounce and
//   key are cleared, so it never is a pending job again beside a newer one. Rows written: 2 per
//   debounced job (row, its jobs_debounce entry); none for any other.
//
// Why the newest job of the key is the only one to look at: a job of the key is created only when the
// key has no pending job, so every older one had started when a newer one was created, and a job that
// has started (been claimed) is never pending again: the claim's attempt number only grows.
import { desc, eq, sql } from "drizzle-orm";
import { debouncedRunAt } from "../../core/debounce";
import { isGated } from "../../core/flow-control";
import type { NewJob } from "../../core/job";
import type { ShardDb, ShardTimings } from "../db";
import { type JobRow, jobs } from "../schema";
import { prepared } from "./prepared";
import { touch } from "./touch";

const newestOfKey = (db: ShardDb) =>
  prepared(db, "debounce.newestOfKey", (d) =>
    d
      .select()
      .from(jobs)
      .where(eq(jobs.debounceKey, sql.placeholder("key")))
      .orderBy(desc(sql`${jobs}.rowid`))
      .limit(1)
      .prepare(),
  );

/**
 * leaveKeys: the retried jobs among `ids` that were debounced leave their keys. Invariant: a job of a
 * key that was cancelled before it started and is retried (attempt still 0) would be pending again
 * while a newer job of the key may be: as a plain job it runs on its own, and the key keeps one.
 */
export function leaveKeys(db: ShardDb, ids: readonly string[]): void {
  if (ids.length === 0) return;
  db.update(jobs)
    .set({ debounce: null, debounceKey: null, debounceFirstAt: null })
    .where(
      sql`${jobs.id} in (select value from json_each(${JSON.stringify(ids)})) and ${jobs.debounceKey} is not null`,
    )
    .run();
}

/** The key's pending job: its newest, if that one was never claimed and is scheduled or paused. */
export function pendingJob(db: ShardDb, key: string): JobRow | undefined {
  const newest = newestOfKey(db).get({ key });
  if (newest?.attempt !== 0) return undefined;
  return newest.status === "scheduled" || newest.status === "paused" ? newest : undefined;
}

/**
 * replacePending: a submit with the key of a pending job. Invariant: the key keeps one pending job,
 * which takes the new body whole (type, payload, priority, limits, labels… and the new submit's trace
 * context) and runs delay_seconds after this submit, but no later than max_wait_seconds after the
 * first. Its id, created_at and first submit stay; the fence (attempt) is untouched, so nothing in
 * flight can be confused with it (a pending job has nothing in flight).
 */
export function replacePending(
  db: ShardDb,
  pending: JobRow,
  spec: NewJob,
  now: number,
  t: ShardTimings,
): JobRow {
  const { id: _id, userId: _user, debounce, ...fields } = spec;
  const firstAt = pending.debounceFirstAt ?? now;
  const runAt = debounce ? debouncedRunAt(debounce, firstAt, now) : spec.runAt;
  const updated = db
    .update(jobs)
    .set({
      ...fields,
      debounce,
      runAt,
      occurrenceAt: runAt,
      // A paused job has no deadline: nothing is due until it is resumed (to this run_at).
      deadline: pending.status === "paused" ? null : runAt,
      needsPools: isGated(spec),
      flowKey: spec.flowControl?.key ?? null,
      ...touch(now, t, pending),
    })
    .where(eq(jobs.id, pending.id))
    .returning()
    .get();
  if (!updated) throw new Error(`debounced job ${pending.id} vanished while it was replaced`);
  return updated;
}
