// The group commit the submits' sends go through (src/core/coalescer.ts): every item in exactly one
// flush, in order; flushes never overlap; a caller settles with the flush that carried its items.
import { describe, expect, it } from "vitest";
import { Coalescer } from "../../src/core/coalescer";

/** A flush that records what it got and is held until let go, one gate per flush. */
function heldFlushes() {
  const flushes: { items: number[]; letGo: () => void; fail: (e: Error) => void }[] = [];
  let open = 0;
  let mostOpen = 0;
  const flush = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      const end = () => {
        open -= 1;
      };
      flushes.push({
        items,
        letGo: () => {
          end();
          resolve();
        },
        fail: (e) => {
          end();
          reject(e);
        },
      });
    });
  return { flushes, flush, mostOpen: () => mostOpen };
}

/** Lets every pending promise continuation run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("Coalescer", () => {
  it("flushes a lone caller's items at once", async () => {
    const h = heldFlushes();
    const c = new Coalescer(h.flush);
    const done = c.add([1, 2]);
    await settle();
    expect(h.flushes.map((f) => f.items)).toEqual([[1, 2]]);
    h.flushes[0]?.letGo();
    await expect(done).resolves.toBeUndefined();
  });

  it("gathers what arrives during a flush into the next one, in order, one flush at a time", async () => {
    const h = heldFlushes();
    const c = new Coalescer(h.flush);
    const settled: string[] = [];
    const first = c.add([1]).then(() => settled.push("first"));
    await settle();
    const second = c.add([2]).then(() => settled.push("second"));
    const third = c.add([3, 4]).then(() => settled.push("third"));
    await settle();
    // The second flush waits for the first to end.
    expect(h.flushes.map((f) => f.items)).toEqual([[1]]);
    h.flushes[0]?.letGo();
    await settle();
    expect(settled).toEqual(["first"]);
    expect(h.flushes.map((f) => f.items)).toEqual([[1], [2, 3, 4]]);
    // Items handed in during the second flush go in a third.
    const fourth = c.add([5]);
    await settle();
    expect(h.flushes).toHaveLength(2);
    h.flushes[1]?.letGo();
    await Promise.all([second, third]);
    expect(settled).toEqual(["first", "second", "third"]);
    await settle();
    expect(h.flushes.map((f) => f.items)).toEqual([[1], [2, 3, 4], [5]]);
    h.flushes[2]?.letGo();
    await fourth;
    expect(h.mostOpen()).toBe(1);
    await first;
  });

  it("fails every caller of a failed flush, and the next flush still runs", async () => {
    const h = heldFlushes();
    const c = new Coalescer(h.flush);
    const first = c.add([1]);
    await settle();
    const second = c.add([2]);
    const third = c.add([3]);
    h.flushes[0]?.letGo();
    await first;
    await settle();
    h.flushes[1]?.fail(new Error("queue down"));
    await expect(second).rejects.toThrow("queue down");
    await expect(third).rejects.toThrow("queue down");
    const fourth = c.add([4]);
    await settle();
    expect(h.flushes.map((f) => f.items)).toEqual([[1], [2, 3], [4]]);
    h.flushes[2]?.letGo();
    await expect(fourth).resolves.toBeUndefined();
  });
});
