// The API key's request rate, charged to the rate limiter binding in arrears. Asking the binding for
// every request costs a call per request (on Cloudflare a round trip to the location's counter;
// locally Miniflare's limiter is a Durable Object that writes and fsyncs a row per call: about 0.45 ms
// of the one local thread per single submit, docs/performance.md). Instead this isolate asks at most
// once per ASK_EVERY_MS for a key, or sooner once ASK_AFTER requests went unasked, and each ask carries
// the requests served since the last one as its `delta`: the binding still counts every request this
// isolate let through. In between, a request follows the key's last answer here, a refusal included
// (a refused request is not charged, as the binding does not count what it refuses; so an ask that is
// refused leaves the requests it carried uncounted, in a window the key has spent anyway).
//
// What that gives up, bounded: this isolate lets a key through at most 2 × (ASK_AFTER - 1) requests
// beyond its limit in a window (the ask that spends the count carries up to ASK_AFTER - 1 already let
// through, and up to ASK_AFTER - 1 more pass on its answer, for at most ASK_EVERY_MS); requests not yet
// charged when the isolate goes away or forgets its keys (past KEYS_MAX of them) are never counted,
// fewer than ASK_AFTER a key. The binding is already approximate (it counts per Cloudflare location, in
// fixed windows), and it is the first line of defence: the hard one is the shard's exact cap on
// unfinished jobs (docs/architecture.md, "The key's rate limit, charged in arrears").

/** The binding as this needs it (`RateLimit` of @cloudflare/workers-types). */
export interface RateLimiter {
  limit(options: { key: string; delta?: number }): Promise<{ success: boolean }>;
}

/** A key's answer is reused for this long at most. */
export const ASK_EVERY_MS = 1_000;
/** Requests of a key served without asking, at most, before the next one asks. */
export const ASK_AFTER = 16;
const KEYS_MAX = 10_000;

interface Tab {
  /** The binding's last answer for the key. */
  allowed: boolean;
  /** Until when the answer is reused. */
  until: number;
  /** Requests let through on that answer and not yet charged. */
  unasked: number;
}

export class KeyRateTabs {
  private readonly tabs = new Map<string, Tab>();

  /**
   * Whether a request of `key` may go on. Decided here on the key's last answer while it is fresh and
   * fewer than ASK_AFTER requests went unasked; otherwise this request asks, charging itself and
   * every unasked request before it. Concurrent asks of one key are allowed: each carries its own.
   */
  async admit(limiter: RateLimiter, key: string, now: number): Promise<boolean> {
    const tab = this.tabs.get(key);
    if (tab && now < tab.until && tab.unasked + 1 < ASK_AFTER) {
      if (tab.allowed) tab.unasked += 1;
      return tab.allowed;
    }
    const delta = (tab?.unasked ?? 0) + 1;
    if (tab) tab.unasked = 0;
    let allowed: boolean;
    try {
      allowed = (await limiter.limit(delta === 1 ? { key } : { key, delta })).success;
    } catch (err) {
      // Not charged: the requests it carried wait for the next ask (this one fails with the error).
      const current = this.tabs.get(key);
      if (current) current.unasked += delta - 1;
      throw err;
    }
    // The latest answer decides from here; requests let through meanwhile are still to be charged.
    const current = this.tabs.get(key);
    if (!current && this.tabs.size >= KEYS_MAX) this.tabs.clear();
    this.tabs.set(key, { allowed, until: now + ASK_EVERY_MS, unasked: current?.unasked ?? 0 });
    return allowed;
  }

  /** Forget every key's answer and unasked count (tests). */
  clear(): void {
    this.tabs.clear();
  }
}
