// The pure rules of dependencies (src/core/dependencies.ts): what a dependency's finish does to a job
// waiting on it, what a dependency's state is to a job that starts waiting, "@N", and the due time.
import { describe, expect, it } from "vitest";
import {
  afterDependency,
  batchRef,
  type Dependent,
  dependencyState,
  dueDeadline,
} from "../../src/core/dependencies";

const blocked = (over: Partial<Dependent> = {}): Dependent => ({
  status: "scheduled",
  blockedBy: ["a", "b"],
  onDependencyFailure: "fail",
  runAt: 1_000,
  ...over,
});

describe("afterDependency", () => {
  it("keeps waiting on the others, then becomes due when the last one succeeds", () => {
    expect(afterDependency(blocked(), "a", "succeeded", 5_000)).toEqual({ kind: "wait", blockedBy: ["b"] });
    expect(afterDependency(blocked({ blockedBy: ["b"] }), "b", "succeeded", 5_000)).toEqual({
      kind: "unblock",
      runAt: 5_000,
    });
  });

  it("is due at its own run_at when that is later than the last success", () => {
    expect(afterDependency(blocked({ blockedBy: ["b"], runAt: 9_000 }), "b", "succeeded", 5_000)).toEqual({
      kind: "unblock",
      runAt: 9_000,
    });
  });

  it("fails on a failure, unless the job runs anyway", () => {
    expect(afterDependency(blocked(), "a", "failed", 5_000)).toEqual({ kind: "fail" });
    expect(afterDependency(blocked({ onDependencyFailure: "run" }), "a", "failed", 5_000)).toEqual({
      kind: "wait",
      blockedBy: ["b"],
    });
  });

  it("ignores a repeat, a dependency it does not wait on, and a finished job", () => {
    expect(afterDependency(blocked({ blockedBy: ["b"] }), "a", "succeeded", 5_000)).toEqual({
      kind: "ignore",
    });
    expect(afterDependency(blocked({ blockedBy: null }), "a", "failed", 5_000)).toEqual({ kind: "ignore" });
    for (const status of ["succeeded", "failed", "cancelled"] as const)
      expect(afterDependency(blocked({ status }), "a", "failed", 5_000)).toEqual({ kind: "ignore" });
  });

  it("moves a paused job as a scheduled one (the shard keeps it paused)", () => {
    expect(afterDependency(blocked({ status: "paused", blockedBy: ["a"] }), "a", "succeeded", 5_000)).toEqual(
      {
        kind: "unblock",
        runAt: 5_000,
      },
    );
  });
});

describe("dependencyState", () => {
  const oneShot = { intervalSeconds: null, cron: null };
  it("is a one-shot job's outcome once finished, pending before", () => {
    expect(dependencyState({ ...oneShot, status: "succeeded" })).toBe("succeeded");
    expect(dependencyState({ ...oneShot, status: "failed" })).toBe("failed");
    expect(dependencyState({ ...oneShot, status: "cancelled" })).toBe("failed");
    for (const status of ["scheduled", "queued", "running", "paused"] as const)
      expect(dependencyState({ ...oneShot, status })).toBe("pending");
  });

  it("waits for a recurring job's next finished occurrence, unless it was cancelled", () => {
    expect(dependencyState({ intervalSeconds: 60, cron: null, status: "scheduled" })).toBe("pending");
    expect(dependencyState({ intervalSeconds: null, cron: "* * * * *", status: "running" })).toBe("pending");
    expect(dependencyState({ intervalSeconds: 60, cron: null, status: "cancelled" })).toBe("failed");
  });
});

describe("batchRef", () => {
  it('reads "@N" and nothing else', () => {
    expect(batchRef("@0")).toBe(0);
    expect(batchRef("@999")).toBe(999);
    for (const entry of ["@", "@01", "@-1", "@1.5", "0", "job_0_x", "@10000", " @1"])
      expect(batchRef(entry)).toBeNull();
  });
});

describe("dueDeadline", () => {
  it("is no due time while blocked, the due time otherwise", () => {
    expect(dueDeadline({ blockedBy: ["a"] }, 7)).toBeNull();
    expect(dueDeadline({ blockedBy: null }, 7)).toBe(7);
    expect(dueDeadline({ blockedBy: [] }, 7)).toBe(7);
  });
});
