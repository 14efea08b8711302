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

  it("keeps every send on one queue while its sends are begun, however many and however far apart", () => {
    const turns = new QueueTurns();
    for (let i = 0; i < 100; i++) {
      expect(turns.sent(T + i * 1_000, 4, 0)).toBe(0);
      expect(turns.sent(T + i * 1_000 + QUEUE_STUCK_MS - 1, 4, 4)).toBe(0);
    }
  });

  it("moves on when its oldest waiting send has waited QUEUE_STUCK_MS, at most once per QUEUE_STUCK_MS", () => {
    const turns = new QueueTurns();
    expect(turns.sent(T, 1, 0)).toBe(0);
    expect(turns.sent(T + QUEUE_STUCK_MS - 1, 1, 1)).toBe(0);
    expect(turns.sent(T + QUEUE_STUCK_MS, 1, 2)).toBe(1);
    // The first send still waits, but the turn has just moved: the next queue gets its QUEUE_STUCK_MS.
    expect(turns.sent(T + 2 * QUEUE_STUCK_MS - 1, 1, 3)).toBe(1);
    expect(turns.sent(T + 2 * QUEUE_STUCK_MS, 1, 4)).toBe(2);
    // Every send begun (the next send's count says so): the queue in use is flowing again, and the
    // shard stays on it.
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS, 1, 0)).toBe(2);
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS + 1, 1, 1)).toBe(2);
  });

  it("a begin that leaves an older send waiting keeps its wait: a full window is left once it frees room", () => {
    // The queue in use runs one batch at a time: each begin takes one send, and the window is full
    // again at once with the next; the send behind it has waited since it was made.
    const turns = new QueueTurns();
    expect(turns.sent(T, 100, 0)).toBe(0);
    expect(turns.sent(T + 10, 100, 100)).toBe(0);
    // The first send began (the next send's count: 100 waiting); the second still waits, since T + 10.
    expect(turns.sent(T + 10 + QUEUE_STUCK_MS - 1, 100, 100)).toBe(0);
    // The second began; the third waits since T + 109.
    expect(turns.sent(T + 109 + QUEUE_STUCK_MS, 100, 100)).toBe(1);
  });

  it("forgets, oldest first, attempts that will never begin (the shard's own count says so)", () => {
    const turns = new QueueTurns();
    expect(turns.sent(T, 3, 0)).toBe(0);
    // The three were cancelled before their begins: nothing is waiting when the next send is made.
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS, 2, 0)).toBe(0);
    // Part of a send taken: its rest still waits, from its own time.
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS + 1, 2, 1)).toBe(0);
    expect(turns.sent(T + 11 * QUEUE_STUCK_MS, 1, 3)).toBe(1);
  });

  it("a send of callbacks alone takes the turn in use and starts no wait (no begin answers it)", () => {
    const turns = new QueueTurns();
    expect(turns.sent(T, 0, 0)).toBe(0);
    expect(turns.sent(T + 10 * QUEUE_STUCK_MS, 0, 0)).toBe(0);
    // The first send of attempts starts the wait; a callback send meanwhile does not move the turn.
    expect(turns.sent(T + 20 * QUEUE_STUCK_MS, 1, 0)).toBe(0);
    expect(turns.sent(T + 21 * QUEUE_STUCK_MS, 0, 1)).toBe(0);
    expect(turns.sent(T + 21 * QUEUE_STUCK_MS, 1, 1)).toBe(1);
  });

  it("takes its wait from the constructor", () => {
    const turns = new QueueTurns(5);
    expect(turns.sent(T, 1, 0)).toBe(0);
    expect(turns.sent(T + 5, 1, 1)).toBe(1);
  });
});
