import { describe, expect, it } from "vitest";
import { dispatchDeadlineMs, MAX_BACKOFF_MS, retryAt, retryDelayMs } from "../../src/core/backoff";

const HOUR = 3_600_000;
const fixed = (r: number) => () => r;
const ALMOST_ONE = 1 - Number.EPSILON;
/** Uncapped-then-capped exponential for the base, as the bounds are documented. */
const expMs = (baseSeconds: number, retry: number) =>
  Math.min(MAX_BACKOFF_MS, baseSeconds * 1000 * 2 ** (retry - 1));

describe("retryDelayMs", () => {
  it("caps at 24 hours", () => {
    expect(MAX_BACKOFF_MS).toBe(24 * HOUR);
  });

  it("doubles per retry with equal jitter: random 0 → exp/2, 0.5 → 3/4 exp, ~1 → exp", () => {
    expect([1, 2, 3, 4].map((r) => retryDelayMs(30, r, fixed(0)))).toEqual([15_000, 30_000, 60_000, 120_000]);
    expect([1, 2, 3].map((r) => retryDelayMs(30, r, fixed(0.5)))).toEqual([22_500, 45_000, 90_000]);
    expect([1, 2, 3].map((r) => retryDelayMs(30, r, fixed(ALMOST_ONE)))).toEqual([30_000, 60_000, 120_000]);
  });

  it("stays within [exp/2, exp], integer, positive and capped for retries 1..50", () => {
    for (const base of [0.001, 1, 30, 600, 86_400]) {
      for (const random of [0, 0.5, 0.999_999, ALMOST_ONE]) {
        let last = 0;
        for (let retry = 1; retry <= 50; retry++) {
          const d = retryDelayMs(base, retry, fixed(random));
          const exp = Math.max(1, expMs(base, retry));
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(Math.max(1, Math.floor(exp / 2)));
          expect(d).toBeLessThanOrEqual(Math.ceil(exp));
          expect(d).toBeLessThanOrEqual(MAX_BACKOFF_MS);
          expect(d).toBeGreaterThanOrEqual(last); // never shrinks for the same random draw
          last = d;
        }
      }
    }
  });

  it("reaches the cap: half of it with random 0, all of it with random ~1", () => {
    expect(retryDelayMs(30, 50, fixed(0))).toBe(MAX_BACKOFF_MS / 2);
    expect(retryDelayMs(30, 50, fixed(ALMOST_ONE))).toBe(MAX_BACKOFF_MS);
    expect(retryDelayMs(30, 13, fixed(0))).toBe(MAX_BACKOFF_MS / 2); // 30 s × 2^12 > 24 h
  });

  it("never overflows to Infinity or NaN, even far past 50 retries", () => {
    for (const retry of [50, 1_024, 5_000, Number.MAX_SAFE_INTEGER]) {
      const d = retryDelayMs(1, retry, fixed(0.5));
      expect(Number.isFinite(d)).toBe(true);
      expect(d).toBe(0.75 * MAX_BACKOFF_MS);
    }
  });

  it("is never 0, even with a zero base", () => {
    expect(retryDelayMs(0, 1, fixed(0))).toBe(1);
    expect(retryDelayMs(0, 50, fixed(0))).toBe(1);
    expect(retryDelayMs(0.000_001, 1, fixed(0))).toBe(1);
  });

  it("keeps the bounds with a misbehaving random source", () => {
    expect(retryDelayMs(30, 1, fixed(5))).toBe(30_000);
    expect(retryDelayMs(30, 1, fixed(-1))).toBe(15_000);
    expect(retryDelayMs(30, 1, fixed(Number.NaN))).toBe(15_000);
  });

  it("rejects nonsense arguments", () => {
    expect(() => retryDelayMs(30, 0, fixed(0))).toThrow(RangeError);
    expect(() => retryDelayMs(-1, 1, fixed(0))).toThrow(RangeError);
    expect(() => retryDelayMs(Number.NaN, 1, fixed(0))).toThrow(RangeError);
  });
});

describe("retryAt", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");

  it("is now + the backoff when there is no Retry-After", () => {
    expect(retryAt(now, 30, 2, undefined, fixed(0))).toBe(now + 30_000);
  });

  it("honours Retry-After when it asks for longer, and ignores it when shorter", () => {
    expect(retryAt(now, 30, 1, 120_000, fixed(0))).toBe(now + 120_000);
    expect(retryAt(now, 30, 1, 1_000, fixed(0))).toBe(now + 15_000);
  });

  it("honours Retry-After beyond the cap", () => {
    expect(retryAt(now, 30, 50, 48 * HOUR, fixed(ALMOST_ONE))).toBe(now + 48 * HOUR);
  });

  it("treats a negative or non-finite Retry-After as absent", () => {
    for (const ra of [-5_000, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(retryAt(now, 30, 1, ra, fixed(0))).toBe(now + 15_000);
    }
  });

  it("stays finite for retry 50", () => {
    const t = retryAt(now, 60, 50, undefined, fixed(0.999_999));
    expect(Number.isFinite(t)).toBe(true);
    expect(t - now).toBeLessThanOrEqual(MAX_BACKOFF_MS);
    expect(t - now).toBeGreaterThanOrEqual(MAX_BACKOFF_MS / 2);
  });
});

describe("dispatchDeadlineMs", () => {
  it("doubles with each consecutive miss, up to ten minutes", () => {
    expect([0, 1, 2, 3].map((m) => dispatchDeadlineMs(30_000, m))).toEqual([
      30_000, 60_000, 120_000, 240_000,
    ]);
    expect(dispatchDeadlineMs(30_000, 5)).toBe(600_000);
    expect(dispatchDeadlineMs(30_000, 1_000)).toBe(600_000);
    expect(dispatchDeadlineMs(5_000, -1)).toBe(5_000);
    // A base above the cap is never shortened.
    expect(dispatchDeadlineMs(900_000, 3)).toBe(900_000);
  });
});
