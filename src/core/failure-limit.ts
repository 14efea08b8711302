// Failed-authentication limits (docs/design.md, HTTP contract): a token bucket per key (a client
// address, a claimed user), holding `limit` failures and refilled at `limit` per window. A key whose
// bucket is empty is refused until a failure's worth has refilled: so `limit` failures at once, then
// one per window/limit, on average `limit` per window. Only failures take tokens: a key that never
// fails is never limited. Pure: `now` is an argument.

export interface FailureRule {
  /** Failures a key may make at once (the bucket's size). */
  limit: number;
  /** The time in which an empty bucket refills, in ms. */
  windowMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** It ran out since it was last full: `fail` reports running out once per such episode. */
  ranOut: boolean;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** At most `maxKeys` buckets are kept; a full bucket is the same as none and goes first. */
  constructor(private readonly maxKeys = 10_000) {}

  private tokensOf(bucket: Bucket | undefined, rule: FailureRule, now: number): number {
    if (!bucket) return rule.limit;
    const refilled = (Math.max(0, now - bucket.at) * rule.limit) / rule.windowMs;
    return Math.min(rule.limit, bucket.tokens + refilled);
  }

  /** Seconds until `key` may fail again (at least 1), or 0 when it may now. */
  retryAfterSeconds(key: string, rule: FailureRule, now: number): number {
    const tokens = this.tokensOf(this.buckets.get(key), rule, now);
    if (tokens >= 1) return 0;
    // Whole milliseconds first, so float noise (0.9999…) cannot add a second.
    const waitMs = Math.round(((1 - tokens) * rule.windowMs) / rule.limit);
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  /**
   * Takes a failure's token from `key`. Returns true when that empties its bucket for the first time
   * since it was last full (the key is now limited: a caller logs it once, not at every refill).
   */
  fail(key: string, rule: FailureRule, now: number): boolean {
    const bucket = this.buckets.get(key);
    const before = this.tokensOf(bucket, rule, now);
    const tokens = Math.max(0, before - 1);
    const ranOut = (bucket?.ranOut ?? false) && before < rule.limit;
    // Re-inserted, so the map's order is least recently failed first (what eviction drops).
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxKeys) this.evict(rule, now);
    this.buckets.set(key, { tokens, at: now, ranOut: ranOut || tokens < 1 });
    return tokens < 1 && !ranOut;
  }

  /**
   * Gives back a token `fail` took (a try charged before its outcome was known turned out right), up
   * to the bucket's size.
   */
  refund(key: string, rule: FailureRule, now: number): void {
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    bucket.tokens = Math.min(rule.limit, this.tokensOf(bucket, rule, now) + 1);
    bucket.at = now;
  }

  /** Forgets every key. */
  reset(): void {
    this.buckets.clear();
  }

  /** How many keys are remembered (tests). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops the buckets that have refilled; if none has, the least recently failed tenth. */
  private evict(rule: FailureRule, now: number): void {
    for (const [key, bucket] of this.buckets)
      if (this.tokensOf(bucket, rule, now) >= rule.limit) this.buckets.delete(key);
    if (this.buckets.size < this.maxKeys) return;
    let drop = Math.ceil(this.maxKeys / 10);
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
