// PoolRound (src/core/pool-round.ts): the verdict on each due job of one dispatch cycle.
import { describe, expect, it } from "vitest";
import { PoolRound } from "../../src/core/pool-round";

const round = (caps: Record<string, number>, used: Record<string, number> = {}) =>
  new PoolRound(new Map(Object.entries(caps)), new Map(Object.entries(used)));

describe("PoolRound", () => {
  it("claims a job that names no pool, whatever the pools hold", () => {
    const r = round({ a: 1 }, { a: 1 });
    expect(r.decide({})).toBe("claim");
    expect(r.decide({})).toBe("claim");
  });

  it("claims while units are free and takes them", () => {
    const r = round({ a: 3 });
    expect(r.decide({ a: 2 })).toBe("claim");
    expect(r.unusable()).toEqual([]);
    expect(r.decide({ a: 1 })).toBe("claim");
    expect(r.unusable()).toEqual(["a"]);
  });

  it("a job that does not fit reserves every pool it names, so a smaller job behind it waits", () => {
    const r = round({ a: 3, b: 2 }, { a: 2 });
    expect(r.decide({ a: 2, b: 1 })).toBe("reserve");
    expect(r.unusable().sort()).toEqual(["a", "b"]);
    // Units of a and b are free, but a higher job wants them.
    expect(r.decide({ a: 1 })).toBe("reserve");
    expect(r.decide({ b: 1 })).toBe("reserve");
    expect(r.decide({})).toBe("claim");
  });

  it("a job asking more than a pool holds, or naming no such pool, passes and reserves nothing", () => {
    const r = round({ a: 2 });
    expect(r.decide({ a: 3 })).toBe("pass");
    expect(r.decide({ ghost: 1 })).toBe("pass");
    expect(r.unusable()).toEqual([]);
    expect(r.decide({ a: 2 })).toBe("claim");
  });

  it("does not change the maps it was given", () => {
    const used = new Map([["a", 1]]);
    const r = new PoolRound(new Map([["a", 3]]), used);
    r.decide({ a: 2 });
    expect(used.get("a")).toBe(1);
  });
});
