// LoadWindow and grownShards (src/core/hot-shard.ts): when a shard is hot, and how far a user grows.
import { describe, expect, it } from "vitest";
import { GROWTH_COOLDOWN_MS, grownShards, LOAD_WINDOW_MS, LoadWindow } from "../../src/core/hot-shard";

const T0 = Date.UTC(2030, 0, 1);

describe("LoadWindow", () => {
  it("is hot once a window's submits pass the rate, and says so once per window", () => {
    const w = new LoadWindow(100); // 1,000 jobs per 10 s window
    expect(w.record("submitted", 999, T0)).toBe(false);
    expect(w.record("submitted", 1, T0 + 5_000)).toBe(true);
    expect(w.record("submitted", 500, T0 + 6_000)).toBe(false);
    // A new window starts counting afresh.
    expect(w.record("submitted", 999, T0 + LOAD_WINDOW_MS)).toBe(false);
    expect(w.record("dispatched", 1_000, T0 + LOAD_WINDOW_MS + 1)).toBe(true);
  });

  it("counts submits and dispatches apart: each alone must pass the rate", () => {
    const w = new LoadWindow(100);
    expect(w.record("submitted", 600, T0)).toBe(false);
    expect(w.record("dispatched", 600, T0 + 1)).toBe(false);
  });

  it("a clock that moves back starts a new window", () => {
    const w = new LoadWindow(100);
    w.record("submitted", 900, T0);
    expect(w.record("submitted", 200, T0 - 1)).toBe(false);
  });
});

describe("grownShards", () => {
  it("doubles up to the ceiling", () => {
    expect(grownShards(1, 16, null, T0)).toBe(2);
    expect(grownShards(4, 16, null, T0)).toBe(8);
    expect(grownShards(12, 16, null, T0)).toBe(16);
    expect(grownShards(16, 16, null, T0)).toBe(16);
  });

  it("never shrinks (a ceiling below the count leaves it) and waits out the cool-down", () => {
    expect(grownShards(8, 4, null, T0)).toBe(8);
    expect(grownShards(2, 16, T0, T0 + GROWTH_COOLDOWN_MS - 1)).toBe(2);
    expect(grownShards(2, 16, T0, T0 + GROWTH_COOLDOWN_MS)).toBe(4);
  });
});
