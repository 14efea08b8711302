// Bulk cancel and retry (POST /v1/jobs/cancel, /v1/jobs/retry) on one shard, in bounded steps.
//
// startWalk(db, filter) → BulkWalk | null
//   reads max(jobs.id) (the id key), unless the filter names ids. Rows written: 0.
// countStep(db, action, filter, walk) → {matching, rest}
//   reads ≤ BULK_BATCH jobs in id order (each row holds its latest attempt). Rows written: 0.
// bulkStep(db, action, filter, walk, now, t, limit?) → {moved, poolsMoved, rest}
//   one transaction; reads ≤ BULK_BATCH jobs in id order; writes each matching job (≤ limit),
//   set-based or through cancel / applyControl("retry"). Rows written: cancel, 3 per scheduled or
//   idle paused job (row, jobs_wake, jobs_index_due) + 1 per step that moved any (one minute upsert),
//   and cancel's cost for each other job (queued, running, a PATCH waiting); retry, 3 per job; one
//   less per job whose index copy is already pending (touch: index_due_at set, or the row above the
//   index watermark). 0 when nothing matches.
//
// The filter is read from the shard's own rows, never from the D1 read model. Each step is one
// synchronous SQLite transaction; the shard lets other requests in between steps (src/shard/bulk-runner.ts), so
// no request waits behind more than one step.
import { and, eq, gt, inArray, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { JobStatus } from "../../core/state";
import type { ShardDb, ShardTimings } from "../db";
import type { JobFilter } from "../rpc";
import { allocations, jobs } from "../schema";
import { cancel } from "./attempts";
import { EFFECTIVE_STATUS } from "./begun";
import { applyControl } from "./controls";
import { leaveKeys } from "./debounce";
import { tellDependents } from "./dependencies";
import { countInMinute } from "./metrics";
import { removalTimeSql } from "./retention";
import { forgetUnfinishedBound } from "./submit";
import { touch } from "./touch";

/**
 * Rows one step visits (and so at most moves): bounds the time any other request of the shard waits
 * for a bulk action, and one commit's size, however many jobs match (docs/benchmarks.md).
 */
export const BULK_BATCH = 500;

export type BulkAction = "cancel" | "retry";

/** The statuses each action can move a job out of; a job in any other status is not matched. */
const ACTIONABLE: Record<BulkAction, JobStatus[]> = {
  cancel: ["scheduled", "queued", "running", "paused"],
  retry: ["failed", "cancelled"],
};

/**
 * Where a bulk action's walk stands. `scan`: the jobs table in id order, after `after`, up to `last`
 * (the largest id when the action began, so it ends even while jobs are submitted). `ids`: the ids
 * the filter names, sorted, from `next` on.
 */
export type BulkWalk =
  | { kind: "scan"; after: string; last: string }
  | { kind: "ids"; ids: string[]; next: number };

/** The filter as SQL over the jobs table; every field given must match (an empty filter is refused upstream). */
function matching(filter: JobFilter, action: BulkAction): SQL {
  const statuses = ACTIONABLE[action].filter((s) => filter.status === undefined || s === filter.status);
  if (statuses.length === 0) return sql`0`;
  return (
    and(
      // As readers see it: a begun attempt stored queued is running (begun.ts).
      sql`${EFFECTIVE_STATUS} in ${statuses}`,
      // Only one-shot jobs can be retried (docs/design.md).
      action === "retry" ? and(isNull(jobs.intervalSeconds), isNull(jobs.cron)) : undefined,
      filter.type === undefined ? undefined : eq(jobs.type, filter.type),
      // length() counts characters, as substr() does; a JS length counts UTF-16 units (🚀 is 2).
      filter.name === undefined
        ? undefined
        : sql`substr(${jobs.name}, 1, length(${filter.name})) = ${filter.name}`,
      ...Object.entries(filter.labels ?? {}).map(
        ([k, v]) => sql`exists (select 1 from json_each(${jobs.labels}) where key = ${k} and value = ${v})`,
      ),
      filter.createdBefore === undefined ? undefined : sql`${jobs.createdAt} < ${filter.createdBefore}`,
    ) ?? sql`1`
  );
}

/**
 * The jobs one set-based update can move exactly as the single-job step would, because that step
 * would only rewrite the row: cancel, a scheduled or idle paused job (no attempt in flight, so no
 * attempt to close and no units held) with no PATCH waiting; retry, a job naming no pool (so
 * there is no pool to check). The rest (queued, running, a PATCH waiting, pooled retries: at most
 * the in-flight window and what runs, or the home shard's pooled jobs) go through the single-job
 * step one by one.
 */
function setBased(action: BulkAction): SQL {
  // A retried job with dependencies waits on them again (applyControl links it: dependencies.ts).
  if (action === "retry")
    return sql`${jobs.needsPools} = 0 and ${jobs.pendingPatch} is null and ${jobs.dependsOn} is null`;
  // In flight: the job's latest attempt (in its row) is its current one and running (attemptInFlight).
  return sql`${jobs.status} in ('scheduled', 'paused') and ${jobs.pendingPatch} is null
    and (${jobs.lastAttemptStatus} is not 'running' or ${jobs.lastAttemptNumber} is not ${jobs.attempt})`;
}

/** Ids as one parameter: Durable Object SQLite binds at most 100 per query. */
const idIn = (ids: string[]) => sql`${jobs.id} in (select value from json_each(${JSON.stringify(ids)}))`;

/** The walk over everything the filter can name, or null when there is nothing to visit. */
export function startWalk(db: ShardDb, filter: JobFilter): BulkWalk | null {
  if (filter.ids) {
    const ids = [...new Set(filter.ids)].sort();
    return ids.length > 0 ? { kind: "ids", ids, next: 0 } : null;
  }
  const last = db
    .select({ last: sql<string | null>`max(${jobs.id})` })
    .from(jobs)
    .get()?.last;
  return last ? { kind: "scan", after: "", last } : null;
}

interface Visited {
  id: string;
  matches: number;
  setBased: number;
}

/** The next rows of the walk (at most BULK_BATCH, in id order), whether each matches, and the walk after them. */
function visit(
  db: ShardDb,
  walk: BulkWalk,
  action: BulkAction,
  filter: JobFilter,
): { rows: Visited[]; rest: BulkWalk | null } {
  const columns = {
    id: jobs.id,
    matches: sql<number>`(${matching(filter, action)})`,
    setBased: sql<number>`(${setBased(action)})`,
  };
  if (walk.kind === "ids") {
    const chunk = walk.ids.slice(walk.next, walk.next + BULK_BATCH);
    const rows = db.select(columns).from(jobs).where(idIn(chunk)).orderBy(jobs.id).all();
    const next = walk.next + chunk.length;
    return { rows, rest: next < walk.ids.length ? { ...walk, next } : null };
  }
  // By the primary key, BULK_BATCH rows at a time whatever matches: a step's cost is bounded even
  // when matches are sparse (the filter alone would make SQLite sort the whole match set each step).
  const rows = db
    .select(columns)
    .from(jobs)
    .where(and(gt(jobs.id, walk.after), lte(jobs.id, walk.last)))
    .orderBy(jobs.id)
    .limit(BULK_BATCH)
    .all();
  const after = rows.at(-1)?.id;
  const done = rows.length < BULK_BATCH || after === undefined || after >= walk.last;
  return { rows, rest: done ? null : { ...walk, after } };
}

/** The walk from just after `id` (a row it has visited); from its start when there is none. */
function resumeAfter(walk: BulkWalk, id: string | undefined): BulkWalk | null {
  if (id === undefined) return walk;
  if (walk.kind === "scan") return id >= walk.last ? null : { ...walk, after: id };
  const next = walk.ids.indexOf(id, walk.next) + 1;
  return next > 0 && next < walk.ids.length ? { ...walk, next } : null;
}

/**
 * countStep: how many of the next rows of the walk the action would move (its filter, statuses and
 * one-shot rule), and the walk after them. Reads only. A pooled job a retry would refuse (its pool
 * shrank or is gone) is counted: the count is an upper bound of what the walk moves.
 */
export function countStep(
  db: ShardDb,
  action: BulkAction,
  filter: JobFilter,
  walk: BulkWalk,
): { matching: number; rest: BulkWalk | null } {
  const { rows, rest } = visit(db, walk, action, filter);
  return { matching: rows.filter((r) => r.matches).length, rest };
}

/**
 * bulkStep: one atomic step of a bulk cancel or retry. Inputs: the walk's position, at most `limit`
 * jobs to move. Rows touched: at most BULK_BATCH jobs visited in id order; each one matching is moved
 * as its single-job route would move it (cancel: finished as cancelled, units released, a running
 * attempt closed, a waiting PATCH applied, counted in the minute's metrics; retry: a new occurrence
 * due now, history kept, pools checked), set-based for the jobs where that step only rewrites the
 * row (setBased), one by one otherwise. Result: the jobs moved (a job already cancelled, or refused,
 * is not counted, so repeating a cancel matches 0), whether pool units were freed or pooled jobs
 * became due (waiters may go), and the walk after the rows visited (null: done).
 */
export function bulkStep(
  db: ShardDb,
  action: BulkAction,
  filter: JobFilter,
  walk: BulkWalk,
  now: number,
  t: ShardTimings,
  limit = Number.POSITIVE_INFINITY,
): { moved: number; poolsMoved: boolean; rest: BulkWalk | null } {
  return db.transaction(() => {
    const { rows, rest } = visit(db, walk, action, filter);
    let picked = rows.filter((r) => r.matches);
    let next = rest;
    if (picked.length > limit) {
      // The limit falls inside this window: the walk goes on after the last job taken.
      picked = picked.slice(0, Math.max(0, limit));
      next = resumeAfter(walk, picked.at(-1)?.id);
    }
    const together = picked.filter((r) => r.setBased).map((r) => r.id);
    const moved = action === "cancel" ? cancelRows(db, together, now, t) : retryRows(db, together, now, t);
    let count = moved.count;
    let poolsMoved = moved.poolsMoved;
    for (const { id } of picked.filter((r) => !r.setBased)) {
      const out = action === "cancel" ? cancel(db, id, now, t) : applyControl(db, "retry", id, now, t);
      if (!out.ok) continue;
      count += 1;
      poolsMoved ||= out.released || out.job.needsPools || out.pooledDue;
    }
    return { moved: count, poolsMoved, rest: next };
  });
}

/**
 * Cancels scheduled and idle paused jobs with no PATCH waiting, as `cancel` does each: their units
 * released (they hold none), finished as cancelled with retention's removal time as deadline, the
 * index copy scheduled, counted in the minute's metrics with one upsert.
 */
function cancelRows(db: ShardDb, ids: string[], now: number, t: ShardTimings) {
  if (ids.length === 0) return { count: 0, poolsMoved: false };
  const released =
    db
      .delete(allocations)
      .where(
        sql`(${allocations.jobId}, ${allocations.attempt}) in (select ${jobs.id}, ${jobs.attempt} from ${jobs} where ${idIn(ids)})`,
      )
      .returning({ jobId: allocations.jobId })
      .all().length > 0;
  const rows = touchedRows(now, t, (touched, copy) =>
    db
      .update(jobs)
      .set({
        status: "cancelled",
        deadline: removalTimeSql(now),
        ...touched,
      })
      .where(and(idIn(ids), inArray(jobs.status, ["scheduled", "paused"]), copy))
      .returning({ id: jobs.id, needsPools: jobs.needsPools })
      .all(),
  );
  if (rows.length > 0) countInMinute(db, now, { finished: "cancelled", jobs: rows.length });
  // A cancelled dependency fails the jobs that wait on it, as a single cancel does (one read per job);
  // one that says run and names pools may be due now.
  const pooledDue = rows.map(({ id }) => tellDependents(db, id, "failed", now, t).pooledDue).some(Boolean);
  return { count: rows.length, poolsMoved: released || pooledDue || rows.some((r) => r.needsPools) };
}

/**
 * Retries failed and cancelled one-shot jobs naming no pool, as `retried` decides each: a new
 * occurrence (its own webhook-id) due now with its retries reset, attempts kept, the index copy
 * scheduled. No pool is named, so none is checked and none becomes busier.
 */
function retryRows(db: ShardDb, ids: string[], now: number, t: ShardTimings) {
  if (ids.length === 0) return { count: 0, poolsMoved: false };
  // Finished jobs become unfinished: the next submit counts the shard's unfinished jobs exactly.
  forgetUnfinishedBound(db);
  const rows = touchedRows(now, t, (touched, copy) =>
    db
      .update(jobs)
      .set({
        status: "scheduled",
        runAt: now,
        occurrenceAt: now,
        currentRetries: 0,
        extraRun: false,
        occurrence: sql`${jobs.occurrence} + 1`,
        deadline: now,
        ...touched,
      })
      .where(and(idIn(ids), inArray(jobs.status, ["failed", "cancelled"]), copy))
      .returning({ id: jobs.id })
      .all(),
  );
  // Debounced ones leave their keys, as a single retry's (debounce.ts); no other row is written.
  leaveKeys(
    db,
    rows.map((r) => r.id),
  );
  return { count: rows.length, poolsMoved: false };
}

/**
 * A set-based settled change made as touch makes it for one job: the rows whose index copy is already
 * pending keep its time without index_due_at being assigned (no jobs_index_due entry written), the
 * others get theirs. `update` runs once for each group, given its columns and its filter.
 */
function touchedRows<T>(
  now: number,
  t: ShardTimings,
  update: (touched: ReturnType<typeof touch>, copy: SQL) => T[],
): T[] {
  return [
    ...update(touch(now, t, { indexDueAt: null }), isNull(jobs.indexDueAt)),
    ...update(touch(now, t, { indexDueAt: now }), isNotNull(jobs.indexDueAt)),
  ];
}
