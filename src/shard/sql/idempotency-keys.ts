// A shard's Idempotency-Keys as records: a key's live record (the submit it answers again), the fence
// that key lookups from other shards leave (src/api/idempotency.ts), and their pruning. Creating a job
// with its key is submit.ts's (insertJob, through createJobs' recordKeys).
//
// seenKey(db, idem, now) → a replay of the key's job | idempotency_conflict | undefined (no live record)
//   reads idempotency_keys[key] and its job. Rows written: 0.
// fencedShards(db) → number: the highest shard count a lookup here was made with. Rows written: 0.
// lookupKeys(db, keys, shards, now) → KeyLookup[], one per key
//   reads key_fence, each key's row and its job (with recent attempts, for the view); writes key_fence.
//   Rows written: 1 when `shards` is above the fence (once per growth), else 0.
// pruneIdempotencyKeys(db, now, limit) → void
//   deletes ≤ limit expired idempotency_keys rows. Rows written: 1 per key.
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { ShardDb } from "../db";
import type { Idempotency, KeyLookup } from "../rpc";
import { idempotencyKeys, type JobRow, jobs, keyFence } from "../schema";
import { effective } from "./begun";
import { prepared } from "./prepared";
import { viewJob } from "./view";

/** A live key's record, the key bound as `key` and the time as `now`. */
const liveKey = (db: ShardDb) =>
  prepared(db, "submit.liveKey", (d) =>
    d
      .select()
      .from(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.key, sql.placeholder("key")),
          sql`${idempotencyKeys.expiresAt} > ${sql.placeholder("now")}`,
        ),
      )
      .prepare(),
  );

/** A job's row, its id bound as `id`. */
const jobById = (db: ShardDb) =>
  prepared(db, "submit.jobById", (d) =>
    d
      .select()
      .from(jobs)
      .where(eq(jobs.id, sql.placeholder("id")))
      .prepare(),
  );

/** What a key's live record here makes of a submit: a replay of its job, or a conflict. */
export type SeenKey =
  | { ok: true; replayed: true; job: JobRow }
  | { ok: false; reason: "idempotency_conflict" };

/** The key's live record here, as a replay of its job or a conflict; undefined when it has none. */
export function seenKey(db: ShardDb, idem: Idempotency, now: number): SeenKey | undefined {
  const seen = liveKey(db).get({ key: idem.key, now });
  if (!seen) return undefined;
  if (seen.bodyHash !== idem.bodyHash) return { ok: false, reason: "idempotency_conflict" };
  const original = effective(jobById(db).get({ id: seen.jobId }));
  return original ? { ok: true, replayed: true, job: original } : undefined;
}

/** The highest shard count a key lookup here was made with (0: none yet). */
export function fencedShards(db: ShardDb): number {
  const statement = prepared(db, "submit.fencedShards", (d) =>
    d.select({ shards: keyFence.shards }).from(keyFence).prepare(),
  );
  return statement.get()?.shards ?? 0;
}

/**
 * lookupKeys: what this shard holds for each key, for a keyed submit placed on another shard.
 * Invariant: once a lookup made with count N has answered "nothing here", no keyed submit placed by
 * a count below N is created on this shard (admission refuses it as stale_shards), so the key cannot
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

/** Drops expired idempotency keys a bounded number at a time, so the alarm never stalls on it. */
export function pruneIdempotencyKeys(db: ShardDb, now: number, limit: number): void {
  prepared(db, "submit.pruneIdempotencyKeys", (db) =>
    db
      .delete(idempotencyKeys)
      .where(
        inArray(
          idempotencyKeys.key,
          db
            .select({ key: idempotencyKeys.key })
            .from(idempotencyKeys)
            .where(lte(idempotencyKeys.expiresAt, sql.placeholder("now")))
            .limit(sql.placeholder("limit")),
        ),
      )
      .prepare(),
  ).run({ now, limit });
}
