// Which dispatch queue a shard sends to. One Cloudflare queue takes about 5,000 messages a second, and
// the peak needs 12,000, so shards spread over DISPATCH_QUEUES queues. A shard's own queue is a stable
// hash of its name, where its sends go at first. It moves on to the next queue in turn only when the one
// it is on looks held up: the oldest of its sends still waiting for their begins has waited QUEUE_STUCK_MS
// (QueueTurns). So a shard whose consumer keeps up sends everything to one queue, where its messages wait
// for the batch in progress and are begun together, one request per batch; and a shard whose queue is
// held up by a slow batch goes on with the next queue instead of waiting behind it (locally Miniflare
// hands each queue's consumer one batch at a time; on Cloudflare a hot shard is not held to one queue's
// throughput). A send's messages always go together to one queue. Messages are transport: nothing relies
// on their order across sends (fencing makes any copy on any queue safe), and the fairness window bounds
// what one shard has in flight, whichever queues (docs/architecture.md, "Queue settings"). Pure.

/**
 * How long a shard's send may wait for a begin before its next send takes the next queue. 100 ms, not
 * 50: at 8 submits in flight a shard's begins come 5-88 ms after its first waiting send (one logged
 * run), so 50 ms moved it on about once per 16 jobs, each move a split batch with its own begin and
 * report request (1.38-1.54 Durable Object requests a job over 8 runs; 1.33-1.36 at 100 ms), while
 * steady 300 jobs/s, which moving on was for, showed no difference the noise did not swamp (p99
 * 0.95-6.3 s at 100 ms, 2.3-8.2 s at 50 ms, runs alternated: docs/performance.md).
 */
export const QUEUE_STUCK_MS = 100;

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

/** The shard's `turn`-th queue: its own (dispatchQueueOf) for turn 0, then the next one in turn, round. */
export function sendQueueOf(shardName: string, queues: number, turn: number): number {
  if (!Number.isInteger(turn) || turn < 0) throw new RangeError(`turn must be a whole number, got ${turn}`);
  return (dispatchQueueOf(shardName, queues) + (turn % queues)) % queues;
}

/**
 * A shard's turn over the queues (sendQueueOf), kept by its object. The turn moves on when the oldest
 * of the shard's sends still waiting for its begins has waited QUEUE_STUCK_MS, at most once per
 * QUEUE_STUCK_MS (so a held-up queue is left, and the next is given as long before it is left too).
 * What is waiting is counted against the shard's exact count of attempts claimed and not begun, which
 * the caller reads from its rows at each send (the only moment a wait decides anything, so begins
 * need not tell it): the oldest sends are taken off first (a queue hands out its messages about in
 * order), so an attempt that will never begin (cancelled, sent again) does not keep a wait alive.
 * Kept across begins, not reset by them: a shard whose window is full sends nothing until a begin frees
 * room, and then sends at once, so a rule that forgot every wait at each begin never moved on while the
 * queue in use took one batch at a time (docs/performance.md).
 * A send of callbacks alone takes the turn in use and starts no wait (no begin ever answers it).
 */
export class QueueTurns {
  private turnNow = 0;
  /** Sends of attempts not all begun, oldest first: when each was made and its attempts still waiting. */
  private readonly waiting: { at: number; attempts: number }[] = [];
  private waitingAttempts = 0;
  private movedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly stuckMs = QUEUE_STUCK_MS) {}

  /**
   * A send of `attempts` attempts (0: callbacks alone) is made at `now`, while `unbegun` attempts of
   * earlier sends are claimed and not begun: the turn it takes.
   */
  sent(now: number, attempts: number, unbegun: number): number {
    this.settle(unbegun);
    if (attempts <= 0) return this.turnNow;
    const oldest = this.waiting[0];
    if (oldest && now - oldest.at >= this.stuckMs && now - this.movedAt >= this.stuckMs) {
      this.turnNow += 1;
      this.movedAt = now;
    }
    this.waiting.push({ at: now, attempts });
    this.waitingAttempts += attempts;
    return this.turnNow;
  }

  /** Takes the oldest sends off until at most `unbegun` attempts are waiting. */
  private settle(unbegun: number): void {
    let over = this.waitingAttempts - Math.max(0, unbegun);
    while (over > 0) {
      const oldest = this.waiting[0];
      if (!oldest) break;
      const taken = Math.min(oldest.attempts, over);
      oldest.attempts -= taken;
      this.waitingAttempts -= taken;
      over -= taken;
      if (oldest.attempts === 0) this.waiting.shift();
    }
  }
}
