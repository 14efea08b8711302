// The user's account, kept on its home shard (shard 0): key hashes, signing secrets, shard count.
// Authentication reads only this Durable Object, so submit, view and cancel never wait on D1.
import { isNull, sql } from "drizzle-orm";
import { constantTimeEqual } from "../core/ids";
import { account, apiKeys, signingSecrets } from "./schema";
import type { ShardDb } from "./view";

export interface AccountInit {
  userId: string;
  name: string | null;
  keyHash: string;
  signingSecret: string;
  shards: number;
}

export interface Principal {
  userId: string;
  shards: number;
}

/** createAccount: idempotent per user id; the first call wins. */
export function createAccount(db: ShardDb, init: AccountInit, now: number): void {
  db.insert(account)
    .values({ userId: init.userId, name: init.name, shards: init.shards, createdAt: now })
    .onConflictDoNothing()
    .run();
  db.insert(apiKeys).values({ keyHash: init.keyHash, createdAt: now }).onConflictDoNothing().run();
  db.insert(signingSecrets)
    .values({ secret: init.signingSecret, createdAt: now })
    .onConflictDoNothing()
    .run();
}

/** authenticate: the principal for a live key's hash, or null. Every live key is compared. */
export function authenticate(db: ShardDb, keyHash: string): Principal | null {
  const owner = db.select().from(account).get();
  if (!owner) return null;
  const live = db.select({ keyHash: apiKeys.keyHash }).from(apiKeys).where(isNull(apiKeys.revokedAt)).all();
  let matched = false;
  for (const k of live) matched = constantTimeEqual(k.keyHash, keyHash) || matched;
  return matched ? { userId: owner.userId, shards: owner.shards } : null;
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

export const MAX_SHARDS = 256;

/**
 * setShards: spreads a hot user's new jobs over more shards. Only grows: a job id names its shard,
 * so every shard that ever held jobs must stay addressable.
 */
export function setShards(db: ShardDb, shards: number): Principal | { error: string } {
  const owner = db.select().from(account).get();
  if (!owner) return { error: "not_found" };
  if (shards < owner.shards) return { error: `shards can only grow (now ${owner.shards})` };
  db.update(account).set({ shards }).run();
  return { userId: owner.userId, shards };
}
