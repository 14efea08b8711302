// The consumer's heartbeat timer, driven by a fake timer: no real time passes.
import { afterEach, describe, expect, it, vi } from "vitest";
import { type BeatAnswer, startHeartbeat } from "../../src/consumer/heartbeat";
import { FakeTimer } from "../support/fake-timer";

const INTERVAL = 10_000;

function beating(answers: (() => Promise<BeatAnswer>)[] = []) {
  const timer = new FakeTimer();
  const at: number[] = [];
  const beat = vi.fn(async () => {
    at.push(timer.now);
    const next = answers.shift();
    return next ? next() : { ok: true as const };
  });
  const hb = startHeartbeat({ intervalMs: INTERVAL, beat, timer, fields: { job_id: "job_1", attempt: 1 } });
  return { timer, at, beat, hb };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("heartbeat", () => {
  it("sends nothing for an attempt that ends within the first interval", async () => {
    const { timer, beat, hb } = beating();
    await timer.advance(INTERVAL - 1);
    hb.stop();
    await timer.advance(10 * INTERVAL);
    expect(beat).not.toHaveBeenCalled();
    expect(timer.pending).toBe(0);
  });

  it("beats once per interval while the attempt runs, and never after stop", async () => {
    const { timer, at, hb } = beating();
    await timer.advance(3 * INTERVAL + 500);
    expect(at).toEqual([INTERVAL, 2 * INTERVAL, 3 * INTERVAL]);
    hb.stop();
    await timer.advance(5 * INTERVAL);
    expect(at).toHaveLength(3);
    expect(timer.pending).toBe(0);
  });

  it("a failing beat is logged and the next one still goes", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { timer, at } = beating([
      async () => {
        throw new Error("shard unreachable");
      },
    ]);
    await timer.advance(2 * INTERVAL);
    expect(at).toEqual([INTERVAL, 2 * INTERVAL]);
    expect(error).toHaveBeenCalledOnce();
    expect(JSON.parse(String(error.mock.calls[0]?.[0]))).toMatchObject({
      event: "heartbeat_failed",
      job_id: "job_1",
      error: { message: "shard unreachable" },
    });
  });

  it("a refused beat ends the heartbeat: the shard no longer waits for this attempt", async () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const { timer, at } = beating([async () => ({ ok: false, reason: "cancelled" })]);
    await timer.advance(5 * INTERVAL);
    expect(at).toEqual([INTERVAL]);
    expect(timer.pending).toBe(0);
    expect(JSON.parse(String(info.mock.calls[0]?.[0]))).toEqual({
      event: "heartbeat_refused",
      job_id: "job_1",
      attempt: 1,
      reason: "cancelled",
    });
  });

  it("a stop while a beat is in flight schedules no further beat", async () => {
    let release: (a: BeatAnswer) => void = () => {};
    const { timer, at, hb } = beating([() => new Promise<BeatAnswer>((r) => (release = r))]);
    const firing = timer.advance(INTERVAL); // fires the beat synchronously; it stays in flight
    expect(at).toHaveLength(1);
    hb.stop();
    release({ ok: true });
    await firing;
    await timer.advance(5 * INTERVAL);
    expect(at).toEqual([INTERVAL]);
    expect(timer.pending).toBe(0);
  });

  it("a beat in flight at stop that the shard refuses is not logged: the attempt finished normally", async () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    let release: (a: BeatAnswer) => void = () => {};
    const { timer, at, hb } = beating([() => new Promise<BeatAnswer>((r) => (release = r))]);
    const firing = timer.advance(INTERVAL);
    expect(at).toHaveLength(1);
    // The report is accepted and the heartbeat stopped; the beat then reaches a shard that no longer
    // waits for the attempt, which is exactly what a normal finish means.
    hb.stop();
    release({ ok: false, reason: "finished" });
    await firing;
    await timer.advance(5 * INTERVAL);
    expect(info).not.toHaveBeenCalled();
    expect(at).toEqual([INTERVAL]);
    expect(timer.pending).toBe(0);
  });
});
