// The tests' capture of src/log.ts's lines (test/support/log-capture.ts, installed by
// test/setup/log-capture.ts): event lines are kept for assertions instead of printed, other output
// passes, each test starts empty, and console spies still see every call.
import { afterEach, describe, expect, it, vi } from "vitest";
import { log } from "../../src/log";
import { eventOf, expectLogged, loggedEvents } from "../support/log-capture";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("log capture in tests", () => {
  it("keeps event lines, at their level, for expectLogged and loggedEvents", () => {
    log("dispatch_send_failed", { shard: "usr_x/0", jobs: 2, error: new Error("queue unavailable") });
    log("shard_hot", { shard: "usr_x/0" });
    expect(loggedEvents().map((l) => [l.event, l.level])).toEqual([
      ["dispatch_send_failed", "error"],
      ["shard_hot", "info"],
    ]);
    const [entry] = expectLogged("dispatch_send_failed", {
      jobs: 2,
      error: { message: "queue unavailable" },
    });
    expect(entry).toMatchObject({ shard: "usr_x/0", error: { name: "Error" } });
    expect(() => expectLogged("dispatch_send_failed", { jobs: 3 })).toThrow(/no "dispatch_send_failed" line/);
    expect(() => expectLogged("index_write_failed")).toThrow(/the test logged:/);
  });

  it("starts each test empty", () => {
    expect(loggedEvents()).toEqual([]);
  });

  it("lets a console spy see every call, and captures again once it is restored", () => {
    const errors = vi.spyOn(console, "error");
    log("listing_failed", { user_id: "usr_x" });
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('"event":"listing_failed"'));
    expect(loggedEvents("listing_failed")).toHaveLength(1);
    errors.mockImplementation(() => {});
    log("listing_failed", { user_id: "usr_y" });
    expect(errors).toHaveBeenCalledTimes(2);
    expect(loggedEvents("listing_failed"), "a mocked console keeps its lines to itself").toHaveLength(1);
    vi.restoreAllMocks();
    log("listing_failed", { user_id: "usr_z" });
    expect(loggedEvents("listing_failed").map((l) => l.entry.user_id)).toEqual(["usr_x", "usr_z"]);
  });

  it("takes only src/log.ts's lines for events: other console output passes", () => {
    expect(eventOf(['{"event":"shard_hot","shard":"a/0"}'], "info")).toMatchObject({
      event: "shard_hot",
      level: "info",
      entry: { shard: "a/0" },
    });
    for (const args of [
      ["not an event"],
      ['{"not":"an event line"}'],
      ['{"event":"x"}', 1],
      ['{"event": 1}'],
      [{}],
    ])
      expect(eventOf(args, "info"), JSON.stringify(args)).toBeNull();
  });
});
