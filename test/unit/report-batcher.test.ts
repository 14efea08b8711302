// The consumer's group commit of reports to one shard (src/consumer/report-batcher.ts), against a fake
// shard whose finishMany calls the test answers by hand: what goes in which request, in what order,
// and what a refusal or a failing request does to the other reports.
import { describe, expect, it, vi } from "vitest";
import { ReportBatcher } from "../../src/consumer/report-batcher";
import type { FinishReport, FinishResult } from "../../src/shard/rpc";

/** One finishMany call, held until the test answers or fails it. */
interface Call {
  jobs: string[];
  answer(results: FinishResult[]): void;
  fail(error: Error): void;
}

function fakeShard() {
  const calls: Call[] = [];
  const shard = {
    finishMany(reports: FinishReport[]): Promise<FinishResult[]> {
      return new Promise((resolve, reject) => {
        calls.push({ jobs: reports.map((r) => `${r.jobId}#${r.attempt}`), answer: resolve, fail: reject });
      });
    },
  };
  return { shard, calls };
}

const report = (jobId: string, attempt = 1): FinishReport => ({
  jobId,
  attempt,
  report: { outcome: { ok: true } },
});
const accepted = (id: string) => ({ ok: true, view: { id } }) as unknown as FinishResult;
const refused = { ok: false, reason: "stale" } as const;

/** Lets every pending microtask and promise continuation run (no timer involved). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records how each report's promise ended, in the order they end. */
function track(promise: Promise<FinishResult>, into: string[], name: string) {
  promise.then(
    (r) => into.push(`${name}:${r.ok ? `ok ${(r.view as unknown as { id: string }).id}` : r.reason}`),
    (e: Error) => into.push(`${name}:error ${e.message}`),
  );
}

describe("ReportBatcher", () => {
  it("sends a lone report at once, in a request of its own", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard);
    const ended: string[] = [];
    track(batcher.report(report("a")), ended, "a");
    await settle();
    expect(calls.map((c) => c.jobs)).toEqual([["a#1"]]);
    calls[0]?.answer([accepted("a")]);
    await settle();
    expect(ended).toEqual(["a:ok a"]);
  });

  it("sends reports made ready together in one request, and answers each with its own result", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard);
    const ended: string[] = [];
    for (const id of ["a", "b", "c"]) track(batcher.report(report(id)), ended, id);
    await settle();
    expect(calls.map((c) => c.jobs)).toEqual([["a#1", "b#1", "c#1"]]);
    calls[0]?.answer([accepted("a"), accepted("b"), accepted("c")]);
    await settle();
    expect(ended).toEqual(["a:ok a", "b:ok b", "c:ok c"]);
  });

  it("holds reports while a request is in flight, then sends all of them in the next one, in order", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard);
    const ended: string[] = [];
    track(batcher.report(report("a")), ended, "a");
    await settle();
    for (const id of ["b", "c", "d"]) {
      track(batcher.report(report(id)), ended, id);
      await settle();
    }
    // Nothing more goes while the first request is out.
    expect(calls.map((c) => c.jobs)).toEqual([["a#1"]]);
    calls[0]?.answer([accepted("a")]);
    await settle();
    expect(calls.map((c) => c.jobs)).toEqual([["a#1"], ["b#1", "c#1", "d#1"]]);
    expect(ended).toEqual(["a:ok a"]);
    // A report made while the second request is out waits for it in turn.
    track(batcher.report(report("e")), ended, "e");
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]?.answer([accepted("b"), accepted("c"), accepted("d")]);
    await settle();
    expect(calls.map((c) => c.jobs)).toEqual([["a#1"], ["b#1", "c#1", "d#1"], ["e#1"]]);
    calls[2]?.answer([accepted("e")]);
    await settle();
    expect(ended).toEqual(["a:ok a", "b:ok b", "c:ok c", "d:ok d", "e:ok e"]);
  });

  it("a refusal answers its own report only", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard);
    const ended: string[] = [];
    for (const id of ["a", "b", "c"]) track(batcher.report(report(id)), ended, id);
    await settle();
    calls[0]?.answer([accepted("a"), refused, accepted("c")]);
    await settle();
    expect(ended).toEqual(["a:ok a", "b:stale", "c:ok c"]);
  });

  it("tries a failing request again with the same group, and succeeds if a try does", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard, 3);
    const ended: string[] = [];
    for (const id of ["a", "b"]) track(batcher.report(report(id)), ended, id);
    await settle();
    calls[0]?.fail(new Error("shard unreachable"));
    await settle();
    expect(calls.map((c) => c.jobs)).toEqual([
      ["a#1", "b#1"],
      ["a#1", "b#1"],
    ]);
    expect(ended).toEqual([]);
    calls[1]?.answer([accepted("a"), accepted("b")]);
    await settle();
    expect(ended).toEqual(["a:ok a", "b:ok b"]);
  });

  it("a request that fails every try fails only its own reports; those that waited go next", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard, 3);
    const ended: string[] = [];
    for (const id of ["a", "b"]) track(batcher.report(report(id)), ended, id);
    await settle();
    track(batcher.report(report("c")), ended, "c");
    for (let i = 0; i < 3; i++) {
      calls[i]?.fail(new Error(`try ${i + 1} failed`));
      await settle();
    }
    expect(ended).toEqual(["a:error try 3 failed", "b:error try 3 failed"]);
    expect(calls.map((c) => c.jobs)).toEqual([["a#1", "b#1"], ["a#1", "b#1"], ["a#1", "b#1"], ["c#1"]]);
    calls[3]?.answer([accepted("c")]);
    await settle();
    expect(ended).toEqual(["a:error try 3 failed", "b:error try 3 failed", "c:ok c"]);
  });

  it("a report the shard's answer leaves out fails, the others keep their results", async () => {
    const { shard, calls } = fakeShard();
    const batcher = new ReportBatcher(shard);
    const ended: string[] = [];
    for (const id of ["a", "b"]) track(batcher.report(report(id)), ended, id);
    await settle();
    calls[0]?.answer([accepted("a")]);
    await settle();
    expect(ended).toEqual(["a:ok a", "b:error finishMany answered 1 results for 2 reports"]);
  });

  describe("with a linger", () => {
    it("waits for the shard's other running attempts, and the last one's report sends them all", async () => {
      const { shard, calls } = fakeShard();
      const batcher = new ReportBatcher(shard, 3, 1_000_000);
      for (let i = 0; i < 3; i++) batcher.began();
      const ended: string[] = [];
      track(batcher.report(report("a")), ended, "a");
      track(batcher.report(report("b")), ended, "b");
      await settle();
      expect(calls).toEqual([]);
      track(batcher.report(report("c")), ended, "c");
      await settle();
      expect(calls.map((c) => c.jobs)).toEqual([["a#1", "b#1", "c#1"]]);
      calls[0]?.answer([accepted("a"), accepted("b"), accepted("c")]);
      await settle();
      expect(ended).toEqual(["a:ok a", "b:ok b", "c:ok c"]);
    });

    it("waits at most the linger for an attempt that never reports", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      try {
        const { shard, calls } = fakeShard();
        const batcher = new ReportBatcher(shard, 3, 20);
        batcher.began();
        batcher.began();
        void batcher.report(report("a"));
        await settle();
        vi.advanceTimersByTime(19);
        await settle();
        expect(calls).toEqual([]);
        vi.advanceTimersByTime(1);
        await settle();
        expect(calls.map((c) => c.jobs)).toEqual([["a#1"]]);
      } finally {
        vi.useRealTimers();
      }
    });

    it("never holds a lone attempt's report, nor one that joins a request in flight", async () => {
      const { shard, calls } = fakeShard();
      const batcher = new ReportBatcher(shard, 3, 1_000_000);
      batcher.began();
      void batcher.report(report("a"));
      await settle();
      expect(calls.map((c) => c.jobs)).toEqual([["a#1"]]);
      batcher.began();
      batcher.began();
      void batcher.report(report("b"));
      await settle();
      // b waits for the other running attempt; it reports while a's request is still in flight.
      expect(calls).toHaveLength(1);
      void batcher.report(report("c"));
      await settle();
      expect(calls).toHaveLength(1);
      calls[0]?.answer([accepted("a")]);
      await settle();
      expect(calls.map((c) => c.jobs)).toEqual([["a#1"], ["b#1", "c#1"]]);
    });
  });
});
