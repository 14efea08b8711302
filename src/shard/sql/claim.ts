// claimDue, the hottest query: which due jobs go out in this alarm cycle.
//
// claimDue(db, now, policy, t) → {claims, expired, more, flowWakeAt}
//   reads every pools and allocations row, then due scheduled jobs through jobs_wake in keyset pages
//   (at most limit + pools + keys decided jobs and a page), and for keyed jobs the in-flight gated
//   rows once and each key's start log (flow-control.ts); writes per claim jobs[id] (scheduled → queued,
//   attempt + 1, dispatch deadline) and allocations (+1 row per pool it names); per expired job, as
//   expireOccurrence (expiry.ts). Rows written: 2 per claim (row, jobs_wake) + 3 per pool a claim names
//   (allocation row, its key, allocations_pool); 4 per expired occurrence. A cancel_other job's row is
//   read once more for its dispatch deadline (overlap.ts); no more rows written.
// inFlight(db) → number
//   reads the queued jobs' jobs_wake entries (a count). Rows written: 0.
// claimRoomNow(db, now, policy) → number
//   reads two jobs_wake seeks (a scheduled job due, pooled or not) and, when none is, inFlight's count.
//   Rows written: 0.
//
// Every statement here is built once per database (prepared.ts) and bound per call: the due page in
// four shapes (aging on or off, from the start or after a position), the claim's update, the count.
import { and, asc, desc, eq, lte, or, type SQL, sql } from "drizzle-orm";
import { dispatchDeadlineMs } from "../../core/backoff";
import { isExpired } from "../../core/expiry";
import type { FlowControl } from "../../core/flow-control";
import { PoolRound } from "../../core/pool-round";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import { IN_WAKE, inWake, jobs, pools } from "../schema";
import { NOT_BEGUN_TEXT } from "./begun";
import type { Claim } from "./dispatch";
import { expireOccurrence } from "./expiry";
import { FlowRound } from "./flow-control";
import { withCutoff } from "./overlap";
import { allocate, capacities, unitsInUse } from "./pools";
import { prepared } from "./prepared";
import { storageOf } from "./storage";
import { bump } from "./touch";

export interface ClaimPolicy {
  /** Most jobs to claim now: the batch size, less what the in-flight window is already using. */
  limit: number;
  agingSeconds: number;
}

/** A value bound per call of a statement built once (prepared.ts). */
const bound = (name: string) => sql.placeholder(name);

/**
 * Effective priority with `now` cancelled out (src/core/priority.ts): `priority × aging_ms − run_at`,
 * or the plain priority with aging off. Computed by SQLite, and read back as the walk's position, so
 * the keyset comparison uses exactly the value SQLite sorted by. With aging on, `agingMs` is bound.
 */
function dueKey(aging: boolean): SQL<number> {
  return aging
    ? sql<number>`${jobs.priority} * ${bound("agingMs")} - ${jobs.runAt}`
    : sql<number>`${jobs.priority}`;
}

/** Where the walk stands: the last job it decided, in (key desc, run_at, id) order. */
interface Position {
  key: number;
  runAt: number;
  id: string;
}

/** After the walk's position, bound as `key`, `runAt` and `id`. */
const afterPosition = (key: SQL<number>) =>
  or(
    sql`${key} < ${bound("key")}`,
    and(
      sql`${key} = ${bound("key")}`,
      or(
        sql`${jobs.runAt} > ${bound("runAt")}`,
        and(sql`${jobs.runAt} = ${bound("runAt")}`, sql`${jobs.id} > ${bound("id")}`),
      ),
    ),
  );

/**
 * Gated jobs (a pool or a flow-control key) whose verdict could change anything: their pools, if any,
 * may matter (pooledMayMatter), and their key, if any, is not blocked for this cycle. Any other gated
 * job would wait whatever happens, so leaving it out of the fetch cannot change a decision; it only
 * keeps jobs waiting behind a full pool or a saturated key from costing anything. The blocked keys
 * travel as one JSON parameter (`blockedKeys`), like the unusable pools.
 */
function gatedMayMatter() {
  return and(
    or(sql`${jobs.resources} = '{}'`, pooledMayMatter()),
    or(
      sql`${jobs.flowKey} is null`,
      sql`${jobs.flowKey} not in (select value from json_each(${bound("blockedKeys")}))`,
    ),
  );
}

/**
 * Pooled jobs whose verdict could change anything: each names at least one pool that is neither full
 * nor reserved, and none asks more than a pool holds. Every other pooled job would get "pass" or a
 * reservation of pools already unusable (src/core/pool-round.ts), so leaving it out of the fetch
 * cannot change a decision; it only keeps jobs queued behind a full pool from costing anything.
 * The unusable pools travel as one JSON parameter (`unusable`): Durable Object SQLite binds at most
 * 100 per query, and the statement keeps one shape whatever their number.
 */
function pooledMayMatter() {
  const oversized = sql`exists (
    select 1 from json_each(${jobs.resources}) as r left join ${pools} as p on p.name = r.key
    where p.name is null or r.value > p.capacity)`;
  const usable = sql`exists (
    select 1 from json_each(${jobs.resources}) as r
    where r.key not in (select value from json_each(${bound("unusable")})))`;
  return and(sql`not ${oversized}`, usable);
}

/**
 * Jobs past run_at + expires_after_seconds: the walk must reach them whatever their pools, to fail
 * them instead of leaving them behind a full pool. The same rule as isExpired (src/core/expiry.ts).
 */
function expiredBy() {
  return sql`${jobs.expiresAfterSeconds} is not null and ${jobs.runAt} + ${jobs.expiresAfterSeconds} * 1000 < ${bound("now")}`;
}

/**
 * The due-page statement of one shape: aging on or off, from the start or after a position. Four
 * shapes in all, each built once per database (prepared.ts); a call binds `now`, `unusable` and
 * `blockedKeys` (JSON), `size`, with aging `agingMs`, and after a position its `key`, `runAt` and `id`.
 */
function duePageStatement(db: ShardDb, aging: boolean, after: boolean) {
  const key = dueKey(aging);
  return db
    .select({
      id: jobs.id,
      userId: jobs.userId,
      runAt: jobs.runAt,
      resources: jobs.resources,
      dispatchMisses: jobs.dispatchMisses,
      expiresAfterSeconds: jobs.expiresAfterSeconds,
      flowControl: jobs.flowControl,
      overlap: jobs.overlap,
      key,
    })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "scheduled"),
        inWake,
        // A scheduled job's deadline is its due time (run_at, or later after a failed send): the
        // jobs_wake index finds due jobs without an index of their own.
        lte(jobs.deadline, bound("now")),
        or(eq(jobs.needsPools, false), gatedMayMatter(), expiredBy()),
        after ? afterPosition(key) : undefined,
      ),
    )
    .orderBy(desc(key), asc(jobs.runAt), asc(jobs.id))
    .limit(bound("size"))
    .prepare();
}

/** One keyset page of due jobs in effective-priority order, starting after `position`. */
function duePage(
  db: ShardDb,
  now: number,
  agingSeconds: number,
  unusable: string[],
  blockedKeys: string[],
  position: Position | null,
  size: number,
) {
  const aging = agingSeconds > 0;
  const name = `claim.duePage:${aging ? "aged" : "plain"}:${position ? "after" : "start"}`;
  const statement = prepared(db, name, (db) => duePageStatement(db, aging, position !== null));
  return statement.all({
    now,
    unusable: JSON.stringify(unusable),
    blockedKeys: JSON.stringify(blockedKeys),
    size,
    ...(aging ? { agingMs: agingSeconds * 1000 } : {}),
    ...position,
  });
}

type Candidate = ReturnType<typeof duePage>[number];

/** The claim's update, built once: binds `id`, `now` and the dispatch `deadline`. */
const claimStatement = (db: ShardDb) =>
  db
    .update(jobs)
    .set({
      status: "queued",
      // Not begun (begun.ts): begin sets it.
      runDeadline: null,
      attempt: sql`${jobs.attempt} + 1`,
      deadline: sql`${bound("deadline")}`,
      ...bump(bound("now")),
    })
    .where(eq(jobs.id, bound("id")))
    .returning({ attempt: jobs.attempt })
    .prepare();

/**
 * Marks one job queued under its next attempt number and records the units it holds. A cancel_other
 * job's dispatch deadline is at most the time its next occurrence replaces the claim (overlap.ts): its
 * row is read for that, only then.
 */
function claimOne(db: ShardDb, c: Candidate, now: number, t: ShardTimings): Claim {
  const lease = now + dispatchDeadlineMs(t.dispatchDeadlineMs, c.dispatchMisses);
  const job = c.overlap === "cancel_other" ? findJob(db, c.id) : undefined;
  const row = prepared(db, "claim.claimOne", claimStatement).get({
    id: c.id,
    now,
    deadline: job ? withCutoff({ ...job, status: "queued" }, lease) : lease,
  });
  const attempt = row?.attempt ?? 0;
  allocate(db, c.id, attempt, c.resources);
  return { id: c.id, userId: c.userId, attempt };
}

type Expired = NonNullable<ReturnType<typeof expireOccurrence>>;

/**
 * claimDue: moves up to `policy.limit` due jobs from scheduled to queued, in effective-priority order
 * (priority aged by waiting time). It is one walk over the due jobs in that order, in keyset pages,
 * each job decided in turn by its key (FlowRound, src/shard/sql/flow-control.ts) and its pools
 * (PoolRound, src/core/pool-round.ts), both of which must admit it, so the order holds by
 * construction: no page size or scan bound decides which job goes first. Invariants:
 * - each claim increments the job's fencing attempt number, so any older message for it is stale;
 * - a claimed job has a dispatch deadline, so a claim whose message is lost is recovered, not lost;
 * - a pooled job is claimed only if every pool it names has its units free, and its units are
 *   recorded in the same step: pools are never over-allocated;
 * - a due pooled job that cannot go now reserves every pool it names for the rest of the cycle;
 * - a job with a flow-control key is claimed only if its key admits one more (src/core/flow-control.ts:
 *   concurrency and rate, counting this cycle's claims); a key that admits no more is blocked for the
 *   rest of the cycle, so no lower job of the key overtakes a higher one, while jobs of other keys and
 *   jobs without one go on (the walk leaves the blocked keys out of its fetch);
 * - a due job past its run_at + expires_after_seconds is not claimed: expireOccurrence settles it
 *   (src/shard/sql/expiry.ts); it reserves no pool and blocks no key, and it counts against `limit`
 *   like a claim, so a cycle's writes stay bounded;
 * - cost is bounded: each fetched job is claimed, expired, or makes a pool unusable or a key blocked
 *   (then the walk fetches again from where it stands, leaving out jobs that can no longer matter), so
 *   a cycle reads at most `limit + pools + keys` decided jobs and a page, however many jobs wait.
 * - a job an expiry makes due is decided in this cycle if nothing reserved holds it back, and the
 *   cycle then says more may be due, so the next decides it afresh against what this one reserved;
 * - likewise when a job reserved pools under a key that a later job of the key then filled: the next
 *   cycle holds the reserving job back by its key, so its pools go to the jobs it kept out;
 * Returns the claims (in dispatch order), the occurrences it expired (their callbacks are due),
 * whether claimable work may remain, and when a key held back by its rate opens again (`flowWakeAt`).
 */
export function claimDue(db: ShardDb, now: number, policy: ClaimPolicy, t: ShardTimings) {
  const claims: Claim[] = [];
  const expired: Expired[] = [];
  const flows = new FlowRound(db, now);
  /**
   * A job made due by this cycle's expiries came after the pools and keys this cycle reserved or
   * blocked before it was due, so it may outrank a job that holds them back now: the cycle ends saying
   * more may be due, and the next one (the alarm at once) decides it with a fresh round.
   */
  let madeDue = false;
  /**
   * The keys of jobs that reserved pools while their key admitted them. A later job of the same key
   * may take the key's last slot in this cycle (a job waiting for its pools holds none): the reserving
   * job is then held back by its key, which in a fresh round means it reserves nothing, so jobs its
   * reservation kept out may go. The cycle then ends saying more may be due, as for an expiry.
   */
  const reservedUnder = new Map<string, FlowControl>();
  const keyMovedUnderReservation = () => [...reservedUnder.values()].some((flow) => !flows.admits(flow));
  const done = (more: boolean) => ({
    claims,
    expired,
    more: more || madeDue || keyMovedUnderReservation(),
    flowWakeAt: flows.wakeAt,
  });
  if (policy.limit <= 0) return done(false);
  const round = new PoolRound(capacities(db), unitsInUse(db));
  const pageSize = policy.limit + 1;
  let unusable = round.unusable();
  let blocked = flows.blocked();
  let position: Position | null = null;
  for (;;) {
    const page = duePage(db, now, policy.agingSeconds, unusable, blocked, position, pageSize);
    let refetch = false;
    for (const c of page) {
      if (claims.length + expired.length === policy.limit) return done(true);
      position = { key: c.key, runAt: c.runAt, id: c.id };
      if (isExpired(c.runAt, c.expiresAfterSeconds, now)) {
        const out = expireOccurrence(db, c.id, now, t);
        if (out) expired.push(out);
        // Its next occurrence is due already: now, or (an extra occurrence returning to its nominal
        // one) earlier, where it sorts before this position; or a job that waited on it is due now
        // (no page fetched so far holds it). Walk again from the start to reach it: every job before
        // here is claimed, moved, or excluded by `unusable` or `blocked`, so nothing is decided twice,
        // and a cycle restarts at most once per expiry, which counts against `limit`.
        if (out?.dueAgain || out?.madeDue) {
          position = null;
          refetch = true;
          madeDue = true;
          break;
        }
        continue;
      }
      decide(c);
      const nowUnusable = round.unusable();
      const nowBlocked = flows.blocked();
      // Unusable pools and blocked keys only accumulate within a cycle: a longer list is a changed one.
      if (nowUnusable.length > unusable.length || nowBlocked.length > blocked.length) {
        unusable = nowUnusable;
        blocked = nowBlocked;
        refetch = true;
        break;
      }
    }
    if (!refetch && page.length < pageSize) return done(false);
  }

  /**
   * One job's verdict: its key first (a job its key holds back reserves no pool), then its pools. A
   * job waiting for its pools holds no slot of its key and does not hold the key's other jobs back:
   * within a key, jobs go in priority order among those their pools let go (as a job behind a full
   * pool is not even fetched, this is the one rule that holds whether or not the walk meets it).
   */
  function decide(c: Candidate): void {
    const flow = c.flowControl;
    if (flow && !flows.admits(flow)) return;
    const verdict = round.decide(c.resources);
    if (verdict === "reserve" && flow) reservedUnder.set(flow.key, flow);
    if (verdict !== "claim") return;
    claims.push(claimOne(db, c, now, t));
    if (flow) flows.claimed(flow.key);
  }
}

/**
 * Jobs claimed but not yet begun: what this shard has in the shared queue right now. Through jobs_wake
 * (status queued), then each row: a begun one has left the window (begun.ts). Fixed text, run on the
 * storage itself (every re-arm calls it: drizzle's per-call work was most of its cost).
 */
export function inFlight(db: ShardDb): number {
  const [row] = storageOf(db).sql.exec(IN_FLIGHT).toArray();
  return typeof row?.n === "number" ? row.n : 0;
}

const IN_FLIGHT = `select count(*) as n from jobs where ${NOT_BEGUN_TEXT} and ${IN_WAKE}`;

const SCHEDULED_DUE = `select exists (select 1 from jobs where status = 'scheduled' and needs_pools = 0 and deadline <= ? and ${IN_WAKE})
  or exists (select 1 from jobs where status = 'scheduled' and needs_pools = 1 and deadline <= ? and ${IN_WAKE}) as due`;

/**
 * claimRoomNow: how many jobs claimDue would claim at this instant if the shard's due jobs were only
 * the ones a submit is about to write (src/core/dispatch-at-submit.ts): 0 when a scheduled job of the
 * shard's own is due (pooled or not: the alarm decides then, in priority order), else the batch size
 * less what the in-flight window holds, as the alarm's tick computes its limit.
 */
export function claimRoomNow(
  db: ShardDb,
  now: number,
  policy: { batchSize: number; window: number },
): number {
  const [row] = storageOf(db).sql.exec(SCHEDULED_DUE, now, now).toArray();
  if (row?.due) return 0;
  return Math.min(policy.batchSize, policy.window - inFlight(db));
}
