// Job creation with Idempotency-Key semantics, and the read-model (D1) bookkeeping.
//
// insertJob(db, spec, idem?, now, t, maxUnfinished?) → {ok, replayed, job} | idempotency_conflict
//     | too_many_unfinished | invalid_resources | stale_shards
//   reads idempotency_keys[key], its job and key_fence (keyed), the unfinished count (with a cap),
//   pools (pooled); writes jobs (+1 row) and idempotency_keys[key] (keyed). Rows written: 4 (row, id
//   key, jobs_wake, jobs_index_due); with a key +3 (row, key, idempotency_keys_job), or +2 when it
//   replaces an expired key not yet pruned; 0 when replayed or refused.
// insertJobs(db, batch, now, t, maxUnfinished?) → {ok, outcomes} | invalid_resources (items)
//   one transaction; reads pools per pooled item and the unfinished count once; each item as insertJob.
//   Rows written: as insertJob per job created (4, +3 with a key); 0 when a pool check fails.
// lookupKeys(db, keys, shards, now) → KeyLookup[], one per key
//   reads key_fence, each key's row and its job (with recent attempts, for the view); writes key_fence.
//   Rows written: 1 when `shards` is above the fence (once per growth), else 0.
// pruneIdempotencyKeys(db, now, limit) → void
//   deletes ≤ limit expired idempotency_keys rows. Rows written: 1 per key.
// unfinishedJobs(db) → number
//   reads the unfinished jobs' jobs_wake entries (a count, ≤ MAX_UNFINISHED_JOBS). Rows written: 0.
// The index copy's own queries (dueForIndex, markIndexed, postponeIndex) are in index-copy.ts.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { NewJob } from "../../core/job";
import type { ShardDb, ShardTimings } from "../db";
import type {
  Idempotency,
  KeyLookup,
  NewSubmission,
  RefusalOf,
  SubmitBatchResult,
  SubmitResult,
} from "../rpc";
import { idempotencyKeys, type JobRow, jobs, keyFence } from "../schema";
import { resourceErrors } from "./pools";
import { viewJob } from "./view";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Jobs not yet finished in this shard: bounded by MAX_UNFINISHED_JOBS. */
export function unfinishedJobs(db: ShardDb): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(jobs)
      .where(inArray(jobs.status, ["scheduled", "queued", "running", "paused"]))
      .get()?.n ?? 0
  );
}

/**
 * MAX_UNFINISHED_JOBS as places left: counted once, on first need (never without a cap), then spent
 * by each job created in the same synchronous step, so a batch counts the table once, not per job.
 */
class UnfinishedRoom {
  private left: number | undefined;

  constructor(
    private readonly db: ShardDb,
    private readonly max: number,
  ) {}

  /** Takes a place for one more job; false when the shard is at its cap. */
  take(): boolean {
    if (this.max === Number.POSITIVE_INFINITY) return true;
    this.left ??= this.max - unfinishedJobs(this.db);
    if (this.left <= 0) return false;
    this.left -= 1;
    return true;
  }
}

/** The RPC's answer, with the stored row in place of its view. */
export type InsertOutcome = { ok: true; replayed: boolean; job: JobRow } | RefusalOf<SubmitResult>;
/** One item of a batch: what insertJob answers, bar the pool refusal (a batch checks pools first). */
export type AdmitOutcome = Exclude<InsertOutcome, { reason: "invalid_resources" }>;

/**
 * insertJob: creates the job due at its run_at. Invariants: one Idempotency-Key names at most one
 * job for 24 h; the same key with the same body replays that job, with another body it conflicts;
 * a job naming pools is accepted only if each pool exists and can ever hold its units. Nothing is
 * written unless the job is created.
 */
export function insertJob(
  db: ShardDb,
  spec: NewJob,
  idem: Idempotency | undefined,
  now: number,
  t: ShardTimings,
  maxUnfinished = Number.POSITIVE_INFINITY,
): InsertOutcome {
  return admitJob(db, { spec, idempotency: idem }, now, t, new UnfinishedRoom(db, maxUnfinished));
}

/** The key's live record here, as a replay of its job or a conflict; undefined when it has none. */
function seenKey(db: ShardDb, idem: Idempotency, now: number): AdmitOutcome | undefined {
  const seen = db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.key, idem.key), sql`${idempotencyKeys.expiresAt} > ${now}`))
    .get();
  if (!seen) return undefined;
  if (seen.bodyHash !== idem.bodyHash) return { ok: false, reason: "idempotency_conflict" };
  const original = db.select().from(jobs).where(eq(jobs.id, seen.jobId)).get();
  return original ? { ok: true, replayed: true, job: original } : undefined;
}

/** The highest shard count a key lookup here was made with (0: none yet). */
function fencedShards(db: ShardDb): number {
  return db.select({ shards: keyFence.shards }).from(keyFence).get()?.shards ?? 0;
}

/**
 * lookupKeys: what this shard holds for each key, for a keyed submit placed on another shard.
 * Invariant: once a lookup made with count N has answered "nothing here", no keyed submit placed by
 * a count below N is created on this shard (admitJob refuses it as stale_shards), so the key cannot
 * appear here after the caller decided to create it elsewhere. Rows: the fence row, only when N is
 * higher than any count seen before (once per growth). Returns one entry per key, in order.
 */
export function lookupKeys(db: ShardDb, keys: Idempotency[], shards: number, now: number): KeyLookup[] {
  if (shards > fencedShards(db)) {
    db.insert(keyFence)
      .values({ id: 0, shards })
      .onConflictDoUpdate({ target: keyFence.id, set: { shards } })
      .run();
  }
  return keys.map((idem) => {
    const seen = seenKey(db, idem, now);
    if (seen === undefined) return null;
    return seen.ok ? { ok: true, replayed: true, view: viewJob(db, seen.job) } : seen;
  });
}

function admitJob(
  db: ShardDb,
  { spec, idempotency: idem }: NewSubmission,
  now: number,
  t: ShardTimings,
  room: UnfinishedRoom,
): InsertOutcome {
  if (idem) {
    const seen = seenKey(db, idem, now);
    if (seen) return seen;
    if (idem.shards < fencedShards(db)) return { ok: false, reason: "stale_shards" };
  }
  if (!room.take()) return { ok: false, reason: "too_many_unfinished" };
  const needsPools = Object.keys(spec.resources).length > 0;
  if (needsPools) {
    const details = resourceErrors(db, spec.resources);
    if (details.length > 0) return { ok: false, reason: "invalid_resources", details };
  }
  const job = db
    .insert(jobs)
    .values({
      ...spec,
      needsPools,
      status: "scheduled",
      occurrenceAt: spec.runAt,
      deadline: spec.runAt,
      createdAt: now,
      updatedAt: now,
      indexDueAt: now + t.indexFlushDelayMs,
    })
    .returning()
    .get();
  if (idem) {
    db.insert(idempotencyKeys)
      .values({ key: idem.key, bodyHash: idem.bodyHash, jobId: spec.id, expiresAt: now + IDEMPOTENCY_TTL_MS })
      .onConflictDoUpdate({
        target: idempotencyKeys.key,
        set: { bodyHash: idem.bodyHash, jobId: spec.id, expiresAt: now + IDEMPOTENCY_TTL_MS },
      })
      .run();
  }
  return { ok: true, replayed: false, job };
}

/**
 * insertJobs: a batch of submissions, in order, in one SQLite transaction. Invariants: all or
 * nothing for bad input: every job naming pools is checked against the pools before the first
 * write, and if any fails nothing is written; otherwise each job gets exactly what insertJob would
 * have given it had they been sent one after another (created, replayed, idempotency_conflict, or
 * too_many_unfinished once MAX_UNFINISHED_JOBS is reached, which is counted once for the batch).
 */
export function insertJobs(
  db: ShardDb,
  batch: NewSubmission[],
  now: number,
  t: ShardTimings,
  maxUnfinished = Number.POSITIVE_INFINITY,
): { ok: true; outcomes: AdmitOutcome[] } | RefusalOf<SubmitBatchResult> {
  const items = batch.flatMap(({ spec }, index) => {
    const details = Object.keys(spec.resources).length > 0 ? resourceErrors(db, spec.resources) : [];
    return details.length > 0 ? [{ index, details }] : [];
  });
  if (items.length > 0) return { ok: false, reason: "invalid_resources", items };
  const room = new UnfinishedRoom(db, maxUnfinished);
  // A transaction, so a failure part-way (storage, not input) leaves none of the batch behind.
  return db.transaction(() => ({
    ok: true as const,
    outcomes: batch.map((submission): AdmitOutcome => {
      const outcome = admitJob(db, submission, now, t, room);
      // Pools cannot change inside this synchronous step, so what passed above passes here.
      if ("details" in outcome) throw new Error("a pool check changed its verdict mid-batch");
      return outcome;
    }),
  }));
}

/** Drops expired idempotency keys a bounded number at a time, so the alarm never stalls on it. */
export function pruneIdempotencyKeys(db: ShardDb, now: number, limit: number): void {
  db.run(
    sql`delete from ${idempotencyKeys} where ${idempotencyKeys.key} in (select ${idempotencyKeys.key} from ${idempotencyKeys} where ${idempotencyKeys.expiresAt} <= ${now} limit ${limit})`,
  );
}
