// Where a user's jobs and Idempotency-Keys live among the user's shards. Pure: the shard counts are
// arguments. A job id names its shard, so a job is always found where it was placed; a key is found
// by looking on every shard that a count the user had while the key can live would have placed it.

/** The home shard holds the account (keys, signing secrets, shard count) and the pools. */
export const HOME_SHARD = 0;

/** The shard an Idempotency-Key (its SHA-256, hex) is placed on when the user has `shards` shards. */
export function keyShard(keyHash: string, shards: number): number {
  return Number.parseInt(keyHash.slice(0, 8), 16) % shards;
}

/**
 * Where a new job goes: a job naming a pool or a flow-control key on the home shard (which owns the
 * pools and decides every key, so pool accounting and flow control are local and atomic, and a key's
 * home never moves); a keyed one where its key is placed; any other at random.
 */
export function placeJob(
  atHome: boolean,
  keyHash: string | undefined,
  shards: number,
  random: () => number,
): number {
  if (atHome) return HOME_SHARD;
  if (keyHash !== undefined) return keyShard(keyHash, shards);
  return Math.floor(random() * shards);
}

/**
 * The other shards a keyed submit placed on `placed` must look on first: the key's shard under each
 * count in `keyShards` (every count the user had while a key still live was written), and the home
 * shard (where the key went if that earlier submit named a pool). Ascending, without `placed`.
 */
export function keyLookupShards(keyHash: string, keyShards: readonly number[], placed: number): number[] {
  const shards = new Set([HOME_SHARD, ...keyShards.map((n) => keyShard(keyHash, n))]);
  shards.delete(placed);
  return [...shards].sort((a, b) => a - b);
}
