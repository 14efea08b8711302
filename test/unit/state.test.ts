import { describe, expect, it } from "vitest";
import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  isFinished,
  JOB_STATUSES,
  type JobStatus,
  paused,
  ranNow,
  resumed,
  retried,
  type ScheduleState,
  settle,
  settledStatus,
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
  ["scheduled", "paused"],
  ["queued", "paused"],
  ["running", "paused"],
  ["paused", "scheduled"],
  ["paused", "running"],
  ["paused", "cancelled"],
  ["paused", "succeeded"],
  ["paused", "failed"],
  ["paused", "paused"],
  ["failed", "scheduled"],
  ["cancelled", "scheduled"],
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

describe("settle of an extra occurrence", () => {
  const every = { kind: "interval", seconds: 3600 } as const;
  const nominal = 10_000_000;
  const job = {
    recurrence: every,
    occurrenceAt: nominal,
    maxRetries: 1,
    currentRetries: 0,
    retryDelaySeconds: 10,
    retryPolicy: "all" as const,
  };

  it("returns to the nominal occurrence instead of the one after it", () => {
    expect(settle({ ...job, extraRun: true }, { ok: true }, 2_000_000, () => 0.5)).toEqual({
      status: "scheduled",
      runAt: nominal,
      occurrenceAt: nominal,
      currentRetries: 0,
      occurrenceFinished: true,
    });
    // Without the flag the same settle moves on a slot: the flag is what keeps the schedule.
    expect(settle(job, { ok: true }, nominal + 1, () => 0.5).runAt).toBe(nominal + 3_600_000);
  });

  it("retries a failed extra occurrence like any other, then returns to the nominal one", () => {
    const retry = settle({ ...job, extraRun: true }, { ok: false }, 2_000_000, () => 0);
    expect(retry).toMatchObject({ status: "scheduled", currentRetries: 1, occurrenceFinished: false });
    const spent = settle({ ...job, extraRun: true, currentRetries: 1 }, { ok: false }, 2_000_000, () => 0);
    expect(spent).toMatchObject({ status: "scheduled", runAt: nominal, occurrenceFinished: true });
  });
});

describe("settledStatus", () => {
  it("keeps a paused job paused when its attempt would schedule it again, and lets a one-shot job end", () => {
    expect(settledStatus("paused", "scheduled")).toBe("paused");
    expect(settledStatus("paused", "succeeded")).toBe("succeeded");
    expect(settledStatus("paused", "failed")).toBe("failed");
    expect(settledStatus("running", "scheduled")).toBe("scheduled");
  });
});

describe("job controls", () => {
  const now = 50_000_000;
  const once: ScheduleState = {
    status: "scheduled",
    recurrence: { kind: "once" },
    runAt: now + 60_000,
    occurrenceAt: now + 60_000,
    occurrence: 0,
    currentRetries: 0,
    extraRun: false,
  };
  const hourly: ScheduleState = { ...once, recurrence: { kind: "interval", seconds: 3600 } };
  const { recurrence: _, ...unchanged } = once;

  it("pauses any unfinished job and refuses a finished one", () => {
    for (const status of ["scheduled", "queued", "running", "paused"] as const)
      expect(paused({ ...once, status })).toEqual({ ok: true, change: { ...unchanged, status: "paused" } });
    for (const status of ["succeeded", "failed", "cancelled"] as const)
      expect(paused({ ...once, status })).toEqual({ ok: false, reason: "finished" });
  });

  it("resumes a one-shot job at its run_at, or now if that has passed", () => {
    expect(resumed({ ...once, status: "paused" }, now, false)).toMatchObject({
      ok: true,
      change: { status: "scheduled", runAt: now + 60_000 },
    });
    expect(resumed({ ...once, status: "paused" }, now + 120_000, false)).toMatchObject({
      change: { runAt: now + 120_000 },
    });
  });

  it("resumes a recurring job at its first occurrence at or after now, never bursting missed ones", () => {
    const anchor = { ...hourly, status: "paused" as const, runAt: now, occurrenceAt: now };
    const later = now + 5 * 3_600_000 + 1;
    const out = resumed(anchor, later, false);
    expect(out).toMatchObject({
      ok: true,
      change: { status: "scheduled", runAt: now + 6 * 3_600_000, occurrence: 0 },
    });
    // Exactly on an occurrence: that one.
    expect(resumed(anchor, now + 3_600_000, false)).toMatchObject({ change: { runAt: now + 3_600_000 } });
  });

  it("abandons a pending retry on resume, moving the occurrence number on (webhook ids stay unique)", () => {
    const retrying = {
      ...hourly,
      status: "paused" as const,
      runAt: now + 10,
      occurrenceAt: now,
      currentRetries: 2,
      occurrence: 4,
    };
    expect(resumed(retrying, now + 20, false)).toMatchObject({
      change: { runAt: now + 3_600_000, currentRetries: 0, occurrence: 5, extraRun: false },
    });
  });

  it("resumes a job whose attempt still runs as running, and leaves unpaused jobs alone", () => {
    expect(resumed({ ...hourly, status: "paused" }, now, true)).toEqual({
      ok: true,
      change: { ...unchanged, status: "running" },
    });
    expect(resumed(once, now, false)).toEqual({ ok: true, change: unchanged });
    expect(resumed({ ...once, status: "failed" }, now, false)).toEqual({ ok: false, reason: "finished" });
  });

  it("runs a one-shot job now, and gives a recurring job an extra occurrence without moving its nominal one", () => {
    expect(ranNow(once, now)).toEqual({ ok: true, change: { ...unchanged, runAt: now } });
    const extra = ranNow(hourly, now);
    expect(extra).toEqual({
      ok: true,
      change: { ...unchanged, runAt: now, occurrenceAt: now + 60_000, extraRun: true },
    });
    // Asking again before it runs changes nothing more.
    if (!extra.ok) throw new Error("unreachable");
    expect(ranNow({ ...hourly, ...extra.change }, now + 5)).toEqual(extra);
    // A nominal occurrence already due is the run asked for.
    expect(ranNow({ ...hourly, runAt: now - 1, occurrenceAt: now - 1 }, now)).toMatchObject({
      change: { runAt: now - 1, extraRun: false },
    });
  });

  it("refuses run on a queued, running, paused or finished job", () => {
    expect(ranNow({ ...once, status: "queued" }, now)).toEqual({ ok: false, reason: "busy" });
    expect(ranNow({ ...once, status: "running" }, now)).toEqual({ ok: false, reason: "busy" });
    expect(ranNow({ ...once, status: "paused" }, now)).toEqual({ ok: false, reason: "paused" });
    expect(ranNow({ ...once, status: "succeeded" }, now)).toEqual({ ok: false, reason: "finished" });
  });

  it("retries a failed or cancelled one-shot job as a new occurrence, and nothing else", () => {
    const failed = { ...once, status: "failed" as const, currentRetries: 3, occurrence: 2 };
    expect(retried(failed, now)).toEqual({
      ok: true,
      change: {
        ...unchanged,
        status: "scheduled",
        runAt: now,
        occurrenceAt: now,
        currentRetries: 0,
        occurrence: 3,
      },
    });
    expect(retried({ ...once, status: "cancelled" }, now)).toMatchObject({ ok: true });
    for (const status of ["scheduled", "queued", "running", "paused", "succeeded"] as const)
      expect(retried({ ...once, status }, now)).toEqual({ ok: false, reason: "not_retryable" });
    expect(retried({ ...hourly, status: "cancelled" }, now)).toEqual({ ok: false, reason: "not_retryable" });
  });
});
