import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexCopyCutoff, indexCopyDue } from "../../src/core/index-copy-time";

describe("indexCopyDue", () => {
  it("is within the delay, later than half of it, and on the half-delay grid", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 2, max: 600_000 }), (now, delay) => {
        const due = indexCopyDue(now, delay);
        const grid = Math.floor(delay / 2);
        expect(due).toBeLessThanOrEqual(now + delay);
        expect(due).toBeGreaterThan(now + delay - grid);
        expect(due % grid).toBe(0);
      }),
    );
  });

  it("gives changes within one half-delay the same time", () => {
    // 2 s delay: changes from 10:00:00.000 to 10:00:00.999 are all copied at 10:00:02.
    const t = Date.UTC(2026, 11, 4, 10, 0, 0);
    expect(new Set([0, 1, 500, 999].map((ms) => indexCopyDue(t + ms, 2_000)))).toEqual(new Set([t + 2_000]));
    expect(indexCopyDue(t + 1_000, 2_000)).toBe(t + 3_000);
  });

  it("has no grid below 2 ms", () => {
    expect(indexCopyDue(1_001, 0)).toBe(1_001);
    expect(indexCopyDue(1_001, 1)).toBe(1_002);
  });

  it("is due at `now` exactly for the changes before indexCopyCutoff(now) (the watermark copy's test)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4e12 }),
        fc.integer({ min: -5_000, max: 5_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        (now, offset, delay) => {
          const change = Math.max(0, now - delay + offset);
          expect(indexCopyDue(change, delay) <= now).toBe(change < indexCopyCutoff(now, delay));
        },
      ),
    );
  });
});
