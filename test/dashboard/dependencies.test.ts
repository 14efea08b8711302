import { describe, expect, it } from "vitest";
import type { Job } from "../../dashboard/src/api";
import {
  blockedText,
  DEPENDENCY_FAILED,
  DEPENDENCY_FAILURE_POLICIES,
  DEPENDENCY_FAILURE_TEXT,
  dependenciesOf,
  dependencyFailedText,
  MAX_DEPENDENCIES,
} from "../../dashboard/src/dependencies";
import * as CORE from "../../src/core/dependencies";
import { job } from "./fixture";

const oneShot = (over: Partial<Job>) => job({ cron: null, timezone: null, ...over });

describe("dependenciesOf", () => {
  it("marks each dependency, in the job's own order, waiting while in blocked_by and done once not", () => {
    const waiting = oneShot({ depends_on: ["job_0_a", "job_1_b", "job_0_c"], blocked_by: ["job_1_b"] });
    expect(dependenciesOf(waiting)).toEqual([
      { id: "job_0_a", state: "done" },
      { id: "job_1_b", state: "waiting" },
      { id: "job_0_c", state: "done" },
    ]);
    // The watch sends the job again as dependencies succeed: the marks follow blocked_by.
    expect(dependenciesOf({ ...waiting, blocked_by: [] }).map((d) => d.state)).toEqual([
      "done",
      "done",
      "done",
    ]);
  });

  it("marks a dependency still in blocked_by of a finished job as not succeeded, not waiting", () => {
    const failed = oneShot({
      status: "failed",
      last_error: "dependency_failed",
      depends_on: ["job_0_a", "job_0_b"],
      blocked_by: ["job_0_b"],
    });
    expect(dependenciesOf(failed)).toEqual([
      { id: "job_0_a", state: "done" },
      { id: "job_0_b", state: "not_succeeded" },
    ]);
  });

  it("reads no dependencies from [] and from a job without the fields (before they land)", () => {
    expect(dependenciesOf(oneShot({}))).toEqual([]);
    const { depends_on: _d, blocked_by: _b, on_dependency_failure: _o, ...without } = oneShot({});
    expect(dependenciesOf(without as Job)).toEqual([]);
    expect(blockedText(without as Job)).toBeNull();
    expect(dependencyFailedText(without as Job)).toBeNull();
  });
});

describe("blockedText", () => {
  it("counts what still blocks an unfinished job, and says nothing when none does", () => {
    const deps = { depends_on: ["job_0_a", "job_0_b", "job_0_c"] };
    expect(blockedText(oneShot({ ...deps, blocked_by: ["job_0_a", "job_0_c"] }))).toBe(
      "Blocked by 2 dependencies",
    );
    expect(blockedText(oneShot({ ...deps, blocked_by: ["job_0_c"] }))).toBe("Blocked by 1 dependency");
    expect(blockedText(oneShot({ ...deps, blocked_by: [] }))).toBeNull();
    expect(blockedText(job({ ...deps, status: "paused", blocked_by: ["job_0_a"] }))).toBe(
      "Blocked by 1 dependency",
    );
  });

  it("says nothing for a finished job, which waits for nothing", () => {
    for (const status of ["failed", "cancelled", "succeeded"] as const)
      expect(blockedText(oneShot({ status, depends_on: ["job_0_a"], blocked_by: ["job_0_a"] }))).toBeNull();
  });
});

describe("dependencyFailedText", () => {
  it("explains dependency_failed in words, and nothing else", () => {
    const text = dependencyFailedText(
      oneShot({ status: "failed", last_error: "dependency_failed", depends_on: ["job_0_a"] }),
    );
    expect(text).toContain("a job it depends on failed or was cancelled");
    expect(text).toContain("without being run");
    expect(dependencyFailedText(oneShot({ status: "failed", last_error: "HTTP 500" }))).toBeNull();
    expect(dependencyFailedText(oneShot({}))).toBeNull();
  });

  it("tells both failure policies", () => {
    expect(DEPENDENCY_FAILURE_TEXT.fail).toMatch(/^fail \(default\)/);
    expect(DEPENDENCY_FAILURE_TEXT.run).toMatch(/^run: this job runs even if a dependency fails/);
  });
});

describe("the dashboard's copies of the API's constants", () => {
  it("are the API's own (restated so the bundle takes no zod)", () => {
    expect(MAX_DEPENDENCIES).toBe(CORE.MAX_DEPENDENCIES);
    expect(DEPENDENCY_FAILED).toBe(CORE.DEPENDENCY_FAILED);
    expect([...DEPENDENCY_FAILURE_POLICIES]).toEqual([...CORE.DEPENDENCY_POLICIES]);
  });
});
