// Idempotency-Keys across shard growth. A keyed submit is placed on its key's shard under the user's
// current shard count (src/core/placement.ts), but the key may have been written under an earlier
// count while it can still be live (24 h). So before creating anything, a keyed submit looks its key
// up on every other shard that an earlier count (or a pool) would have placed it on, and each lookup
// fences that shard at the current count: from then on that shard refuses a submit of a key placed
// by an older count (`stale_shards`), and the refused caller looks again with the count made fresh.
// Two submits of one key therefore meet on one shard, whichever counts they each believed in: the
// newer one's lookup either finds the older one's job or keeps it from being created (see
// docs/architecture.md, "Idempotency across shard growth").
import type { Context } from "hono";
import { keyLookupShards } from "../core/placement";
import { shardStub } from "../shard/address";
import type { KnownDependencies, Principal, SubmitItemResult, SubmitResult } from "../shard/rpc";
import { type AppEnv, freshPrincipal } from "./auth";
import { checkDependencies, singleDependencies } from "./dependencies";
import { type PreparedSubmission, prepareSubmission, submitContext } from "./submission";

/** Placements of one request: the first, and again after each stale_shards with a fresh count. */
export const MAX_PLACEMENTS = 3;

/**
 * For each keyed submission whose key already lives on a shard other than its placement, that
 * shard's answer: the original job (a replay) or an idempotency conflict. One lookupKeys RPC per
 * other shard, all at once; none at all while the user has only ever had one shard.
 */
export async function keysFoundElsewhere<T extends PreparedSubmission>(
  env: AppEnv["Bindings"],
  principal: Principal,
  items: readonly T[],
): Promise<Map<T, SubmitItemResult>> {
  const byShard = new Map<number, T[]>();
  for (const item of items) {
    if (!item.idempotency) continue;
    for (const shard of keyLookupShards(item.idempotency.key, principal.keyShards, item.shard)) {
      const group = byShard.get(shard);
      if (group) group.push(item);
      else byShard.set(shard, [item]);
    }
  }
  const answers = await Promise.all(
    [...byShard].map(async ([shard, group]) => {
      const keys = group.flatMap((item) => (item.idempotency ? [item.idempotency] : []));
      const found = await shardStub(env, principal.userId, shard).lookupKeys(keys, principal.shards);
      return { shard, group, found };
    }),
  );
  const found = new Map<T, SubmitItemResult>();
  // Lowest shard first, so a key written twice before this lookup existed answers one job, always.
  for (const { group, found: results } of answers.sort((a, b) => a.shard - b.shard)) {
    group.forEach((item, i) => {
      const result = results[i];
      if (result && !found.has(item)) found.set(item, result);
    });
  }
  return found;
}

/** POST /v1/jobs: one submit, its key looked up first, placed again with a fresh count when stale. */
export async function submitOne(
  c: Context<AppEnv>,
  body: unknown,
  key: string | undefined,
): Promise<SubmitResult> {
  let known: KnownDependencies | undefined;
  for (let placement = 1; ; placement++) {
    const principal = c.get("principal");
    const prepared = await prepareSubmission(body, key, submitContext(c));
    const found = (await keysFoundElsewhere(c.env, principal, [prepared])).get(prepared);
    if (found) return found;
    // Every id it depends on is the user's job (else a 400, nothing created), checked once.
    known ??= await checkDependencies(c.env, principal.userId, singleDependencies(body));
    const out = await shardStub(c.env, principal.userId, prepared.shard).submit(
      prepared.spec,
      prepared.idempotency,
      principal.maxUnfinishedJobs ?? undefined,
      known,
    );
    if (out.ok || out.reason !== "stale_shards" || placement === MAX_PLACEMENTS) return out;
    await freshPrincipal(c);
  }
}
