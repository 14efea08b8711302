// Dependencies across a user's shards (docs/design.md "Dependencies"; docs/architecture.md "Dependencies").
// The dependent's row holds what it waits on (jobs.blocked_by; no deadline while blocked, so nothing
// claims it); the dependency's shard holds who waits on it (dependents). Between two shards every fact
// travels through the outbox (dependency_messages), written in the same step as the change it reports
// and deleted once the other shard answered: a lost message is sent again, a repeated one changes nothing.
//
// linkDependencies(db, jobId, known, now, t) → Heard
//   the job was just created (or retried): each dependency on this shard is subscribed to here
//   (subscribeHere); one on another shard gets a `subscribe` message, even one whose outcome the API
//   already knew (applied at once), so every dependency lists the job among its dependents. Rows
//   written: 1 per dependency here (dependents), 2 per message (row, dependency_messages_deadline),
//   + settleDependency's.
// subscribeHere(db, depId, jobId) → DependencyState
//   reads jobs[depId]; writes dependents[depId, jobId] (waiting while pending). Rows written: 1.
// settleDependency(db, jobId, depId, outcome, now, t) → Heard (the jobs it failed; whether it made a job due)
//   reads jobs[jobId]; writes it (blocked_by, or due at last, or failed with dependency_failed; index
//   copy scheduled) and, for each failure, tellDependents's rows, in a loop over the chain of
//   dependents on this shard (no recursion). Rows written: 2-3 per job moved (row, jobs_wake, index),
//   + 1 minute row and a callback row for a job that failed.
// tellDependents(db, depId, outcome, now, t) → Heard
//   an occurrence of depId finished: reads its waiting dependents (one range of the dependents key:
//   none for a job nobody waits on); marks them heard; settles those on this shard (settleDependency)
//   and writes a `settle` message for each elsewhere. Rows written: 0 for a job without dependents.
// heldByDependents(db, ids) → Set<string>
//   reads the outbox's settle messages of these jobs (a scan of the outbox, which holds only messages
//   not yet answered). Rows written: 0.
// dependentsOf(db, depId, limit) → string[]
//   reads dependents[depId, *]. Rows written: 0.
// claimDependencyMessages(db, now, limit) → DependencyMessageRow[]
//   reads ≤ limit due messages (dependency_messages_deadline); moves each one's deadline on by its
//   backoff (a message in flight is not sent twice). Rows written: 2 per message.
// forgetDependencyMessage(db, message) → void
//   deletes a message the other shard answered (only the outcome it carried). Rows written: 1.
import { and, asc, eq, lte, sql } from "drizzle-orm";
import {
  afterDependency,
  DEPENDENCY_FAILED,
  type DependencyOutcome,
  type DependencyState,
  dependencyState,
} from "../../core/dependencies";
import { shardOfJobId } from "../../core/ids";
import { assertTransition } from "../../core/state";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import { type DependencyMessageRow, dependencyMessages, dependents, type JobRow, jobs } from "../schema";
import { recordCallback } from "./callbacks";
import { countInMinute } from "./metrics";
import { prepared } from "./prepared";
import { removalTime } from "./retention";
import { touch } from "./touch";
import { viewJob } from "./view";

/** A message not answered is sent again after this, doubling per send, at most MAX_RESEND_MS. */
export const MESSAGE_RESEND_MS = 5_000;
const MAX_RESEND_MS = 10 * 60_000;

const sameShard = (a: string, b: string) => shardOfJobId(a) === shardOfJobId(b);

/**
 * What hearing of dependencies did: the jobs it failed (with dependency_failed), and whether it made a
 * job due now. A job made due now must be reached: a claim walk under way looks again (claim.ts), and
 * one naming pools needs the shard woken at once by the caller, as any other change that makes a pooled
 * job due does (a due pooled job does not drive the alarm by its deadline: nextWakeAt, dispatch.ts).
 */
export interface Heard {
  failed: JobRow[];
  due: boolean;
  pooledDue: boolean;
}

const NOTHING_HEARD: Heard = { failed: [], due: false, pooledDue: false };

/** Everything several steps heard. */
export function heardAll(steps: Heard[]): Heard {
  return {
    failed: steps.flatMap((h) => h.failed),
    due: steps.some((h) => h.due),
    pooledDue: steps.some((h) => h.pooledDue),
  };
}

/**
 * subscribeHere: `jobId` (on any shard) starts waiting on `depId`, a job of this shard. Answers the
 * dependency's state now (dependencyState); a job this shard does not hold (removed since the API
 * checked it) counts as failed: its outcome can no longer be known. The row is written whatever the
 * state, so the dependency lists the job among its dependents; only a pending one waits. A repeat
 * rewrites the same row.
 */
export function subscribeHere(db: ShardDb, depId: string, jobId: string): DependencyState {
  const dep = findJob(db, depId);
  const state = dep ? dependencyState(dep) : "failed";
  if (!dep) return state;
  const waiting = state === "pending";
  db.insert(dependents)
    .values({ depId, jobId, waiting })
    .onConflictDoUpdate({ target: [dependents.depId, dependents.jobId], set: { waiting } })
    .run();
  return state;
}

/** Each dependency of another shard: a `subscribe` message, due now (a repeat restarts its backoff). */
function sendSubscribe(db: ShardDb, jobId: string, depId: string, now: number): void {
  writeMessage(db, { kind: "subscribe", jobId, depId, outcome: null }, now);
}

function writeMessage(
  db: ShardDb,
  m: Pick<DependencyMessageRow, "kind" | "jobId" | "depId" | "outcome">,
  now: number,
): void {
  db.insert(dependencyMessages)
    .values({ ...m, deadline: now, sends: 0 })
    .onConflictDoUpdate({
      target: [dependencyMessages.kind, dependencyMessages.jobId, dependencyMessages.depId],
      set: { outcome: m.outcome, deadline: now, sends: 0 },
    })
    .run();
}

/**
 * linkDependencies: the job (created or retried just now, in this step) waits on its blocked_by, and
 * each of its dependencies learns of it.
 * Invariant: every dependency it waits on either has been heard already (applied here), or will be:
 * a dependency here has its dependents row in this step, one elsewhere a `subscribe` message. `known`:
 * outcomes of other shards' dependencies the API read before the submit (a finished one needs no
 * subscription; a dependency that finished since the API read it as pending is heard through its
 * subscription).
 */
export function linkDependencies(
  db: ShardDb,
  jobId: string,
  known: Readonly<Record<string, DependencyOutcome>>,
  now: number,
  t: ShardTimings,
): Heard {
  const job = findJob(db, jobId);
  if (!job?.dependsOn) return NOTHING_HEARD;
  const heard: [string, DependencyOutcome][] = [];
  const waitsOn = new Set(job.blockedBy);
  // Every dependency learns of its dependent (GET /v1/jobs/:id/dependents), even one already heard.
  for (const depId of job.dependsOn) {
    if (sameShard(depId, jobId)) {
      const state = subscribeHere(db, depId, jobId);
      if (state !== "pending" && waitsOn.has(depId)) heard.push([depId, state]);
      continue;
    }
    const outcome = known[depId];
    if (outcome && waitsOn.has(depId)) heard.push([depId, outcome]);
    // Answered with the state then, which a dependency heard already ignores (settleDependency).
    sendSubscribe(db, jobId, depId, now);
  }
  return heardAll(heard.map(([depId, outcome]) => settleDependency(db, jobId, depId, outcome, now, t)));
}

/** The dependents of depId that still wait on it, its key bound as `depId`. */
const waitingDependents = (db: ShardDb) =>
  prepared(db, "dependencies.waiting", (d) =>
    d
      .select({ jobId: dependents.jobId })
      .from(dependents)
      .where(and(eq(dependents.depId, sql.placeholder("depId")), eq(dependents.waiting, true)))
      .prepare(),
  );

/**
 * tellDependents: an occurrence of depId, a job of this shard, finished with `outcome`. Invariant:
 * every dependent waiting on it hears it exactly as often as it needs: each waiting row is marked
 * heard in this step, those on this shard settled in it, those elsewhere given a `settle` message in
 * it. Returns what that did here (Heard: the jobs it failed, along the whole chain; a job made due).
 */
export function tellDependents(
  db: ShardDb,
  depId: string,
  outcome: DependencyOutcome,
  now: number,
  t: ShardTimings,
): Heard {
  return heardAll(
    markHeard(db, depId, outcome, now).map((jobId) => settleDependency(db, jobId, depId, outcome, now, t)),
  );
}

/**
 * The dependents waiting on depId are told `outcome`: each row marked heard, a `settle` message
 * written for each on another shard. Returns those on this shard, for the caller to settle.
 */
function markHeard(db: ShardDb, depId: string, outcome: DependencyOutcome, now: number): string[] {
  const waiting = waitingDependents(db).all({ depId });
  if (waiting.length === 0) return [];
  db.update(dependents)
    .set({ waiting: false })
    .where(and(eq(dependents.depId, depId), eq(dependents.waiting, true)))
    .run();
  const here: string[] = [];
  for (const { jobId } of waiting) {
    if (sameShard(jobId, depId)) here.push(jobId);
    else writeMessage(db, { kind: "settle", jobId, depId, outcome }, now);
  }
  return here;
}

/**
 * settleDependency: `depId` finished an occurrence with `outcome`; the job here waiting on it moves as
 * afterDependency says (src/core/dependencies.ts): still blocked, due at last, or failed with
 * dependency_failed. A failure is a finished occurrence like any other (counted in its minute, its
 * callback recorded, its own dependents told, here in a loop along the chain). Nothing moves for a job
 * that is finished or no longer blocked by depId, so a repeat is harmless. Returns the jobs it failed
 * and whether it made a job due now (Heard).
 */
export function settleDependency(
  db: ShardDb,
  jobId: string,
  depId: string,
  outcome: DependencyOutcome,
  now: number,
  t: ShardTimings,
): Heard {
  const failed: JobRow[] = [];
  let due = false;
  let pooledDue = false;
  const work: { jobId: string; depId: string; outcome: DependencyOutcome }[] = [{ jobId, depId, outcome }];
  for (let next = work.shift(); next !== undefined; next = work.shift()) {
    const job = findJob(db, next.jobId);
    if (!job) continue;
    const step = afterDependency(job, next.depId, next.outcome, now);
    if (step.kind === "ignore") continue;
    if (step.kind === "wait") {
      db.update(jobs)
        .set({ blockedBy: step.blockedBy, ...touch(now, t, job) })
        .where(eq(jobs.id, job.id))
        .run();
      continue;
    }
    if (step.kind === "unblock") {
      // A paused job stays paused, due at this run_at when resumed.
      const deadline = job.status === "scheduled" ? step.runAt : null;
      if (deadline !== null && deadline <= now) {
        due = true;
        pooledDue ||= job.needsPools;
      }
      db.update(jobs)
        .set({
          blockedBy: null,
          runAt: step.runAt,
          occurrenceAt: step.runAt,
          deadline,
          ...touch(now, t, job),
        })
        .where(eq(jobs.id, job.id))
        .run();
      continue;
    }
    const row = failDependent(db, job, now, t);
    failed.push(row);
    for (const dependent of markHeard(db, row.id, "failed", now))
      work.push({ jobId: dependent, depId: row.id, outcome: "failed" });
  }
  return { failed, due, pooledDue };
}

/** The job fails with dependency_failed: finished, its blocked_by kept (a retry waits on them again). */
function failDependent(db: ShardDb, job: JobRow, now: number, t: ShardTimings): JobRow {
  assertTransition(job.status, "failed");
  const row = db
    .update(jobs)
    .set({
      status: "failed",
      lastError: DEPENDENCY_FAILED,
      runs: job.runs + 1,
      deadline: removalTime(job, now),
      ...touch(now, t, job),
    })
    .where(eq(jobs.id, job.id))
    .returning()
    .get();
  if (!row) throw new Error(`job ${job.id} vanished while failing it`);
  countInMinute(db, now, { finished: "failed" });
  if (row.callbackUrl !== null) {
    const trace = { traceparent: row.traceparent, tracestate: row.tracestate };
    // Due at once: the alarm sends it (the caller re-arms).
    recordCallback(db, row.callbackUrl, viewJob(db, row), row.occurrence, trace, now, false, t);
  }
  return row;
}

/**
 * heldByDependents: of these finished jobs, the ones whose outcome some dependent on another shard has
 * not heard yet (a `settle` message of theirs is still in the outbox): retention keeps them until it is.
 */
export function heldByDependents(db: ShardDb, ids: string[]): Set<string> {
  if (ids.length === 0) return new Set();
  const rows = db
    .selectDistinct({ depId: dependencyMessages.depId })
    .from(dependencyMessages)
    .where(
      and(
        eq(dependencyMessages.kind, "settle"),
        sql`${dependencyMessages.depId} in (select value from json_each(${JSON.stringify(ids)}))`,
      ),
    )
    .all();
  return new Set(rows.map((r) => r.depId));
}

/** Up to `limit` jobs that named depId in depends_on, oldest link first by id. */
export function dependentsOf(db: ShardDb, depId: string, limit: number): string[] {
  return db
    .select({ jobId: dependents.jobId })
    .from(dependents)
    .where(eq(dependents.depId, depId))
    .orderBy(asc(dependents.jobId))
    .limit(limit)
    .all()
    .map((r) => r.jobId);
}

/**
 * claimDependencyMessages: the messages due now (at most `limit`), each one's deadline moved on by its
 * backoff before it is sent, so a message whose answer is lost goes again later and never twice at once.
 */
export function claimDependencyMessages(db: ShardDb, now: number, limit: number): DependencyMessageRow[] {
  const due = db
    .select()
    .from(dependencyMessages)
    .where(lte(dependencyMessages.deadline, now))
    .orderBy(asc(dependencyMessages.deadline))
    .limit(limit)
    .all();
  for (const m of due) {
    const wait = Math.min(MAX_RESEND_MS, MESSAGE_RESEND_MS * 2 ** Math.min(m.sends, 20));
    db.update(dependencyMessages)
      .set({ deadline: now + wait, sends: m.sends + 1 })
      .where(whereMessage(m))
      .run();
  }
  return due;
}

const whereMessage = (m: Pick<DependencyMessageRow, "kind" | "jobId" | "depId">) =>
  and(
    eq(dependencyMessages.kind, m.kind),
    eq(dependencyMessages.jobId, m.jobId),
    eq(dependencyMessages.depId, m.depId),
  );

/** The other shard answered `m`: it goes, unless rewritten since with another outcome (that one is due). */
export function forgetDependencyMessage(
  db: ShardDb,
  m: Pick<DependencyMessageRow, "kind" | "jobId" | "depId" | "outcome">,
): void {
  const sameOutcome =
    m.outcome === null
      ? sql`${dependencyMessages.outcome} is null`
      : eq(dependencyMessages.outcome, m.outcome);
  db.delete(dependencyMessages)
    .where(and(whereMessage(m), sameOutcome))
    .run();
}
