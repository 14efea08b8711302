import { describe, expect, it } from "vitest";
import { ASK_AFTER, ASK_EVERY_MS, KeyRateTabs, type RateLimiter } from "../../src/api/key-rate";

/** The binding as Miniflare and Cloudflare document it: allowed while the count is below the limit. */
class CountingLimiter implements RateLimiter {
  count = 0;
  asks: { key: string; delta?: number }[] = [];
  failNext = false;
  constructor(private readonly max = Number.POSITIVE_INFINITY) {}
  async limit(options: { key: string; delta?: number }) {
    this.asks.push(options);
    if (this.failNext) {
      this.failNext = false;
      throw new Error("limiter unavailable");
    }
    if (this.count >= this.max) return { success: false };
    this.count += options.delta ?? 1;
    return { success: true };
  }
}

const T0 = 1_000_000;

describe("KeyRateTabs: the key's rate charged in arrears", () => {
  it("asks once for the first request, then reuses the answer and charges the rest with the next ask", async () => {
    const tabs = new KeyRateTabs();
    const limiter = new CountingLimiter();
    for (let i = 0; i < 5; i++) expect(await tabs.admit(limiter, "k", T0 + i)).toBe(true);
    expect(limiter.asks).toEqual([{ key: "k" }]);
    expect(limiter.count).toBe(1);
    // The answer is stale: the next request asks, carrying the 4 let through unasked and itself.
    expect(await tabs.admit(limiter, "k", T0 + ASK_EVERY_MS)).toBe(true);
    expect(limiter.asks).toEqual([{ key: "k" }, { key: "k", delta: 5 }]);
    expect(limiter.count).toBe(6);
  });

  it("asks again once ASK_AFTER requests went unasked, however fresh the answer", async () => {
    const tabs = new KeyRateTabs();
    const limiter = new CountingLimiter();
    for (let i = 0; i < 1 + ASK_AFTER; i++) await tabs.admit(limiter, "k", T0);
    expect(limiter.asks).toEqual([{ key: "k" }, { key: "k", delta: ASK_AFTER }]);
    expect(limiter.count).toBe(1 + ASK_AFTER);
  });

  it("keeps keys apart", async () => {
    const tabs = new KeyRateTabs();
    const limiter = new CountingLimiter();
    await tabs.admit(limiter, "a", T0);
    await tabs.admit(limiter, "b", T0);
    await tabs.admit(limiter, "a", T0 + 1);
    expect(limiter.asks.map((a) => a.key)).toEqual(["a", "b"]);
  });

  it("charges every request it let through exactly once, whatever the spacing", async () => {
    const tabs = new KeyRateTabs();
    const limiter = new CountingLimiter();
    // A fixed irregular stream: bursts, gaps past the interval, and steady trickles.
    let now = T0;
    let served = 0;
    for (let i = 0; i < 2_000; i++) {
      now += [0, 1, 3, 40, 0, 0, 700, 5, 1_200, 90][i % 10] ?? 0;
      if (await tabs.admit(limiter, "k", now)) served += 1;
    }
    expect(served).toBe(2_000);
    // What is still unasked is charged by the next ask, after the answer goes stale.
    await tabs.admit(limiter, "k", now + ASK_EVERY_MS);
    expect(limiter.count).toBe(served + 1);
    expect(limiter.asks.length).toBeLessThan(2_000 / 4);
  });

  it("once the count is spent, lets through at most 2 × (ASK_AFTER - 1) more, then refuses from the answer", async () => {
    const tabs = new KeyRateTabs();
    const limit = 100;
    const limiter = new CountingLimiter(limit);
    let allowed = 0;
    for (let i = 0; i < 1_000; i++) if (await tabs.admit(limiter, "k", T0 + i)) allowed += 1;
    expect(allowed).toBeGreaterThanOrEqual(limit);
    expect(allowed).toBeLessThanOrEqual(limit + 2 * (ASK_AFTER - 1));
    // The refusal is reused for the interval without asking, and refused requests are not charged.
    const asks = limiter.asks.length;
    expect(await tabs.admit(limiter, "k", T0 + 1_000)).toBe(false);
    expect(limiter.asks.length).toBe(asks);
    // A new window: the next ask after the interval is answered afresh.
    limiter.count = 0;
    expect(await tabs.admit(limiter, "k", T0 + 1_000 + ASK_EVERY_MS)).toBe(true);
    expect(limiter.asks.length).toBe(asks + 1);
  });

  it("a failed ask fails its request, and the requests it carried go with the next ask", async () => {
    const tabs = new KeyRateTabs();
    const limiter = new CountingLimiter();
    for (let i = 0; i < 3; i++) await tabs.admit(limiter, "k", T0);
    limiter.failNext = true;
    await expect(tabs.admit(limiter, "k", T0 + ASK_EVERY_MS)).rejects.toThrow("limiter unavailable");
    expect(await tabs.admit(limiter, "k", T0 + ASK_EVERY_MS + 1)).toBe(true);
    // 1 + the 2 unasked carried by the failed ask and by this one, which also carries itself.
    expect(limiter.asks.at(-1)).toEqual({ key: "k", delta: 3 });
    expect(limiter.count).toBe(4);
  });

  it("concurrent first requests each ask for themselves; those let through meanwhile are charged later", async () => {
    const tabs = new KeyRateTabs();
    const limiter = new CountingLimiter();
    const answers = await Promise.all([tabs.admit(limiter, "k", T0), tabs.admit(limiter, "k", T0)]);
    expect(answers).toEqual([true, true]);
    expect(limiter.asks).toEqual([{ key: "k" }, { key: "k" }]);
    // A stale answer asked again while requests still pass on the old one: none is lost.
    const asking = tabs.admit(limiter, "k", T0 + ASK_EVERY_MS);
    for (let i = 0; i < 3; i++) expect(await tabs.admit(limiter, "k", T0 + ASK_EVERY_MS)).toBe(true);
    await asking;
    await tabs.admit(limiter, "k", T0 + 3 * ASK_EVERY_MS);
    expect(limiter.count).toBe(2 + 1 + 3 + 1);
  });
});
