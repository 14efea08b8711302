// Dispatch at submit (src/core/dispatch-at-submit.ts): which new jobs a submit sends itself.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimableAlone, dispatchAtSubmit, type FreshJob } from "../../src/core/dispatch-at-submit";
import { compareDue } from "../../src/core/priority";

const NOW = Date.UTC(2030, 0, 1);

const fresh = (id: string, over: Partial<FreshJob> = {}): FreshJob => ({
  id,
  priority: 0,
  runAt: NOW,
  resources: {},
  flowControl: null,
  debounce: null,
  dependsOn: null,
  blockedBy: null,
  overlap: "skip",
  expiresAfterSeconds: null,
  ...over,
});

describe("claimableAlone", () => {
  it("takes a job due now or before that nothing but the claim decides", () => {
    expect(claimableAlone(fresh("a"), NOW)).toBe(true);
    expect(claimableAlone(fresh("a", { runAt: NOW - 60_000 }), NOW)).toBe(true);
    expect(claimableAlone(fresh("a", { overlap: "buffer_one" }), NOW)).toBe(true);
  });

  it("leaves to the alarm a job due later, gated, debounced, with dependencies, cancel_other, or expired", () => {
    const leftOut: Partial<FreshJob>[] = [
      { runAt: NOW + 1 },
      { resources: { gpu: 1 } },
      { flowControl: { key: "k", concurrency: 1, rate: null, period_seconds: 1 } },
      { debounce: { key: "d", delay_seconds: 0, max_wait_seconds: null } },
      { dependsOn: [] },
      { blockedBy: ["job_0_x"] },
      { overlap: "cancel_other" },
      { runAt: NOW - 2_000, expiresAfterSeconds: 1 },
    ];
    for (const over of leftOut)
      expect(claimableAlone(fresh("a", over), NOW), JSON.stringify(over)).toBe(false);
    // Due exactly at its expiry is not past it.
    expect(claimableAlone(fresh("a", { runAt: NOW - 1_000, expiresAfterSeconds: 1 }), NOW)).toBe(true);
  });
});

describe("dispatchAtSubmit", () => {
  it("asks for the room only when some job could go, and takes none without room", () => {
    let asked = 0;
    const room = (n: number) => () => {
      asked += 1;
      return n;
    };
    expect(dispatchAtSubmit([fresh("a", { runAt: NOW + 5 })], NOW, 1, room(10))).toEqual([]);
    expect(asked).toBe(0);
    expect(dispatchAtSubmit([fresh("a")], NOW, 1, room(0))).toEqual([]);
    expect(dispatchAtSubmit([fresh("a")], NOW, 1, room(-3))).toEqual([]);
    expect(asked).toBe(2);
  });

  it("takes the claimable jobs in the claim's order, up to the room: what claimDue would take of them", () => {
    const job = fc.record({
      priority: fc.integer({ min: -5, max: 5 }),
      wait: fc.integer({ min: -1_000, max: 5_000 }),
      gated: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(job, { maxLength: 12 }),
        fc.integer({ min: 0, max: 15 }),
        fc.constantFrom(0, 1, 60),
        (specs, room, aging) => {
          const jobs = specs.map((s, i) =>
            fresh(`j${i.toString().padStart(2, "0")}`, {
              priority: s.priority,
              runAt: NOW - s.wait,
              resources: s.gated ? { pool: 1 } : {},
            }),
          );
          const taken = dispatchAtSubmit(jobs, NOW, aging, () => room);
          // The reference: every due ungated job, sorted as the claim sorts, cut at the room.
          const expected = jobs
            .filter((j) => j.runAt <= NOW && Object.keys(j.resources).length === 0)
            .sort((a, b) => compareDue(a, b, NOW, aging))
            .slice(0, room)
            .map((j) => j.id);
          expect(taken).toEqual(expected);
        },
      ),
    );
  });
});
