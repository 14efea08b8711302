import { describe, expect, it } from "vitest";
import { type Timer, VerifiedKeys, type VerifiedKeyTimings } from "../../src/api/verified-keys";
import type { Principal } from "../../src/shard/rpc";

const TIMINGS: VerifiedKeyTimings = { ttlMs: 10_000, refreshAheadMs: 2_000, maxWaitMs: 2_000, max: 3 };
const T0 = 1_000_000;

const principal = (userId: string, shards = 1): Principal => ({
  userId,
  shards,
  keyShards: [shards],
  finishedRetentionSeconds: null,
  indexDb: 0,
  maxUnfinishedJobs: null,
  shardCeiling: null,
  maxPools: null,
});

/** Timers fired by hand: `fire()` runs every pending one. */
function manualTimer(): { timer: Timer; pending: () => number; fire: () => void } {
  const timers = new Set<() => void>();
  return {
    timer: (_ms, fn) => {
      timers.add(fn);
      return () => timers.delete(fn);
    },
    pending: () => timers.size,
    fire: () => {
      for (const fn of [...timers]) {
        timers.delete(fn);
        fn();
      }
    },
  };
}

/** The principal a request uses without asking the shard (none when it must ask, to refresh or at all). */
function used(keys: VerifiedKeys, keyHash: string, now: number): Principal | undefined {
  const found = keys.lookup(keyHash, now);
  return found && !found.refresh ? found.principal : undefined;
}

/** Whether the promise has settled, and with what (after the microtasks queued so far run). */
async function peek<T>(promise: Promise<T>): Promise<{ settled: boolean; value?: T }> {
  const pending = Symbol("pending");
  const value = await Promise.race([promise, Promise.resolve().then(() => pending)]);
  return value === pending ? { settled: false } : { settled: true, value: value as T };
}

describe("VerifiedKeys: the keys an isolate verified lately", () => {
  it("uses a key's principal for ttlMs after the shard was asked, then asks again", () => {
    const keys = new VerifiedKeys(TIMINGS);
    expect(used(keys, "k", T0)).toBeUndefined();
    keys.startAsk("k", T0)(principal("usr_a"));
    expect(used(keys, "k", T0 + 1)?.userId).toBe("usr_a");
    expect(used(keys, "k", T0 + TIMINGS.ttlMs - TIMINGS.refreshAheadMs - 1)?.userId).toBe("usr_a");
    expect(used(keys, "k", T0 + TIMINGS.ttlMs)).toBeUndefined();
  });

  it("in an entry's last refreshAheadMs one request refreshes it while the others go on using it", () => {
    const keys = new VerifiedKeys(TIMINGS);
    keys.startAsk("k", T0)(principal("usr_a"));
    const late = T0 + TIMINGS.ttlMs - TIMINGS.refreshAheadMs;
    // The first request in the window is told to ask (keeping the principal should its ask fail); the
    // next ones are not.
    expect(keys.lookup("k", late)).toEqual({ principal: principal("usr_a"), refresh: true });
    expect(used(keys, "k", late + 1)?.userId).toBe("usr_a");
    expect(used(keys, "k", late + TIMINGS.maxWaitMs - 1)?.userId).toBe("usr_a");
    // Its answer gives the entry a whole new life from when it asked.
    keys.startAsk("k", late)(principal("usr_a", 2));
    expect(used(keys, "k", late + TIMINGS.ttlMs - TIMINGS.refreshAheadMs - 1)?.shards).toBe(2);
    expect(used(keys, "k", late + TIMINGS.ttlMs)).toBeUndefined();
  });

  it("a refresh that never answers is claimed again after maxWaitMs, and the entry still expires on time", () => {
    const keys = new VerifiedKeys({ ...TIMINGS, refreshAheadMs: 5_000 });
    keys.startAsk("k", T0)(principal("usr_a"));
    const late = T0 + TIMINGS.ttlMs - 5_000;
    expect(used(keys, "k", late)).toBeUndefined();
    expect(used(keys, "k", late + TIMINGS.maxWaitMs - 1)).toBeDefined();
    expect(used(keys, "k", late + TIMINGS.maxWaitMs)).toBeUndefined();
    expect(used(keys, "k", late + TIMINGS.maxWaitMs + 1)).toBeDefined();
    expect(used(keys, "k", T0 + TIMINGS.ttlMs)).toBeUndefined();
  });

  it("a refused key is forgotten at once; a failed call keeps the entry", () => {
    const keys = new VerifiedKeys(TIMINGS);
    keys.startAsk("k", T0)(principal("usr_a"));
    keys.startAsk("k", T0 + 1)("failed");
    expect(used(keys, "k", T0 + 2)?.userId).toBe("usr_a");
    keys.startAsk("k", T0 + 3)("refused");
    expect(used(keys, "k", T0 + 4)).toBeUndefined();
  });

  /** The request's turn: it asks (its `done`), or waits for another's ask (its `waiting`). */
  const asks = (turn: ReturnType<VerifiedKeys["waitOrAsk"]>) => {
    if (!("done" in turn)) throw new Error("expected this request to ask");
    return turn.done;
  };
  const waits = (turn: ReturnType<VerifiedKeys["waitOrAsk"]>) => {
    if (!("waiting" in turn)) throw new Error("expected this request to wait");
    return turn.waiting;
  };

  it("requests that find no entry while another asks wait for its answer instead of asking", async () => {
    const clock = manualTimer();
    const keys = new VerifiedKeys(TIMINGS, clock.timer);
    // No one is asking: this request asks, and the ones after it wait for its answer.
    const done = asks(keys.waitOrAsk("k", T0));
    const waiters = [waits(keys.waitOrAsk("k", T0 + 1)), waits(keys.waitOrAsk("k", T0 + 2))];
    for (const w of waiters) expect((await peek(w)).settled).toBe(false);
    // Another key does not wait on this one's ask.
    asks(keys.waitOrAsk("other", T0 + 3));
    done(principal("usr_a"));
    for (const w of waiters) expect((await w)?.userId).toBe("usr_a");
    // Each waiter's timer is cancelled once answered; the ask is over, so the next request asks.
    expect(clock.pending()).toBe(0);
    asks(keys.waitOrAsk("k", T0 + 4));
  });

  it("waiters of an ask that was refused or failed get nothing, and each asks for itself", async () => {
    const keys = new VerifiedKeys(TIMINGS, manualTimer().timer);
    for (const answer of ["refused", "failed"] as const) {
      const done = asks(keys.waitOrAsk("k", T0));
      const waiter = waits(keys.waitOrAsk("k", T0 + 1));
      done(answer);
      expect(await waiter).toBeUndefined();
    }
  });

  it("a waiter gives up after maxWaitMs (the asking request may have been cancelled); a late answer changes nothing for it", async () => {
    const clock = manualTimer();
    const keys = new VerifiedKeys(TIMINGS, clock.timer);
    const done = asks(keys.waitOrAsk("k", T0));
    const waiter = waits(keys.waitOrAsk("k", T0 + 1));
    clock.fire();
    expect(await waiter).toBeUndefined();
    // An ask older than maxWaitMs is not waited on: the next request asks, and its ask is the one joined.
    const second = asks(keys.waitOrAsk("k", T0 + TIMINGS.maxWaitMs));
    const joined = waits(keys.waitOrAsk("k", T0 + TIMINGS.maxWaitMs + 1));
    // The first ask's answer arrives late: it is remembered, and does not end the second ask.
    done(principal("usr_a"));
    expect((await peek(joined)).settled).toBe(false);
    expect(used(keys, "k", T0 + TIMINGS.maxWaitMs + 2)?.shards).toBe(1);
    second(principal("usr_a", 4));
    expect((await joined)?.shards).toBe(4);
  });

  it("a request that asks for itself while another asks leaves the waiters with that other ask", async () => {
    const keys = new VerifiedKeys(TIMINGS, manualTimer().timer);
    const first = asks(keys.waitOrAsk("k", T0));
    const waiter = waits(keys.waitOrAsk("k", T0 + 1));
    // A guess, or a waiter whose ask failed, asks for itself (startAsk) without taking the others' turn.
    keys.startAsk("k", T0 + 2)("refused");
    expect((await peek(waiter)).settled).toBe(false);
    first(principal("usr_a"));
    expect((await waiter)?.userId).toBe("usr_a");
  });

  it("an older ask answering after a newer one does not shorten or replace the newer entry", () => {
    const keys = new VerifiedKeys(TIMINGS);
    const older = keys.startAsk("k", T0);
    keys.startAsk("k", T0 + 5_000)(principal("usr_a", 2));
    older(principal("usr_a", 1));
    expect(used(keys, "k", T0 + TIMINGS.ttlMs + 1)?.shards).toBe(2);
  });

  it("forgets unanswered asks past `max` (their requests went away), so a key's next request asks at once", async () => {
    const keys = new VerifiedKeys(TIMINGS, manualTimer().timer);
    for (const k of ["a", "b", "c"]) keys.startAsk(k, T0);
    waits(keys.waitOrAsk("a", T0 + 1));
    keys.startAsk("d", T0 + 2);
    asks(keys.waitOrAsk("a", T0 + 3));
  });

  it("forgets every entry past `max`, and update() changes a principal without extending it", () => {
    const keys = new VerifiedKeys(TIMINGS);
    for (const k of ["a", "b", "c"]) keys.startAsk(k, T0)(principal(`usr_${k}`));
    keys.update("a", principal("usr_a", 8));
    expect(used(keys, "a", T0 + 1)?.shards).toBe(8);
    keys.startAsk("d", T0)(principal("usr_d"));
    expect(["a", "b", "c", "d"].map((k) => used(keys, k, T0 + 1)?.userId)).toEqual([
      undefined,
      undefined,
      undefined,
      "usr_d",
    ]);
    keys.clear();
    expect(used(keys, "d", T0 + 1)).toBeUndefined();
  });
});
