import { describe, expect, it } from "vitest";
import { changesSchedule, mergePatches, patchedRetry, rescheduled } from "../../src/core/job-patch";

describe("job patches", () => {
  it("tells schedule changes apart from the rest", () => {
    expect(changesSchedule({ priority: 1, payload: null })).toBe(false);
    expect(changesSchedule({ cron: null })).toBe(true);
    expect(changesSchedule({ runAt: 5 })).toBe(true);
  });

  it("merges a later patch over an earlier one field by field", () => {
    expect(mergePatches({ priority: 1, name: "a" }, { name: null })).toEqual({ priority: 1, name: null });
    expect(mergePatches(null, { priority: 2 })).toEqual({ priority: 2 });
  });

  it("anchors a new schedule at the requested run_at, else at the nominal occurrence (never the past)", () => {
    const job = { occurrenceAt: 1_000_000, occurrence: 3, currentRetries: 0 };
    const hourly = { kind: "interval", seconds: 3600 } as const;
    expect(rescheduled(job, hourly, 5_000_000, 2_000_000)).toMatchObject({ runAt: 5_000_000, occurrence: 3 });
    expect(rescheduled(job, hourly, undefined, 500_000)).toMatchObject({ runAt: 1_000_000 });
    expect(rescheduled(job, hourly, undefined, 2_000_000)).toMatchObject({ runAt: 2_000_000 });
    expect(rescheduled({ ...job, currentRetries: 1 }, hourly, undefined, 0)).toMatchObject({
      occurrence: 4,
      currentRetries: 0,
      extraRun: false,
    });
  });

  it("sends a retry at a run_at patched during its attempt: now if past, never before Retry-After", () => {
    const once = { kind: "once" } as const;
    expect(patchedRetry(once, 5_000_000, 2_000_000, undefined)).toEqual({
      runAt: 5_000_000,
      occurrenceAt: 5_000_000,
      extraRun: false,
    });
    expect(patchedRetry(once, 1_000_000, 2_000_000, undefined)).toMatchObject({ runAt: 2_000_000 });
    // The target's Retry-After still holds; the schedule stays anchored at the patched time.
    expect(patchedRetry(once, 5_000_000, 2_000_000, 9_000_000)).toEqual({
      runAt: 11_000_000,
      occurrenceAt: 5_000_000,
      extraRun: false,
    });
    expect(patchedRetry(once, 5_000_000, 2_000_000, Number.NaN)).toMatchObject({ runAt: 5_000_000 });
    // A cron job's occurrence lands on the first match at or after the patched time.
    const daily = { kind: "cron", expression: "0 9 * * *", timezone: "UTC" } as const;
    const at = Date.parse("2030-01-01T08:00:00Z");
    expect(patchedRetry(daily, at, at - 60_000, undefined).runAt).toBe(Date.parse("2030-01-01T09:00:00Z"));
  });
});
