import { describe, expect, it } from "vitest";
import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  isFinished,
  JOB_STATUSES,
  type JobStatus,
  settle,
} from "../../src/core/state";

const LEGAL: [JobStatus, JobStatus][] = [
  ["scheduled", "queued"],
  ["scheduled", "failed"],
  ["scheduled", "cancelled"],
  ["queued", "running"],
  ["queued", "scheduled"],
  ["queued", "cancelled"],
  ["running", "succeeded"],
  ["running", "failed"],
  ["running", "scheduled"],
  ["running", "cancelled"],
  ["paused", "cancelled"],
];

describe("job state machine", () => {
  it("allows exactly the legal transitions", () => {
    for (const from of JOB_STATUSES) {
      for (const to of JOB_STATUSES) {
        const legal = LEGAL.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} → ${to}`).toBe(legal);
      }
    }
  });

  it("throws a named error on an illegal transition", () => {
    expect(() => assertTransition("succeeded", "scheduled")).toThrow(IllegalTransitionError);
    expect(() => assertTransition("scheduled", "running")).toThrow(/scheduled job cannot become running/);
    expect(() => assertTransition("queued", "running")).not.toThrow();
  });

  it("treats succeeded, failed and cancelled as final", () => {
    expect(JOB_STATUSES.filter(isFinished)).toEqual(["succeeded", "failed", "cancelled"]);
  });
});

describe("settle", () => {
  const once = { kind: "once" } as const;
  const base = {
    occurrenceAt: 1_000_000,
    maxRetries: 2,
    currentRetries: 0,
    retryDelaySeconds: 10,
    retryPolicy: "all" as const,
  };
  const now = 2_000_000;

  it("finishes a one-shot job on success", () => {
    expect(settle({ ...base, recurrence: once }, { ok: true }, now, () => 0.5)).toEqual({
      status: "succeeded",
      runAt: null,
      occurrenceAt: base.occurrenceAt,
      currentRetries: 0,
      occurrenceFinished: true,
    });
  });

  it("retries a failure with backoff until max_retries, then fails", () => {
    const first = settle({ ...base, recurrence: once }, { ok: false }, now, () => 0);
    expect(first).toMatchObject({ status: "scheduled", currentRetries: 1, occurrenceFinished: false });
    expect(first.runAt).toBe(now + 5_000);
    const second = settle({ ...base, recurrence: once, currentRetries: 1 }, { ok: false }, now, () => 0);
    expect(second.runAt).toBe(now + 10_000);
    const last = settle({ ...base, recurrence: once, currentRetries: 2 }, { ok: false }, now, () => 0);
    expect(last).toMatchObject({
      status: "failed",
      runAt: null,
      currentRetries: 2,
      occurrenceFinished: true,
    });
  });

  it("waits at least as long as Retry-After asks", () => {
    const out = settle({ ...base, recurrence: once }, { ok: false, retryAfterMs: 3_600_000 }, now, () => 0);
    expect(out.runAt).toBe(now + 3_600_000);
  });

  it("moves a recurring job to its next occurrence after success or exhausted retries", () => {
    const every = { kind: "interval", seconds: 60 } as const;
    const ok = settle({ ...base, recurrence: every, currentRetries: 1 }, { ok: true }, now, () => 0.5);
    // Anchored at the occurrence, not at now: the first slot at or after now.
    const expected = base.occurrenceAt + 17 * 60_000;
    expect(ok).toEqual({
      status: "scheduled",
      runAt: expected,
      occurrenceAt: expected,
      currentRetries: 0,
      occurrenceFinished: true,
    });
    const exhausted = settle(
      { ...base, recurrence: every, currentRetries: 2 },
      { ok: false },
      now,
      () => 0.5,
    );
    expect(exhausted).toMatchObject({
      status: "scheduled",
      runAt: expected,
      currentRetries: 0,
      occurrenceFinished: true,
    });
  });

  it("fails a permanent failure at once, whatever retries are left", () => {
    const out = settle({ ...base, recurrence: once }, { ok: false, permanent: true }, now, () => 0.5);
    expect(out).toEqual({
      status: "failed",
      runAt: null,
      occurrenceAt: base.occurrenceAt,
      currentRetries: 0,
      occurrenceFinished: true,
    });
    // A recurring job moves on to its next occurrence instead.
    const every = { kind: "interval", seconds: 60 } as const;
    const next = settle({ ...base, recurrence: every }, { ok: false, permanent: true }, now, () => 0.5);
    expect(next).toMatchObject({ status: "scheduled", currentRetries: 0, occurrenceFinished: true });
    expect(next.runAt).toBe(base.occurrenceAt + 17 * 60_000);
  });

  it("under retry_policy transient stops at a client error but retries 408, 425, 429, 5xx and network errors", () => {
    const transient = { ...base, recurrence: once, retryPolicy: "transient" as const };
    for (const httpStatus of [400, 401, 403, 404, 409, 410, 422, 451, 499]) {
      const out = settle(transient, { ok: false, httpStatus }, now, () => 0.5);
      expect(out.status, `HTTP ${httpStatus}`).toBe("failed");
    }
    for (const failure of [
      { httpStatus: 408 },
      { httpStatus: 425 },
      { httpStatus: 429 },
      { httpStatus: 500 },
      { httpStatus: 503 },
      {},
    ]) {
      const out = settle(transient, { ok: false, ...failure }, now, () => 0.5);
      expect(out, JSON.stringify(failure)).toMatchObject({ status: "scheduled", currentRetries: 1 });
    }
    // Under `all` a client error is retried like any failure.
    const all = settle({ ...transient, retryPolicy: "all" }, { ok: false, httpStatus: 404 }, now, () => 0.5);
    expect(all).toMatchObject({ status: "scheduled", currentRetries: 1 });
  });
});
