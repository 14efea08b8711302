// Priority with aging (src/core/priority.ts): the order claimDue hands out due jobs in.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareDue, type DueJob } from "../../src/core/priority";
import { agingBoundMs, effectivePriority } from "../support/priority";

const T0 = Date.UTC(2030, 0, 1);
const job = (id: string, priority: number, runAt: number): DueJob => ({ id, priority, runAt });
const order = (jobs: DueJob[], now: number, aging: number) =>
  [...jobs].sort((a, b) => compareDue(a, b, now, aging)).map((j) => j.id);

/** The same order in integers, as claimDue's SQL states it: priority × aging(ms) − run_at, run_at, id. */
function reference(a: DueJob, b: DueJob, aging: number): number {
  const key = (j: DueJob) => (aging > 0 ? j.priority * aging * 1000 - j.runAt : j.priority);
  if (key(a) !== key(b)) return key(b) - key(a);
  if (a.runAt !== b.runAt) return a.runAt - b.runAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const priority = fc.integer({ min: 0, max: 100 });
const dueJob = fc.record({
  id: fc.constantFrom("a", "b", "c", "d"),
  priority,
  // Due up to an hour ago, in whole milliseconds.
  wait: fc.integer({ min: 0, max: 3_600_000 }),
});

describe("effectivePriority", () => {
  it("is the plain priority when aging is off", () => {
    fc.assert(
      fc.property(
        priority,
        fc.integer({ min: -3_600_000, max: 3_600_000 }),
        fc.constantFrom(0, -1),
        (p, d, a) => {
          expect(effectivePriority(job("x", p, T0 - d), T0, a)).toBe(p);
        },
      ),
    );
  });

  it("grows by one point per aging interval of waiting past run_at", () => {
    expect(effectivePriority(job("x", 50, T0 - 10_000), T0, 1)).toBe(60);
    expect(effectivePriority(job("x", 50, T0 - 10_000), T0, 2)).toBe(55);
    expect(effectivePriority(job("x", 50, T0 - 500), T0, 1)).toBe(50.5);
  });

  it("never counts a negative wait: a job not yet due keeps its priority", () => {
    fc.assert(
      fc.property(
        priority,
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.constantFrom(0.5, 1, 5),
        (p, ahead, a) => {
          expect(effectivePriority(job("x", p, T0 + ahead), T0, a)).toBe(p);
        },
      ),
    );
    // So a future job never sorts below a due job of the same priority for a wrong reason.
    expect(order([job("future", 50, T0 + 5_000), job("due", 50, T0)], T0, 1)).toEqual(["due", "future"]);
  });
});

describe("compareDue", () => {
  it("with aging off, orders by priority, then earlier run_at, then id", () => {
    const jobs = [
      job("d", 10, T0 - 60_000),
      job("b", 90, T0),
      job("c", 90, T0 - 1),
      job("a", 90, T0),
      job("e", 50, T0 - 3_600_000),
    ];
    expect(order(jobs, T0, 0)).toEqual(["c", "a", "b", "e", "d"]);
  });

  it("breaks ties of effective priority by earlier run_at, then by id", () => {
    // 50 due 10 s ago and 60 due now are both at 60 with 1 s aging: the longer wait goes first.
    expect(order([job("high", 60, T0), job("low", 50, T0 - 10_000)], T0, 1)).toEqual(["low", "high"]);
    // Same priority and run_at: by id.
    expect(order([job("b", 50, T0 - 7), job("a", 50, T0 - 7)], T0, 1)).toEqual(["a", "b"]);
  });

  it("agrees with claimDue's integer SQL order whenever effective priorities differ", () => {
    // Exact ties are left out: compared in floating point, an exact tie at arbitrary millisecond
    // waits can come out 1 ulp apart (e.g. aging 1 s: 0 + 1519/1000 vs 1 + 519/1000), so the later
    // run_at may win it. Ties at whole aging intervals are exact and tested below.
    fc.assert(
      fc.property(dueJob, dueJob, fc.constantFrom(0, 1, 2, 5), (x, y, aging) => {
        const a = job(x.id, x.priority, T0 - x.wait);
        const b = job(y.id, y.priority, T0 - y.wait);
        const key = (j: DueJob) => (aging > 0 ? j.priority * aging * 1000 - j.runAt : j.priority);
        fc.pre(key(a) !== key(b));
        expect(Math.sign(compareDue(a, b, T0, aging))).toBe(Math.sign(reference(a, b, aging)));
        expect(Math.sign(compareDue(b, a, T0, aging))).toBe(-Math.sign(reference(a, b, aging)));
      }),
      { numRuns: 2000 },
    );
  });

  it("lets a lower priority overtake once it has waited gap × aging longer", () => {
    fc.assert(
      fc.property(
        priority,
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom(1, 2, 5),
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        (p, gap, aging, r, later) => {
          const low = job("low", p, T0 + r);
          const bound = agingBoundMs(gap, aging);
          const now = T0 + r + bound + 1 + later; // both due, whatever the order
          const high = (s: number) => job("high", p + gap, s);
          // The higher job became due less than gap × aging after the lower one: it goes first.
          expect(order([low, high(T0 + r + bound - 1)], now, aging)).toEqual(["high", "low"]);
          // More than gap × aging later: the lower one has overtaken it.
          expect(order([high(T0 + r + bound + 1), low], now, aging)).toEqual(["low", "high"]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("at exactly gap × aging (an exact tie) puts the earlier run_at first", () => {
    fc.assert(
      fc.property(
        priority,
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom(1, 2, 5),
        fc.integer({ min: 0, max: 600 }),
        (p, gap, aging, intervals) => {
          const low = job("low", p, T0);
          const high = job("high", p + gap, T0 + agingBoundMs(gap, aging));
          // Whole aging intervals of waiting, so both effective priorities are exact.
          const now = high.runAt + intervals * aging * 1000;
          expect(effectivePriority(low, now, aging)).toBe(effectivePriority(high, now, aging));
          expect(order([high, low], now, aging)).toEqual(["low", "high"]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("agingBoundMs", () => {
  it("is gap × aging, and zero for no or a negative gap", () => {
    expect(agingBoundMs(10, 1)).toBe(10_000);
    expect(agingBoundMs(10, 2.5)).toBe(25_000);
    expect(agingBoundMs(0, 1)).toBe(0);
    expect(agingBoundMs(-5, 1)).toBe(0);
    expect(agingBoundMs(10, 0)).toBe(0);
  });
});
