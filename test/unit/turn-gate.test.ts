import { describe, expect, it } from "vitest";
import { TurnGate } from "../../src/core/turn-gate";

/** Turns run by hand: `turn()` runs the pending one. */
function manualTurns() {
  const pending: (() => void)[] = [];
  return {
    nextTurn: (fn: () => void) => {
      pending.push(fn);
    },
    scheduled: () => pending.length,
    turn: () => pending.shift()?.(),
  };
}

describe("TurnGate: callers of one turn go on together, in order", () => {
  it("callers before a turn share it and resume in the order they called; later ones wait for the next", async () => {
    const turns = manualTurns();
    const gate = new TurnGate(turns.nextTurn);
    const order: string[] = [];
    const first = ["a", "b", "c"].map((name) => gate.wait().then(() => order.push(name)));
    expect(turns.scheduled()).toBe(1);
    await Promise.resolve();
    expect(order).toEqual([]);
    turns.turn();
    // A caller after the turn began waits for a turn of its own.
    const later = gate.wait().then(() => order.push("d"));
    await Promise.all(first);
    expect(order).toEqual(["a", "b", "c"]);
    expect(turns.scheduled()).toBe(1);
    turns.turn();
    await later;
    expect(order).toEqual(["a", "b", "c", "d"]);
  });

  it("the synchronous work of one turn's callers runs with nothing between it (one microtask run)", async () => {
    const turns = manualTurns();
    const gate = new TurnGate(turns.nextTurn);
    const log: string[] = [];
    const callers = [1, 2, 3].map(async (n) => {
      await gate.wait();
      log.push(`write ${n}`);
      await Promise.resolve();
      log.push(`after ${n}`);
    });
    turns.turn();
    await Promise.all(callers);
    expect(log).toEqual(["write 1", "write 2", "write 3", "after 1", "after 2", "after 3"]);
  });

  it("by default the turn is a timer of 0 ms", async () => {
    const gate = new TurnGate();
    let resolved = false;
    const waiting = gate.wait().then(() => {
      resolved = true;
    });
    await Promise.resolve();
    expect(resolved).toBe(false);
    await waiting;
    expect(resolved).toBe(true);
  });
});
