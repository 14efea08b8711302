// Which dispatch queue a shard sends to. One Cloudflare queue takes about 5,000 messages a second, and
// the peak needs 12,000, so shards spread over DISPATCH_QUEUES queues. A shard's own queue is a stable
// hash of its name, where its first send goes; each later send goes to the next queue in turn
// (sendQueueOf). A send's messages stay together on one queue (a consumer batch still begins them in
// one request), while a busy shard's successive sends use every queue: on Cloudflare a hot shard is not
// held to one queue's throughput, and locally, where Miniflare hands each queue's consumer one batch at a
// time, a shard's next send does not wait behind its previous batch (docs/architecture.md, "Queue
// settings"). Messages are transport: nothing relies on their order across sends (fencing makes any copy
// on any queue safe), and the fairness window bounds what one shard has in flight, whichever queues. Pure.

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

/**
 * The queue of a shard's send number `sends` (0 for its first since the object started): its own queue
 * (dispatchQueueOf) for the first, then the next one in turn, round the DISPATCH_QUEUES queues.
 */
export function sendQueueOf(shardName: string, queues: number, sends: number): number {
  if (!Number.isInteger(sends) || sends < 0)
    throw new RangeError(`sends must be a whole number, got ${sends}`);
  return (dispatchQueueOf(shardName, queues) + (sends % queues)) % queues;
}
