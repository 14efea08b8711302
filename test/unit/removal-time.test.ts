// When a finished job is removed (src/core/removal-time.ts): never before its retention has run out,
// at most a grid step after, and on whole seconds (the index copy's grid).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { removalGrid, removalTime } from "../../src/core/removal-time";

describe("removalGrid", () => {
  it("is a tenth of the retention in whole seconds, within [1 s, 60 s]", () => {
    expect(removalGrid(1)).toBe(1_000);
    expect(removalGrid(19)).toBe(1_000);
    expect(removalGrid(60)).toBe(6_000);
    expect(removalGrid(599)).toBe(59_000);
    expect(removalGrid(604_800)).toBe(60_000);
  });
});

describe("removalTime", () => {
  it("rounds up to the grid: exact on a grid point, the next one otherwise", () => {
    expect(removalTime(1_000_000, 60)).toBe(1_062_000); // 1_060_000 → the next multiple of 6 s
    expect(removalTime(1_002_000, 60)).toBe(1_062_000); // on the grid already
    expect(removalTime(1_002_001, 60)).toBe(1_068_000);
  });

  it("keeps the retention whole and is late by less than one grid step, on whole seconds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 1, max: 10 * 365 * 24 * 3600 }),
        (now, retention) => {
          const at = removalTime(now, retention);
          const grid = removalGrid(retention);
          expect(at).toBeGreaterThanOrEqual(now + retention * 1000);
          expect(at).toBeLessThan(now + retention * 1000 + grid);
          expect(at % grid).toBe(0);
          expect(at % 1000).toBe(0);
        },
      ),
    );
  });
});
