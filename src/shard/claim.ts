// claimDue, the hottest query: which due jobs go out in this alarm cycle.
import { and, asc, desc, eq, inArray, lte, sql } from "drizzle-orm";
import { compareDue } from "../core/priority";
import type { Claim, ShardTimings } from "./dispatch-queries";
import { allocate, capacities, unitsInUse } from "./pool-queries";
import { jobs } from "./schema";
import { touch } from "./touch";
import type { ShardDb } from "./view";

/** Pooled jobs looked at per cycle, as a multiple of the batch: bounds the scan when pools are busy. */
const POOL_SCAN_FACTOR = 4;

export interface ClaimPolicy {
  /** Most jobs to claim now: the batch size, less what the in-flight window is already using. */
  limit: number;
  agingSeconds: number;
}

type Candidate = {
  id: string;
  userId: string;
  priority: number;
  runAt: number;
  resources: Record<string, number>;
};

const candidateColumns = {
  id: jobs.id,
  userId: jobs.userId,
  priority: jobs.priority,
  runAt: jobs.runAt,
  resources: jobs.resources,
};

/** Same order as compareDue: `priority × aging − run_at` is effective priority with `now` cancelled out. */
function dueOrder(agingSeconds: number) {
  return agingSeconds > 0
    ? [desc(sql`${jobs.priority} * ${agingSeconds * 1000} - ${jobs.runAt}`), asc(jobs.runAt), asc(jobs.id)]
    : [desc(jobs.priority), asc(jobs.runAt), asc(jobs.id)];
}

const dueFilter = (now: number, pooled: boolean) =>
  and(eq(jobs.status, "scheduled"), eq(jobs.needsPools, pooled), lte(jobs.runAt, now));

/** Due pooled jobs naming at least one pool with units free; jobs waiting only on full pools cost nothing. */
function pooledCandidates(
  db: ShardDb,
  now: number,
  openPools: string[],
  limit: number,
  agingSeconds: number,
) {
  if (openPools.length === 0) return [];
  const named = sql`exists (select 1 from json_each(${jobs.resources}) as r where r.key in ${openPools})`;
  return db
    .select(candidateColumns)
    .from(jobs)
    .where(and(dueFilter(now, true), named))
    .orderBy(...dueOrder(agingSeconds))
    .limit(limit)
    .all();
}

/**
 * claimDue: moves up to `policy.limit` due jobs from scheduled to queued, in effective-priority order
 * (priority aged by waiting time). Invariants:
 * - each claim increments the job's fencing attempt number, so any older message for it is stale;
 * - a claimed job has a dispatch deadline, so a claim whose message is lost is recovered, not lost;
 * - a pooled job is claimed only if every pool it names has its units free, and its units are
 *   recorded in the same step: pools are never over-allocated;
 * - once a job is blocked on a pool, no lower job takes units from that pool in the same cycle, so
 *   a large request is not starved by small ones.
 * Returns the claims (in dispatch order) and whether claimable work may remain.
 */
export function claimDue(db: ShardDb, now: number, policy: ClaimPolicy, t: ShardTimings) {
  if (policy.limit <= 0) return { claims: [] as Claim[], more: false };
  const caps = capacities(db);
  const used = unitsInUse(db);
  const full = [...caps]
    .filter(([pool, capacity]) => (used.get(pool) ?? 0) >= capacity)
    .map(([pool]) => pool);
  const blockedPools = new Set(full);
  const open = [...caps.keys()].filter((pool) => !blockedPools.has(pool));
  const plain = db
    .select(candidateColumns)
    .from(jobs)
    .where(dueFilter(now, false))
    .orderBy(...dueOrder(policy.agingSeconds))
    .limit(policy.limit + 1)
    .all();
  const pooled = pooledCandidates(db, now, open, policy.limit * POOL_SCAN_FACTOR, policy.agingSeconds);
  const merged = [...plain, ...pooled].sort((a, b) => compareDue(a, b, now, policy.agingSeconds));
  const chosen: Candidate[] = [];
  let examined = 0;
  for (const c of merged) {
    if (chosen.length === policy.limit) break;
    examined++;
    const wants = Object.entries(c.resources);
    if (wants.some(([pool]) => blockedPools.has(pool))) continue;
    if (wants.every(([pool, units]) => (used.get(pool) ?? 0) + units <= (caps.get(pool) ?? 0))) {
      for (const [pool, units] of wants) used.set(pool, (used.get(pool) ?? 0) + units);
      chosen.push(c);
    } else {
      for (const [pool] of wants) blockedPools.add(pool);
    }
  }
  if (chosen.length === 0) return { claims: [] as Claim[], more: false };

  const updated = db
    .update(jobs)
    .set({
      status: "queued",
      attempt: sql`${jobs.attempt} + 1`,
      deadline: now + t.dispatchDeadlineMs,
      ...touch(now, t),
    })
    .where(
      inArray(
        jobs.id,
        chosen.map((c) => c.id),
      ),
    )
    .returning({ id: jobs.id, userId: jobs.userId, attempt: jobs.attempt })
    .all();
  const attemptOf = new Map(updated.map((u) => [u.id, u.attempt]));
  const claims: Claim[] = chosen.map((c) => ({
    id: c.id,
    userId: c.userId,
    attempt: attemptOf.get(c.id) ?? 0,
  }));
  for (const c of chosen) allocate(db, c.id, attemptOf.get(c.id) ?? 0, c.resources);
  const more = chosen.length === policy.limit && examined < merged.length;
  return { claims, more };
}

/** Jobs claimed but not yet begun: what this shard has in the shared queue right now. */
export function inFlight(db: ShardDb): number {
  return db.select({ n: sql<number>`count(*)` }).from(jobs).where(eq(jobs.status, "queued")).get()?.n ?? 0;
}
