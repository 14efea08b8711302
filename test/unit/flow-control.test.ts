// Flow control per key (src/core/flow-control.ts): admission by concurrency and rate, and the start log.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  admit,
  claimed,
  type FlowLimits,
  type FlowUse,
  pruned,
  type StartLog,
  startsAfter,
  withStart,
} from "../../src/core/flow-control";

const use = (holders: number, notBegun: number, starts: StartLog = []): FlowUse => ({
  holders,
  notBegun,
  starts,
});
const limits = (concurrency: number | null, rate: number | null, periodMs = 1000): FlowLimits => ({
  concurrency,
  rate,
  periodMs,
});

describe("admit", () => {
  it("admits below the concurrency and refuses at it, until an attempt ends", () => {
    expect(admit(use(1, 0), limits(2, null), 0)).toEqual({ ok: true });
    expect(admit(use(2, 0), limits(2, null), 0)).toEqual({ ok: false, reopensAt: null });
  });

  it("counts claims not yet begun against the rate: they start later, inside the window", () => {
    expect(admit(use(0, 0, [[500, 4]]), limits(null, 5), 900)).toEqual({ ok: true });
    expect(admit(use(1, 1, [[500, 4]]), limits(null, 5), 900)).toEqual({ ok: false, reopensAt: 1500 });
    // Every slot of the window taken by claims in flight: only their begins can change anything.
    expect(admit(use(5, 5), limits(null, 5), 900)).toEqual({ ok: false, reopensAt: null });
  });

  it("reopens when enough of the oldest starts have left the window", () => {
    const log: StartLog = [
      [100, 2],
      [300, 2],
      [700, 1],
    ];
    expect(admit(use(0, 0, log), limits(null, 5), 800)).toEqual({ ok: false, reopensAt: 1100 });
    expect(admit(use(0, 0, log), limits(null, 5), 1099)).toEqual({ ok: false, reopensAt: 1100 });
    expect(admit(use(0, 0, log), limits(null, 5), 1100)).toEqual({ ok: true });
    // Two more in the window than the rate allows: the second pair must leave too.
    expect(admit(use(0, 0, log), limits(null, 3), 800)).toEqual({ ok: false, reopensAt: 1300 });
  });

  it("needs both limits to admit", () => {
    expect(admit(use(1, 0, [[0, 1]]), limits(1, 10), 10)).toEqual({ ok: false, reopensAt: null });
    expect(admit(use(0, 0, [[0, 1]]), limits(1, 1), 10)).toEqual({ ok: false, reopensAt: 1000 });
    expect(admit(use(0, 0, [[0, 1]]), limits(1, 2), 10)).toEqual({ ok: true });
  });
});

describe("the start log", () => {
  it("merges starts at one time and forgets what no window can hold", () => {
    let log: StartLog = [];
    log = withStart(log, 10, 1000);
    log = withStart(log, 10, 1000);
    log = withStart(log, 20, 1000);
    expect(log).toEqual([
      [10, 2],
      [20, 1],
    ]);
    expect(startsAfter(log, 9)).toBe(3);
    expect(startsAfter(log, 10)).toBe(1);
    expect(withStart(log, 1010, 1000)).toEqual([
      [20, 1],
      [1010, 1],
    ]);
    expect(pruned(log, 5000, 1000)).toEqual([]);
  });
});

/**
 * A key's life in the model: claims admitted by `admit`, begins in any order, ends at any time. The
 * claims are made at increasing times; each begins at or after its claim, and each begun attempt ends
 * at or after its begin. The invariants are the contract's: never more than `concurrency` holding a
 * slot, never more than `rate` begins in any window of `period`.
 */
type Step = { kind: "claim" | "begin" | "end"; advance: number; pick: number };

const stepArb = fc.record({
  kind: fc.constantFrom("claim", "claim", "begin", "end"),
  advance: fc.integer({ min: 0, max: 400 }),
  pick: fc.nat(),
}) as fc.Arbitrary<Step>;

const limitsArb = fc
  .record({
    concurrency: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    rate: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    periodMs: fc.integer({ min: 100, max: 3000 }),
  })
  .filter((l) => l.concurrency !== null || l.rate !== null);

describe("admit keeps the limits over any sequence (property)", () => {
  it("never over the concurrency, never more begins than the rate in any window", () => {
    fc.assert(
      fc.property(limitsArb, fc.array(stepArb, { minLength: 1, maxLength: 120 }), (lim, steps) => {
        let now = 0;
        let log: StartLog = [];
        const waiting: number[] = []; // claimed, not begun
        let running = 0; // begun, not ended
        const begins: number[] = [];
        for (const step of steps) {
          now += step.advance;
          const current = use(waiting.length + running, waiting.length, log);
          if (step.kind === "claim") {
            const verdict = admit(current, lim, now);
            if (verdict.ok) {
              expect(claimed(current).holders).toBe(current.holders + 1);
              waiting.push(now);
            } else if (verdict.reopensAt !== null) {
              // Nothing else changing, the rate lets one through exactly then, not before.
              expect(verdict.reopensAt).toBeGreaterThan(now);
              expect(admit(current, lim, verdict.reopensAt - 1).ok).toBe(false);
              const later = admit(current, lim, verdict.reopensAt);
              if (lim.concurrency === null || current.holders < lim.concurrency) expect(later.ok).toBe(true);
            }
          } else if (step.kind === "begin" && waiting.length > 0) {
            waiting.splice(step.pick % waiting.length, 1);
            running += 1;
            begins.push(now);
            log = withStart(log, now, lim.periodMs);
          } else if (step.kind === "end" && running > 0) {
            running -= 1;
          }
          if (lim.concurrency !== null) expect(waiting.length + running).toBeLessThanOrEqual(lim.concurrency);
        }
        if (lim.rate !== null) {
          // Every window (t - period, t] ending at a begin holds at most `rate` begins.
          for (const t of begins) {
            const inWindow = begins.filter((b) => b > t - lim.periodMs && b <= t).length;
            expect(inWindow).toBeLessThanOrEqual(lim.rate);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
