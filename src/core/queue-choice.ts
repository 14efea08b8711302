// Which dispatch queue a shard's message goes to. One Cloudflare queue takes about 5,000 messages a
// second, and the peak needs 12,000, so messages spread over DISPATCH_QUEUES queues. A shard's messages
// take the queues in turn, starting from a stable hash of its name (so shards that send one message
// each still spread): nothing depends on the order of delivery (fencing refuses any copy that is not
// the attempt's first begin), and the fairness window bounds what one shard has in flight, whichever
// queues carry it. Pure.

/** FNV-1a, 32 bits: tiny, stable across runtimes and releases, and well spread for short keys. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The queue of the shard's message number `sent` (0 for its first since it started): the shard's own
 * queue for the first, then the next one for each message after, round the DISPATCH_QUEUES queues.
 */
export function dispatchQueueOf(shardName: string, queues: number, sent = 0): number {
  if (!Number.isInteger(queues) || queues < 1)
    throw new RangeError(`queues must be a positive integer, got ${queues}`);
  if (!Number.isInteger(sent) || sent < 0) throw new RangeError(`sent must be a count, got ${sent}`);
  return ((fnv1a(shardName) % queues) + (sent % queues)) % queues;
}
