// Job creation with Idempotency-Key semantics, and the read-model (D1) bookkeeping.
import { and, asc, eq, inArray, isNotNull, lt, lte, sql } from "drizzle-orm";
import type { NewJob } from "../core/job";
import type { ShardTimings } from "./dispatch-queries";
import { resourceErrors } from "./pool-queries";
import type { Idempotency, IndexedVersion, RefusalOf, SubmitResult } from "./rpc";
import { idempotencyKeys, type JobRow, jobs } from "./schema";
import type { ShardDb } from "./view";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Jobs not yet finished in this shard: bounded by MAX_UNFINISHED_JOBS. */
export function unfinishedJobs(db: ShardDb): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(jobs)
      .where(inArray(jobs.status, ["scheduled", "queued", "running"]))
      .get()?.n ?? 0
  );
}

/** The RPC's answer, with the stored row in place of its view. */
export type InsertOutcome = { ok: true; replayed: boolean; job: JobRow } | RefusalOf<SubmitResult>;

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
  if (idem) {
    const seen = db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.key, idem.key), sql`${idempotencyKeys.expiresAt} > ${now}`))
      .get();
    if (seen) {
      if (seen.bodyHash !== idem.bodyHash) return { ok: false, reason: "idempotency_conflict" };
      const original = db.select().from(jobs).where(eq(jobs.id, seen.jobId)).get();
      if (original) return { ok: true, replayed: true, job: original };
    }
  }
  if (unfinishedJobs(db) >= maxUnfinished) return { ok: false, reason: "too_many_unfinished" };
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

export function findJob(db: ShardDb, jobId: string): JobRow | undefined {
  return db.select().from(jobs).where(eq(jobs.id, jobId)).get();
}

/** Drops expired idempotency keys a bounded number at a time, so the alarm never stalls on it. */
export function pruneIdempotencyKeys(db: ShardDb, now: number, limit: number): void {
  db.run(
    sql`delete from ${idempotencyKeys} where ${idempotencyKeys.key} in (select ${idempotencyKeys.key} from ${idempotencyKeys} where ${idempotencyKeys.expiresAt} <= ${now} limit ${limit})`,
  );
}

/** Jobs whose D1 copy is behind and due to be written. */
export function dueForIndex(db: ShardDb, now: number, limit: number): JobRow[] {
  return db
    .select()
    .from(jobs)
    .where(and(isNotNull(jobs.indexDueAt), lte(jobs.indexDueAt, now)))
    .orderBy(asc(jobs.indexDueAt))
    .limit(limit)
    .all();
}

/**
 * markIndexed: records that D1 holds `version` of each job. Invariant: the pending index write is
 * cleared only when D1 holds the newest version; a change made since keeps its pending write.
 */
export function markIndexed(db: ShardDb, written: IndexedVersion[]): void {
  for (const w of written) {
    db.update(jobs)
      .set({
        indexedVersion: sql`max(${jobs.indexedVersion}, ${w.version})`,
        indexDueAt: sql`case when ${jobs.version} <= ${w.version} then null else ${jobs.indexDueAt} end`,
      })
      .where(and(eq(jobs.id, w.id), lt(jobs.indexedVersion, w.version)))
      .run();
  }
}

/** A failed D1 write is tried again later, from the shard, until it lands. */
export function postponeIndex(db: ShardDb, ids: string[], until: number): void {
  for (const id of ids) {
    db.update(jobs).set({ indexDueAt: until }).where(eq(jobs.id, id)).run();
  }
}
