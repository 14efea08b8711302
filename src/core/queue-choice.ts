// Which dispatch queue a shard sends to. One Cloudflare queue takes about 5,000 messages a second, and
// the peak needs 12,000, so shards spread over DISPATCH_QUEUES queues. The choice is a stable hash of
// the shard's name: a shard always uses the same queue (its messages stay in order of sending), and
// the fairness window bounds what one shard has in flight, whichever queue it is. Pure.

/** FNV-1a, 32 bits: tiny, stable across runtimes and releases, and well spread for short keys. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function dispatchQueueOf(shardName: string, queues: number): number {
  if (!Number.isInteger(queues) || queues < 1)
    throw new RangeError(`queues must be a positive integer, got ${queues}`);
  return fnv1a(shardName) % queues;
}
