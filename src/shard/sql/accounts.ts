// The user's account on its home shard (shard 0): API key hashes, signing secrets, shard count, limits.
//
// createAccount(db, init, now) → void
//   writes account, api_keys, signing_secrets (one row each, insert or nothing).
//   Rows written: 6 on the first call (each row and its text key's index), 0 after.
// authenticate(db, keyHash, now) → {ok, principal} | unknown_key
//   reads account, every live api_keys row. Rows written: 0.
// findAccount(db, now) → {ok, principal} | not_found
//   reads account. Rows written: 0.
// liveSigningSecrets(db, now) → secrets, newest first
//   reads signing_secrets. Rows written: 0.
// setShards(db, shards, now) → {ok, principal} | not_found | cannot_shrink
//   reads account; writes it (shards, former_shards) when it grows. Rows written: 1 if grown, else 0.
// setLimits(db, limits, now) → {ok, principal} | not_found
//   reads account; writes the limits given. Rows written: 1 when any limit is given, else 0.
// growShards(db, defaultCeiling, now) → {ok, shards, grown} | not_found
//   reads account; writes it (shards, former_shards, grown_at) when grown. Rows written: 1 if grown, else 0.
// addKey(db, keyHash, now) → ok | not_found
//   reads account; writes api_keys (+1 row). Rows written: 2 (the row and its key's index).
// listKeys(db) → KeyView[]
//   reads every api_keys row. Rows written: 0.
// revokeKey(db, keyId, now) → {ok, key} | not_found
//   reads every api_keys row (matched by key id); writes its revoked_at. Rows written: 1, 0 if revoked.
// rotateSigningSecret(db, secret, overlapMs, now) → ok | not_found
//   reads account; writes signing_secrets: expires_at of each live secret outliving the overlap, and
//   the new secret (+1 row). Rows written: 2 + 1 per live secret shortened.
//
// Authentication reads only this Durable Object, so submit, view and cancel never wait on D1.
import { eq, isNull, sql } from "drizzle-orm";
import { grownShards } from "../../core/hot-shard";
import { constantTimeEqual, keyIdOf } from "../../core/ids";
import type { ShardDb } from "../db";
import type {
  AccountInit,
  AccountLimits,
  AccountResult,
  AddKeyResult,
  AuthenticateResult,
  GrowShardsResult,
  KeyView,
  Principal,
  RevokeKeyResult,
  RotateSigningSecretResult,
  SetLimitsResult,
  SetShardsResult,
} from "../rpc";
import { account, apiKeys, type FormerShards, signingSecrets } from "../schema";
import { IDEMPOTENCY_TTL_MS } from "./submit";

/** createAccount: idempotent per user id; the first call wins. */
export function createAccount(db: ShardDb, init: AccountInit, now: number): void {
  db.insert(account)
    .values({
      userId: init.userId,
      name: init.name,
      shards: init.shards,
      indexDb: init.indexDb,
      createdAt: now,
    })
    .onConflictDoNothing()
    .run();
  db.insert(apiKeys).values({ keyHash: init.keyHash, createdAt: now }).onConflictDoNothing().run();
  db.insert(signingSecrets)
    .values({ secret: init.signingSecret, createdAt: now })
    .onConflictDoNothing()
    .run();
}

/** authenticate: the principal for a live key's hash. Every live key is compared. */
export function authenticate(db: ShardDb, keyHash: string, now: number): AuthenticateResult {
  const owner = db.select().from(account).get();
  if (!owner) return { ok: false, reason: "unknown_key" };
  const live = db.select({ keyHash: apiKeys.keyHash }).from(apiKeys).where(isNull(apiKeys.revokedAt)).all();
  let matched = false;
  for (const k of live) matched = constantTimeEqual(k.keyHash, keyHash) || matched;
  if (!matched) return { ok: false, reason: "unknown_key" };
  return { ok: true, principal: principalOf(owner, now) };
}

/** The account's principal (its shard count and limits), or not_found before it was created. */
export function findAccount(db: ShardDb, now: number): AccountResult {
  const owner = db.select().from(account).get();
  return owner ? { ok: true, principal: principalOf(owner, now) } : { ok: false, reason: "not_found" };
}

/** The secrets a webhook may be signed with, newest first; empty on a shard that is not home. */
export function liveSigningSecrets(db: ShardDb, now: number): string[] {
  return db
    .select({ secret: signingSecrets.secret })
    .from(signingSecrets)
    .where(sql`${signingSecrets.expiresAt} is null or ${signingSecrets.expiresAt} > ${now}`)
    .orderBy(sql`${signingSecrets.createdAt} desc`)
    .all()
    .map((r) => r.secret);
}

/**
 * The account's columns after its shard count becomes `shards` at `now`: the count it leaves is kept
 * in `former_shards` for as long as an Idempotency-Key placed under it can live (24 h), so a keyed
 * submit can still find that key after growth (src/api/idempotency.ts).
 */
function grownTo(owner: typeof account.$inferSelect, shards: number, now: number) {
  if (shards === owner.shards) return { shards, formerShards: owner.formerShards };
  const formerShards: FormerShards = [
    ...owner.formerShards.filter((f) => f.until > now && f.shards !== owner.shards),
    { shards: owner.shards, until: now + IDEMPOTENCY_TTL_MS },
  ];
  return { shards, formerShards };
}

/**
 * setShards: spreads a hot user's new jobs over more shards. Only grows: a job id names its shard,
 * so every shard that ever held jobs must stay addressable. Rows: the account row, when it grows.
 */
export function setShards(db: ShardDb, shards: number, now: number): SetShardsResult {
  const owner = db.select().from(account).get();
  if (!owner) return { ok: false, reason: "not_found" };
  if (shards < owner.shards) return { ok: false, reason: "cannot_shrink", shards: owner.shards };
  const grown = grownTo(owner, shards, now);
  if (shards !== owner.shards) db.update(account).set(grown).run();
  return { ok: true, principal: principalOf({ ...owner, ...grown }, now) };
}

/**
 * setLimits: an admin's per-user limits (null restores the global default). The retention applies to
 * jobs submitted from now on (each job carries its own); the unfinished-jobs cap and the shard ceiling
 * from the next request; the pool cap from the next pool created (existing pools stay).
 */
export function setLimits(db: ShardDb, limits: AccountLimits, now: number): SetLimitsResult {
  const owner = db.select().from(account).get();
  if (!owner) return { ok: false, reason: "not_found" };
  const changed = {
    ...(limits.finishedRetentionSeconds !== undefined && {
      finishedRetentionSeconds: limits.finishedRetentionSeconds,
    }),
    ...(limits.maxUnfinishedJobs !== undefined && { maxUnfinishedJobs: limits.maxUnfinishedJobs }),
    ...(limits.shardCeiling !== undefined && { shardCeiling: limits.shardCeiling }),
    ...(limits.maxPools !== undefined && { maxPools: limits.maxPools }),
  };
  if (Object.keys(changed).length > 0) db.update(account).set(changed).run();
  return { ok: true, principal: principalOf({ ...owner, ...changed }, now) };
}

/**
 * growShards: a shard of this user runs hot (src/core/hot-shard.ts). Doubles the shard count up to the
 * user's ceiling (or the global one), at most once per cool-down; only ever grows, like setShards, so
 * every job id keeps routing. Pools stay on the home shard.
 */
export function growShards(db: ShardDb, defaultCeiling: number, now: number): GrowShardsResult {
  const owner = db.select().from(account).get();
  if (!owner) return { ok: false, reason: "not_found" };
  const shards = grownShards(owner.shards, owner.shardCeiling ?? defaultCeiling, owner.grownAt, now);
  if (shards === owner.shards) return { ok: true, shards, grown: false };
  db.update(account)
    .set({ ...grownTo(owner, shards, now), grownAt: now })
    .run();
  return { ok: true, shards, grown: true };
}

function principalOf(owner: typeof account.$inferSelect, now: number): Principal {
  const former = owner.formerShards.filter((f) => f.until > now).map((f) => f.shards);
  return {
    userId: owner.userId,
    shards: owner.shards,
    keyShards: [...new Set([...former, owner.shards])].sort((a, b) => a - b),
    finishedRetentionSeconds: owner.finishedRetentionSeconds,
    indexDb: owner.indexDb,
    maxUnfinishedJobs: owner.maxUnfinishedJobs,
    shardCeiling: owner.shardCeiling,
    maxPools: owner.maxPools,
  };
}

export function addKey(db: ShardDb, keyHash: string, now: number): AddKeyResult {
  if (!db.select().from(account).get()) return { ok: false, reason: "not_found" };
  db.insert(apiKeys).values({ keyHash, createdAt: now }).run();
  return { ok: true };
}

export function listKeys(db: ShardDb): KeyView[] {
  return db.select().from(apiKeys).orderBy(apiKeys.createdAt).all().map(keyView);
}

function keyView(k: { keyHash: string; createdAt: number; revokedAt: number | null }): KeyView {
  return {
    key_id: keyIdOf(k.keyHash),
    created_at: new Date(k.createdAt).toISOString(),
    revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
  };
}

/** revokeKey: the key stops authenticating. Idempotent; keeps the row for the audit trail. */
export function revokeKey(db: ShardDb, keyId: string, now: number): RevokeKeyResult {
  const key = db
    .select()
    .from(apiKeys)
    .all()
    .find((k) => keyIdOf(k.keyHash) === keyId);
  if (!key) return { ok: false, reason: "not_found" };
  const revokedAt = key.revokedAt ?? now;
  if (key.revokedAt === null)
    db.update(apiKeys).set({ revokedAt }).where(eq(apiKeys.keyHash, key.keyHash)).run();
  return { ok: true, key: keyView({ ...key, revokedAt }) };
}

/**
 * rotateSigningSecret: adds a new secret and lets every older live one expire after `overlapMs`.
 * Until then webhooks carry a signature per live secret, so receivers can switch at leisure.
 */
export function rotateSigningSecret(
  db: ShardDb,
  secret: string,
  overlapMs: number,
  now: number,
): RotateSigningSecretResult {
  if (!db.select().from(account).get()) return { ok: false, reason: "not_found" };
  db.update(signingSecrets)
    .set({ expiresAt: now + overlapMs })
    .where(sql`${signingSecrets.expiresAt} is null or ${signingSecrets.expiresAt} > ${now + overlapMs}`)
    .run();
  db.insert(signingSecrets).values({ secret, createdAt: now }).run();
  return { ok: true };
}
