// The API keys this isolate verified lately, so most requests ask no shard (src/api/auth.ts). A key's
// principal is used for `ttlMs` after the home shard was asked; a revoked key is refused within that.
//
// Two things keep a busy key from sending a burst of `authenticate` calls to its home shard, which also
// holds the user's jobs (measured: 1,267 calls for 3,000 submits when a key was first used at 300/s):
// - Refreshed ahead: in the last `refreshAheadMs` of an entry's life, one request (at most one per
//   `maxWaitMs`) asks the shard again while the others go on using the entry, so a key in steady use
//   never expires and no request waits for its refresh.
// - One ask at a time: a request that finds no entry while another request is asking for the same key
//   waits for that answer instead of asking too, for `maxWaitMs` at most. It waits on a promise of its
//   own, which the asking request resolves: workerd runs the waiter's continuation in the waiter's own
//   request (a promise created by another request would never settle if that request were cancelled).
//   A waiter whose ask fails, or outlasts `maxWaitMs`, asks for itself.
// Pure: no `cloudflare:*` imports; time comes in as `now` and the waiter's timer is injected.
import type { Principal } from "../shard/rpc";

export interface VerifiedKeyTimings {
  /** How long a key's principal is used after the home shard was asked. */
  ttlMs: number;
  /** The last part of that, in which one request refreshes the entry. */
  refreshAheadMs: number;
  /** The longest a request waits for another's ask; also how long a refresh stays claimed. */
  maxWaitMs: number;
  /** Entries kept at most (all are forgotten at once past it). */
  max: number;
}

export const VERIFIED_KEY_TIMINGS: VerifiedKeyTimings = {
  ttlMs: 10_000,
  refreshAheadMs: 2_000,
  maxWaitMs: 2_000,
  max: 10_000,
};

/** Calls `fn` after `ms`; returns what cancels it. */
export type Timer = (ms: number, fn: () => void) => () => void;

const realTimer: Timer = (ms, fn) => {
  const handle = setTimeout(fn, ms);
  return () => clearTimeout(handle);
};

interface Entry {
  principal: Principal;
  until: number;
  /** A refresh is claimed by some request until then. */
  refreshing: number;
}

interface Ask {
  since: number;
  waiters: ((principal: Principal | undefined) => void)[];
}

/** The home shard's answer: the key's principal, a refusal, or none (the call failed). */
export type AskAnswer = Principal | "refused" | "failed";

export class VerifiedKeys {
  private readonly entries = new Map<string, Entry>();
  private readonly asks = new Map<string, Ask>();

  constructor(
    private readonly timings: VerifiedKeyTimings = VERIFIED_KEY_TIMINGS,
    private readonly timer: Timer = realTimer,
  ) {}

  /**
   * The key's principal while its entry lives, or undefined (this request must ask). `refresh`: the
   * entry is in its last refreshAheadMs and this request is the one to ask again (at most one per
   * maxWaitMs); the others go on using it, and so may this one if its ask fails.
   */
  lookup(keyHash: string, now: number): { principal: Principal; refresh: boolean } | undefined {
    const entry = this.entries.get(keyHash);
    if (entry === undefined || entry.until <= now) return undefined;
    if (entry.until - now > this.timings.refreshAheadMs || entry.refreshing > now)
      return { principal: entry.principal, refresh: false };
    entry.refreshing = now + this.timings.maxWaitMs;
    return { principal: entry.principal, refresh: true };
  }

  /**
   * Either this request asks the home shard for the key (`done`: call it with the answer, as from
   * startAsk), or another request is asking already and this one waits for that answer (`waiting`:
   * its principal, or undefined when that ask fails or takes longer than maxWaitMs; then this request
   * asks for itself). Decided and recorded in one step: requests checking between awaits cannot all
   * find no one asking.
   */
  waitOrAsk(
    keyHash: string,
    now: number,
  ): { waiting: Promise<Principal | undefined> } | { done: (answer: AskAnswer) => void } {
    const ask = this.asks.get(keyHash);
    if (ask === undefined || now - ask.since >= this.timings.maxWaitMs)
      return { done: this.startAsk(keyHash, now) };
    const waiting = new Promise<Principal | undefined>((resolve) => {
      let settled = false;
      const settle = (principal: Principal | undefined) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(principal);
      };
      const cancel = this.timer(this.timings.maxWaitMs, () => settle(undefined));
      ask.waiters.push(settle);
    });
    return { waiting };
  }

  /**
   * This request asks the home shard for the key: later requests for it wait (waitOrAsk). The returned
   * function must be called with the answer: it remembers a principal (for ttlMs from `now`, when the
   * shard was asked), forgets a refused key, keeps the entry on a failed call, and hands the
   * principal to the waiters (undefined to them otherwise: each then asks for itself).
   */
  startAsk(keyHash: string, now: number): (answer: AskAnswer) => void {
    const ask: Ask = { since: now, waiters: [] };
    const current = this.asks.get(keyHash);
    // One in flight (and not given up on) stays the one waiters join; this one still answers its own.
    const mine = current === undefined || now - current.since >= this.timings.maxWaitMs;
    if (mine) {
      // Asks whose request went away are never answered; past `max` of them all are forgotten.
      if (!this.asks.has(keyHash) && this.asks.size >= this.timings.max) this.asks.clear();
      this.asks.set(keyHash, ask);
    }
    return (answer) => {
      if (mine && this.asks.get(keyHash) === ask) this.asks.delete(keyHash);
      if (answer === "refused") this.entries.delete(keyHash);
      else if (answer !== "failed") this.remember(keyHash, answer, now);
      const principal = typeof answer === "string" ? undefined : answer;
      for (const waiter of ask.waiters) waiter(principal);
    };
  }

  /** Remembers the key's principal as the home shard gave it at `askedAt` (a later answer wins). */
  remember(keyHash: string, principal: Principal, askedAt: number): void {
    const until = askedAt + this.timings.ttlMs;
    const entry = this.entries.get(keyHash);
    if (entry !== undefined && entry.until > until) return;
    if (entry === undefined && this.entries.size >= this.timings.max) this.entries.clear();
    this.entries.set(keyHash, { principal, until, refreshing: 0 });
  }

  /** A newer principal for a remembered key (its life is not extended). */
  update(keyHash: string, principal: Principal): void {
    const entry = this.entries.get(keyHash);
    if (entry) entry.principal = principal;
  }

  /** Forgets every key, so a change to an account is seen at once (tests, admin changes). */
  clear(): void {
    this.entries.clear();
  }
}
