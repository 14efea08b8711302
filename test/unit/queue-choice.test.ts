// dispatchQueueOf (src/core/queue-choice.ts): a stable, well-spread shard → queue mapping; sendQueueOf:
// a shard's queues in turn from its own; QueueTurns: when it moves on.
import { describe, expect, it } from "vitest";
import { dispatchQueueOf, fnv1a, QUEUE_STUCK_MS, QueueTurns, sendQueueOf } from "../../src/core/queue-choice";

describe("dispatchQueueOf", () => {
  it("is FNV-1a: the published test vectors", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });

  it("is stable and within range", () => {
    for (const n of [1, 2, 4, 7]) {
      for (let i = 0; i < 200; i++) {
        const name = `usr_${i.toString(36).padStart(20, "0")}/${i % 3}`;
        const q = dispatchQueueOf(name, n);
        expect(q).toBeGreaterThanOrEqual(0);
        expect(q).toBeLessThan(n);
        expect(dispatchQueueOf(name, n)).toBe(q);
      }
    }
    expect(dispatchQueueOf("anything", 1)).toBe(0);
  });

  it("spreads shards evenly: 4,000 shard names over 4 queues, each within 10% of a quarter", () => {
    const counts = [0, 0, 0, 0];
    for (let u = 0; u < 1000; u++) {
      for (let s = 0; s < 4; s++) {
        const q = dispatchQueueOf(`usr_${u.toString(36).padStart(20, "0")}/${s}`, 4);
        counts[q] = (counts[q] ?? 0) + 1;
      }
    }
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(100);
  });

  it("refuses a queue count that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => dispatchQueueOf("x", bad)).toThrow(RangeError);
  });
});

describe("sendQueueOf", () => {
  it("is the shard's own queue at turn 0, then each next one in turn, round all the queues", () => {
    for (const n of [1, 2, 4, 7]) {
      for (let i = 0; i < 50; i++) {
        const name = `usr_${i.toString(36).padStart(20, "0")}/${i % 3}`;
        const own = dispatchQueueOf(name, n);
        const turns = Array.from({ length: 3 * n }, (_, k) => sendQueueOf(name, n, k));
        expect(turns[0]).toBe(own);
        turns.forEach((q, k) => {
          expect(q).toBe((own + k) % n);
        });
        // Every queue once in any n successive turns.
        for (let k = 0; k + n <= turns.length; k++) expect(new Set(turns.slice(k, k + n)).size).toBe(n);
      }
    }
    expect(sendQueueOf("anything", 1, 12345)).toBe(0);
  });

  it("refuses a turn that is not a whole number", () => {
    for (const bad of [-1, 0.5, Number.NaN]) expect(() => sendQueueOf("x", 4, bad)).toThrow(RangeError);
  });
});

describe("QueueTurns: the next queue only when the one in use looks held up", () => {
  const T = 1_000_000;

  it("keeps every send on one queue while begins keep coming, however many and however far apart", () => {
    const turns = new QueueTurns();
    for (let i = 0; i < 100; i++) {
      expect(turns.sent(T + i * 1_000, true)).toBe(0);
      expect(turns.sent(T + i * 1_000 + QUEUE_STUCK_MS - 1, true)).toBe(0);
      turns.begun();
    }
  });

  it("moves on when a send has waited QUEUE_STUCK_MS with no begin, and counts afresh from there", () => {
    const turns = new QueueTurns();
    expect(turns.sent(T, true)).toBe(0);
    expect(turns.sent(T + QUEUE_STUCK_MS - 1, true)).toBe(0);
    expect(turns.sent(T + QUEUE_STUCK_MS, true)).toBe(1);
    expect(turns.sent(T + 2 * QUEUE_STUCK_MS - 1, true)).toBe(1);
    expect(turns.sent(T + 2 * QUEUE_STUCK_MS, true)).toBe(2);
    // A begin: the queue in use is flowing again, and the shard stays on it.
    turns.begun();
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS, true)).toBe(2);
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS + 1, true)).toBe(2);
  });

  it("a send of callbacks alone takes the turn in use and starts no wait (no begin answers it)", () => {
    const turns = new QueueTurns();
    expect(turns.sent(T, false)).toBe(0);
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS, false)).toBe(0);
    // The first send of attempts starts the wait; a callback send meanwhile does not move the turn.
    expect(turns.sent(T + 20 * QUEUE_STUCK_MS, true)).toBe(0);
    expect(turns.sent(T + 21 * QUEUE_STUCK_MS, false)).toBe(0);
    expect(turns.sent(T + 21 * QUEUE_STUCK_MS, true)).toBe(1);
  });

  it("takes its wait from the constructor", () => {
    const turns = new QueueTurns(5);
    expect(turns.sent(T, true)).toBe(0);
    expect(turns.sent(T + 5, true)).toBe(1);
  });
});
