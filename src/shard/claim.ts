// claimDue, the hottest query: which due jobs go out in this alarm cycle.
import { and, asc, desc, eq, lte, sql } from "drizzle-orm";
import { dispatchDeadlineMs } from "../core/backoff";
import { compareDue } from "../core/priority";
import type { Claim, ShardTimings } from "./dispatch-queries";
import { allocate, capacities, unitsInUse } from "./pool-queries";
import { jobs, pools } from "./schema";
import { touch } from "./touch";
import type { ShardDb } from "./view";

/** Pooled jobs looked at per round, as a multiple of the batch: bounds the scan when pools are busy. */
export const POOL_SCAN_FACTOR = 4;

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
  dispatchMisses: number;
};

const candidateColumns = {
  id: jobs.id,
  userId: jobs.userId,
  priority: jobs.priority,
  runAt: jobs.runAt,
  resources: jobs.resources,
  dispatchMisses: jobs.dispatchMisses,
};

/** Same order as compareDue: `priority × aging − run_at` is effective priority with `now` cancelled out. */
function dueOrder(agingSeconds: number) {
  return agingSeconds > 0
    ? [desc(sql`${jobs.priority} * ${agingSeconds * 1000} - ${jobs.runAt}`), asc(jobs.runAt), asc(jobs.id)]
    : [desc(jobs.priority), asc(jobs.runAt), asc(jobs.id)];
}

const dueFilter = (now: number, pooled: boolean) =>
  and(eq(jobs.status, "scheduled"), eq(jobs.needsPools, pooled), lte(jobs.runAt, now));

/**
 * Due pooled jobs that matter this round: each names at least one pool that is neither full nor
 * reserved (it may run, or must reserve that pool), and none asks more than a pool holds (such a
 * job waits for the pool to grow and holds up nobody). Jobs waiting only on full or reserved pools
 * change nothing and cost nothing. Pools travel as JSON parameters: Durable Object SQLite binds at
 * most 100 per query.
 */
function pooledCandidates(
  db: ShardDb,
  now: number,
  unusable: Set<string>,
  limit: number,
  agingSeconds: number,
) {
  const oversized = sql`exists (
    select 1 from json_each(${jobs.resources}) as r left join ${pools} as p on p.name = r.key
    where p.name is null or r.value > p.capacity)`;
  const usable = sql`exists (
    select 1 from json_each(${jobs.resources}) as r
    where r.key not in (select value from json_each(${JSON.stringify([...unusable])})))`;
  return db
    .select(candidateColumns)
    .from(jobs)
    .where(and(dueFilter(now, true), sql`not ${oversized}`, usable))
    .orderBy(...dueOrder(agingSeconds))
    .limit(limit)
    .all();
}

/** Marks one job queued under its next attempt number and records the units it holds. */
function claimOne(db: ShardDb, c: Candidate, now: number, t: ShardTimings): Claim {
  const row = db
    .update(jobs)
    .set({
      status: "queued",
      attempt: sql`${jobs.attempt} + 1`,
      deadline: now + dispatchDeadlineMs(t.dispatchDeadlineMs, c.dispatchMisses),
      ...touch(now, t),
    })
    .where(eq(jobs.id, c.id))
    .returning({ attempt: jobs.attempt })
    .get();
  const attempt = row?.attempt ?? 0;
  allocate(db, c.id, attempt, c.resources);
  return { id: c.id, userId: c.userId, attempt };
}

/**
 * claimDue: moves up to `policy.limit` due jobs from scheduled to queued, in effective-priority order
 * (priority aged by waiting time). Invariants:
 * - each claim increments the job's fencing attempt number, so any older message for it is stale;
 * - a claimed job has a dispatch deadline, so a claim whose message is lost is recovered, not lost;
 * - a pooled job is claimed only if every pool it names has its units free, and its units are
 *   recorded in the same step: pools are never over-allocated;
 * - a due pooled job that cannot go now reserves every pool it names: no lower job takes units from
 *   them this cycle, so a job needing several pools, or many units, is not starved by smaller ones
 *   (a job asking more than a pool's capacity reserves nothing: it cannot run until the pool grows);
 * - free units are not stranded by jobs waiting elsewhere: each round fetches only jobs naming a
 *   usable pool, and a round that reserves a pool fetches again without it.
 * Returns the claims (in dispatch order) and whether claimable work may remain.
 */
export function claimDue(db: ShardDb, now: number, policy: ClaimPolicy, t: ShardTimings) {
  const claims: Claim[] = [];
  if (policy.limit <= 0) return { claims, more: false };
  const caps = capacities(db);
  const used = unitsInUse(db);
  const reserved = new Set<string>();
  const unusable = () =>
    new Set([...caps.keys()].filter((p) => reserved.has(p) || (used.get(p) ?? 0) >= (caps.get(p) ?? 0)));
  const plain = db
    .select(candidateColumns)
    .from(jobs)
    .where(dueFilter(now, false))
    .orderBy(...dueOrder(policy.agingSeconds))
    .limit(policy.limit + 1)
    .all();
  const scan = policy.limit * POOL_SCAN_FACTOR;
  let more = false;
  for (let round = 0; round <= caps.size && claims.length < policy.limit; round++) {
    const pooled = pooledCandidates(db, now, unusable(), scan, policy.agingSeconds);
    const batch = (round === 0 ? [...plain, ...pooled] : pooled).sort((a, b) =>
      compareDue(a, b, now, policy.agingSeconds),
    );
    const reservedBefore = reserved.size;
    let examined = 0;
    for (const c of batch) {
      if (claims.length === policy.limit) break;
      examined++;
      const wants = Object.entries(c.resources);
      const fits = wants.every(
        ([p, units]) => !reserved.has(p) && (used.get(p) ?? 0) + units <= (caps.get(p) ?? 0),
      );
      if (fits) {
        for (const [p, units] of wants) used.set(p, (used.get(p) ?? 0) + units);
        // Claimed at once, so the next round's fetch no longer sees it as scheduled.
        claims.push(claimOne(db, c, now, t));
      } else {
        for (const [p] of wants) reserved.add(p);
      }
    }
    more = examined < batch.length || pooled.length === scan;
    // Another round helps only if this one reserved a pool and may have left usable jobs unfetched.
    if (reserved.size === reservedBefore || pooled.length < scan) break;
  }
  return { claims, more: more && claims.length === policy.limit };
}

/** Jobs claimed but not yet begun: what this shard has in the shared queue right now. */
export function inFlight(db: ShardDb): number {
  return db.select({ n: sql<number>`count(*)` }).from(jobs).where(eq(jobs.status, "queued")).get()?.n ?? 0;
}
