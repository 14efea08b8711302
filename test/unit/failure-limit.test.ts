// The failed-authentication limiter (src/core/failure-limit.ts), with its clock as an argument.
import { describe, expect, it } from "vitest";
import { FailureLimiter } from "../../src/core/failure-limit";

const RULE = { limit: 20, windowMs: 60_000 };
const T0 = 1_000_000;

describe("FailureLimiter", () => {
  it("allows `limit` failures at once, then one per window/limit, and says how long to wait", () => {
    const limiter = new FailureLimiter();
    for (let i = 0; i < 19; i++) {
      expect(limiter.retryAfterSeconds("k", RULE, T0)).toBe(0);
      expect(limiter.fail("k", RULE, T0)).toBe(false);
    }
    // The 20th empties the bucket: reported once.
    expect(limiter.fail("k", RULE, T0)).toBe(true);
    expect(limiter.retryAfterSeconds("k", RULE, T0)).toBe(3);
    expect(limiter.retryAfterSeconds("k", RULE, T0 + 2_000)).toBe(1);
    // One failure's worth refills in 3 s.
    expect(limiter.retryAfterSeconds("k", RULE, T0 + 3_000)).toBe(0);
    // Running out again without having been full is not reported again.
    expect(limiter.fail("k", RULE, T0 + 3_000)).toBe(false);
    expect(limiter.retryAfterSeconds("k", RULE, T0 + 3_000)).toBe(3);
    // Another key is not touched.
    expect(limiter.retryAfterSeconds("other", RULE, T0)).toBe(0);
  });

  it("over a sustained stream lets about `limit` failures a window through", () => {
    const limiter = new FailureLimiter();
    let allowed = 0;
    // One try every 100 ms for ten minutes.
    for (let t = 0; t < 600_000; t += 100) {
      if (limiter.retryAfterSeconds("k", RULE, T0 + t) === 0) {
        limiter.fail("k", RULE, T0 + t);
        allowed++;
      }
    }
    // 20 at once, then 20 a minute.
    expect(allowed).toBeGreaterThanOrEqual(20 + 199);
    expect(allowed).toBeLessThanOrEqual(20 + 201);
  });

  it("reports running out again once the bucket was full again", () => {
    const limiter = new FailureLimiter();
    for (let i = 0; i < 20; i++) limiter.fail("k", RULE, T0);
    const later = T0 + 60_000;
    for (let i = 0; i < 19; i++) expect(limiter.fail("k", RULE, later)).toBe(false);
    expect(limiter.fail("k", RULE, later)).toBe(true);
  });

  it("keeps at most maxKeys buckets, dropping refilled ones first", () => {
    const limiter = new FailureLimiter(100);
    for (let i = 0; i < 100; i++) limiter.fail(`old${i}`, RULE, T0);
    limiter.fail("hot", RULE, T0 + 60_000);
    // Every old bucket had refilled: all went, the new one stays.
    expect(limiter.size).toBe(1);
    for (let i = 0; i < 200; i++) limiter.fail(`new${i}`, RULE, T0 + 60_000);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  it("gives back a token charged for a try that turned out right, never past the bucket's size", () => {
    const limiter = new FailureLimiter();
    for (let i = 0; i < 19; i++) limiter.fail("k", RULE, T0);
    // The 20th try is charged first (it empties the bucket), then refunded.
    limiter.fail("k", RULE, T0);
    expect(limiter.retryAfterSeconds("k", RULE, T0)).toBe(3);
    limiter.refund("k", RULE, T0);
    expect(limiter.retryAfterSeconds("k", RULE, T0)).toBe(0);
    limiter.fail("fresh", RULE, T0);
    limiter.refund("fresh", RULE, T0);
    limiter.refund("fresh", RULE, T0);
    for (let i = 0; i < 20; i++) limiter.fail("fresh", RULE, T0);
    expect(limiter.retryAfterSeconds("fresh", RULE, T0)).toBe(3);
    // Nothing to give back to a key never charged.
    limiter.refund("never", RULE, T0);
    expect(limiter.size).toBe(2);
  });
});
