// Resource pools and the allocations ledger, on the user's home shard with every job naming a pool.
//
// putPool(db, name, capacity, now, maxPools?) → {ok} | too_many_pools
//   reads pools[name], and the count of pools when it is new; writes pools[name] (upsert). Rows
//   written: 2 when new (row, its name key), 1 when resized, 0 when a new one would pass maxPools.
// deletePool(db, name, now) → {ok, pool} | not_found | in_use
//   reads as listPools, then the unfinished pooled jobs (jobs_wake) naming it; deletes pools[name].
//   Rows written: 1; 0 if refused.
// allocate(db, jobId, attempt, resources) → void
//   writes allocations (+1 row per pool), one statement for all its pools (none without a pool).
//   Rows written: 3 per pool (row, its key, allocations_pool).
// release(db, jobId, attempt) → whether units were freed
//   deletes the attempt's allocations. Rows written: 1 per pool it held; 0 on a second release.
// unitsInUse(db) → Map of pool → units   reads every allocations row. Rows written: 0.
// capacities(db) → Map of pool → capacity   reads every pools row. Rows written: 0.
// listPools(db, now) → PoolView[]   reads pools, allocations, due pooled jobs. Rows written: 0.
// resourceErrors(db, resources) → ErrorDetail[]   reads every pools row. Rows written: 0.
// poolWaitersExist(db, now) → boolean   reads at most one jobs_wake entry. Rows written: 0.
//
// The alarm's statements here (capacities, unitsInUse, allocate, release, poolWaitersExist) are built
// once per database (prepared.ts) and bound per call.
//
// Allocation is a local, synchronous step of the claim, so a pool can never be over-allocated, however
// many shards the user has. Use is derived from the allocations ledger, never kept as a counter.
import { and, eq, inArray, sql } from "drizzle-orm";
import { isFinished, JOB_STATUSES } from "../../core/state";
import type { ShardDb } from "../db";
import type { DeletePoolResult, ErrorDetail, PoolView } from "../rpc";
import { allocations, inWake, jobs, pools } from "../schema";
import { prepared } from "./prepared";

/**
 * putPool: creates or resizes a pool. Invariant: a user never has more than `maxPools` pools (the
 * admin's per-user cap, else MAX_POOLS); resizing an existing pool is always allowed, so a cap
 * lowered below the pools a user has keeps them all and refuses only new ones.
 */
export function putPool(
  db: ShardDb,
  name: string,
  capacity: number,
  now: number,
  maxPools = Number.POSITIVE_INFINITY,
): { ok: true } | { ok: false; reason: "too_many_pools"; limit: number } {
  const exists = db.select({ name: pools.name }).from(pools).where(eq(pools.name, name)).get() !== undefined;
  if (!exists) {
    const count = db.get<{ n: number }>(sql`select count(*) as n from ${pools}`)?.n ?? 0;
    if (count >= maxPools) return { ok: false, reason: "too_many_pools", limit: maxPools };
  }
  db.insert(pools)
    .values({ name, capacity, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: pools.name, set: { capacity, updatedAt: now } })
    .run();
  return { ok: true };
}

const UNFINISHED_STATUSES = JOB_STATUSES.filter((s) => !isFinished(s));

/**
 * deletePool: removes a pool that no unfinished job (scheduled, queued, running, paused) names.
 * Invariant: no job that may still claim or hold units loses its pool, so none waits on a pool that
 * is gone; units are held only by unfinished attempts, so none are left in the ledger. Finished jobs
 * may name it: they never claim again. Reads pooled jobs through jobs_wake (status, needs_pools).
 */
export function deletePool(db: ShardDb, name: string, now: number): DeletePoolResult {
  const view = listPools(db, now).find((p) => p.name === name);
  if (!view) return { ok: false, reason: "not_found" };
  const naming =
    db.get<{ n: number }>(
      sql`select count(*) as n from ${jobs}, json_each(${jobs.resources}) as j
            where ${inArray(jobs.status, UNFINISHED_STATUSES)} and ${jobs.needsPools} = 1 and ${inWake}
              and j.key = ${name}`,
    )?.n ?? 0;
  if (naming > 0) return { ok: false, reason: "in_use", jobs: naming };
  db.delete(pools).where(eq(pools.name, name)).run();
  return { ok: true, pool: view };
}

/** Units in use per pool, from the ledger. */
export function unitsInUse(db: ShardDb): Map<string, number> {
  const statement = prepared(db, "pools.unitsInUse", (db) =>
    db
      .select({ pool: allocations.pool, units: sql<number>`sum(${allocations.units})` })
      .from(allocations)
      .groupBy(allocations.pool)
      .prepare(),
  );
  return new Map(statement.all().map((r) => [r.pool, r.units]));
}

export function capacities(db: ShardDb): Map<string, number> {
  const statement = prepared(db, "pools.capacities", (db) =>
    db.select({ name: pools.name, capacity: pools.capacity }).from(pools).prepare(),
  );
  return new Map(statement.all().map((p) => [p.name, p.capacity]));
}

export function listPools(db: ShardDb, now: number): PoolView[] {
  const used = unitsInUse(db);
  const waiting = new Map(
    db
      .all<{ pool: string; n: number }>(
        sql`select j.key as pool, count(*) as n from ${jobs}, json_each(${jobs.resources}) as j
            where ${jobs.status} = 'scheduled' and ${jobs.needsPools} = 1 and ${jobs.deadline} <= ${now}
              and ${inWake}
            group by j.key`,
      )
      .map((r) => [r.pool, r.n]),
  );
  return db
    .select()
    .from(pools)
    .orderBy(pools.name)
    .all()
    .map((p) => ({
      name: p.name,
      capacity: p.capacity,
      in_use: used.get(p.name) ?? 0,
      waiting: waiting.get(p.name) ?? 0,
    }));
}

/** Why `resources` cannot be satisfied by this user's pools (unknown pool, more than capacity). */
export function resourceErrors(db: ShardDb, resources: Record<string, number>): ErrorDetail[] {
  const caps = capacities(db);
  return Object.entries(resources).flatMap(([pool, units]) => {
    const capacity = caps.get(pool);
    if (capacity === undefined) return [{ path: `resources.${pool}`, message: `no pool named "${pool}"` }];
    if (units > capacity) {
      return [
        { path: `resources.${pool}`, message: `asks for ${units} units; the pool's capacity is ${capacity}` },
      ];
    }
    return [];
  });
}

/**
 * Records the units an attempt holds from its claim on: one statement whatever the number of pools,
 * one row per (pool, units) entry of `resources`, which travels as its JSON (one parameter). Nothing
 * runs for a job that names no pool.
 */
export function allocate(
  db: ShardDb,
  jobId: string,
  attempt: number,
  resources: Record<string, number>,
): void {
  let named = false;
  for (const _ in resources) {
    named = true;
    break;
  }
  if (!named) return;
  const statement = prepared(db, "pools.allocate", (db) =>
    db
      .insert(allocations)
      .select(
        sql`select ${sql.placeholder("jobId")}, ${sql.placeholder("attempt")}, r.key, r.value
            from json_each(${sql.placeholder("resources")}) as r`,
      )
      .prepare(),
  );
  statement.run({ jobId, attempt, resources: JSON.stringify(resources) });
}

/**
 * release: frees whatever `attempt` holds. Invariant: deleting the attempt's ledger rows is the only
 * release, so a second release of the same attempt frees nothing. Returns whether units were freed.
 */
export function release(db: ShardDb, jobId: string, attempt: number): boolean {
  const statement = prepared(db, "pools.release", (db) =>
    db
      .delete(allocations)
      .where(
        and(
          eq(allocations.jobId, sql.placeholder("jobId")),
          eq(allocations.attempt, sql.placeholder("attempt")),
        ),
      )
      .returning({ pool: allocations.pool })
      .prepare(),
  );
  return statement.all({ jobId, attempt }).length > 0;
}

/** Whether a due pooled job is waiting for units (a release should then dispatch at once). */
export function poolWaitersExist(db: ShardDb, now: number): boolean {
  const statement = prepared(db, "pools.poolWaitersExist", (db) =>
    db
      .select({ id: jobs.id })
      .from(jobs)
      // A scheduled job's deadline is its run_at: this reads the (status, needs_pools, deadline) index.
      .where(
        and(
          eq(jobs.status, "scheduled"),
          eq(jobs.needsPools, true),
          sql`${jobs.deadline} <= ${sql.placeholder("now")}`,
          inWake,
        ),
      )
      .limit(1)
      .prepare(),
  );
  return statement.all({ now }).length > 0;
}
