// Overlap and catch-up of recurring jobs in the pure state machine (src/core/state.ts): each transition
// of followingOccurrence (through settle), resumed, overlapCutoff and overlapReplaced; and the nominal
// helpers of src/core/schedule.ts they use.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { latestNominalUpTo, nominalAfter, type Recurrence } from "../../src/core/schedule";
import {
  type CatchUp,
  DEFAULT_RECURRING_POLICY,
  followingOccurrence,
  type Overlap,
  overlapCutoff,
  overlapReplaced,
  type RecurringPolicy,
  resumed,
  type ScheduleState,
  type SettleInput,
  settle,
} from "../../src/core/state";

const S = 1000;
const T0 = Date.UTC(2026, 0, 1);
const every2s: Recurrence = { kind: "interval", seconds: 2 };
const at = (seconds: number) => T0 + seconds * S;
const policy = (overlap: Overlap = "skip", catchUp: CatchUp = "none", window = 3600): RecurringPolicy => ({
  overlap,
  catchUp,
  catchUpWindowSeconds: window,
});
const noJitter = () => 0.5;

/** The occurrence at nominal `occurrence` (s), begun at `begun` (s), succeeded at `end` (s). */
function ended(occurrence: number, begun: number | null, end: number, p: RecurringPolicy, extra = {}) {
  const job: SettleInput = {
    recurrence: every2s,
    occurrenceAt: at(occurrence),
    maxRetries: 3,
    currentRetries: 0,
    retryDelaySeconds: 30,
    retryPolicy: "all",
    policy: p,
    begunAt: begun === null ? null : at(begun),
    ...extra,
  };
  return settle(job, { ok: true }, at(end), noJitter);
}

const secondsOf = (s: { runAt: number | null; occurrenceAt: number }) => ({
  runAt: s.runAt === null ? null : (s.runAt - T0) / S,
  occurrenceAt: (s.occurrenceAt - T0) / S,
});

describe("nominal helpers (schedule.ts)", () => {
  it("nominalAfter is the first nominal strictly after t on the grid", () => {
    expect(nominalAfter(every2s, at(0), at(0))).toBe(at(2));
    expect(nominalAfter(every2s, at(0), at(3))).toBe(at(4));
    expect(nominalAfter(every2s, at(0), at(4))).toBe(at(6));
    expect(nominalAfter(every2s, at(4), at(1))).toBe(at(6));
    expect(nominalAfter({ kind: "once" }, at(0), at(1))).toBeNull();
  });

  it("latestNominalUpTo is the latest nominal in (previous, t]", () => {
    expect(latestNominalUpTo(every2s, at(0), at(5))).toBe(at(4));
    expect(latestNominalUpTo(every2s, at(0), at(4))).toBe(at(4));
    expect(latestNominalUpTo(every2s, at(0), at(1))).toBeNull();
    expect(latestNominalUpTo(every2s, at(0), at(0))).toBeNull();
    const cron: Recurrence = { kind: "cron", expression: "*/5 * * * *", timezone: "UTC" };
    expect(latestNominalUpTo(cron, T0, T0 + 12 * 60 * S)).toBe(T0 + 10 * 60 * S);
    expect(latestNominalUpTo(cron, T0, T0 + 10 * 60 * S)).toBe(T0 + 10 * 60 * S);
    expect(latestNominalUpTo(cron, T0, T0 + 4 * 60 * S)).toBeNull();
  });

  it("agree with each other on any interval grid", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 10_000_000 }), (step, dt) => {
        const rec: Recurrence = { kind: "interval", seconds: step };
        const latest = latestNominalUpTo(rec, T0, T0 + dt);
        const next = nominalAfter(rec, T0, T0 + dt);
        expect(next).not.toBeNull();
        expect(next as number).toBeGreaterThan(T0 + dt);
        if (latest === null) expect(next).toBe(T0 + step * S);
        else {
          expect(latest).toBeLessThanOrEqual(T0 + dt);
          expect(next).toBe(latest + step * S);
        }
      }),
    );
  });
});

describe("overlap when an occurrence ends (settle → followingOccurrence)", () => {
  it("skip: occurrences due while it ran are skipped; the next is the first nominal after now", () => {
    // Every 2 s, the attempt runs 0 → 5 s: 2 and 4 came due while it ran.
    expect(secondsOf(ended(0, 0, 5, policy("skip")))).toEqual({ runAt: 6, occurrenceAt: 6 });
    // A nominal exactly at now is the next one (as before).
    expect(secondsOf(ended(0, 0, 6, policy("skip")))).toEqual({ runAt: 6, occurrenceAt: 6 });
  });

  it("buffer_one: one run at once for those due while it ran, serving the latest, then the grid", () => {
    const buffered = ended(0, 0, 5, policy("buffer_one"));
    expect(secondsOf(buffered)).toEqual({ runAt: 5, occurrenceAt: 4 });
    expect(buffered.occurrenceFinished).toBe(true);
    // The buffered run (nominal 4) begins at 5 and ends at 6: nothing came due in (5, 6] but 6 itself.
    expect(secondsOf(ended(4, 5, 6.5, policy("buffer_one")))).toEqual({ runAt: 6.5, occurrenceAt: 6 });
    // It ends at 5.5: 6 is not due yet, the grid goes on.
    expect(secondsOf(ended(4, 5, 5.5, policy("buffer_one")))).toEqual({ runAt: 6, occurrenceAt: 6 });
  });

  it("buffer_one: nothing due while it ran changes nothing", () => {
    expect(secondsOf(ended(0, 0, 1, policy("buffer_one")))).toEqual({ runAt: 2, occurrenceAt: 2 });
  });

  it("buffer_one never buffers more than one, however many came due", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), (b, d) => {
        const out = settle(
          {
            recurrence: every2s,
            occurrenceAt: T0,
            maxRetries: 0,
            currentRetries: 0,
            retryDelaySeconds: 1,
            retryPolicy: "all",
            policy: policy("buffer_one"),
            begunAt: T0 + b,
          },
          { ok: true },
          T0 + b + d,
          noJitter,
        );
        const now = T0 + b + d;
        // Either one run now (serving a nominal in (begin, now]) or the next nominal ≥ now.
        if (out.runAt === now) {
          expect(out.occurrenceAt).toBeGreaterThan(T0 + b);
          expect(out.occurrenceAt).toBeLessThanOrEqual(now);
          expect(now - out.occurrenceAt).toBeLessThan(2 * S);
        } else {
          expect(out.runAt).toBe(out.occurrenceAt);
          expect(out.runAt as number).toBeGreaterThanOrEqual(now);
        }
      }),
    );
  });

  it("cancel_other: an occurrence whose report beat the alarm still lets the due one run now", () => {
    expect(secondsOf(ended(0, 0, 2.5, policy("cancel_other")))).toEqual({ runAt: 2.5, occurrenceAt: 2 });
    expect(secondsOf(ended(0, 0, 1, policy("cancel_other")))).toEqual({ runAt: 2, occurrenceAt: 2 });
  });

  it("retries and extra runs are unchanged by the policies", () => {
    const failed = settle(
      {
        recurrence: every2s,
        occurrenceAt: at(0),
        maxRetries: 3,
        currentRetries: 0,
        retryDelaySeconds: 1,
        retryPolicy: "all",
        policy: policy("buffer_one", "all"),
        begunAt: at(3),
      },
      { ok: false },
      at(5),
      noJitter,
    );
    expect(failed).toMatchObject({ currentRetries: 1, occurrenceAt: at(0), occurrenceFinished: false });
    const extra = ended(10, 1, 5, policy("buffer_one", "all"), { extraRun: true });
    expect(secondsOf(extra)).toEqual({ runAt: 10, occurrenceAt: 10 });
  });
});

describe("catch_up when a late occurrence ends (settle → followingOccurrence)", () => {
  // Nominal 0 began late at 7 s (2, 4, 6 were missed before it started) and ended at 8 s.
  it("none: missed occurrences are skipped (the late one ran once)", () => {
    expect(secondsOf(ended(0, 7, 8, policy("skip", "none")))).toEqual({ runAt: 8, occurrenceAt: 8 });
    expect(secondsOf(ended(0, 7, 8.5, policy("skip", "none")))).toEqual({ runAt: 10, occurrenceAt: 10 });
  });

  it("one: one run at once for all that were missed, then the grid", () => {
    const caught = ended(0, 7, 8.5, policy("skip", "one"));
    expect(secondsOf(caught)).toEqual({ runAt: 8.5, occurrenceAt: 8 });
    // That run begins at once: nothing was missed before it, so the grid goes on.
    expect(secondsOf(ended(8, 8.5, 9, policy("skip", "one")))).toEqual({ runAt: 10, occurrenceAt: 10 });
    // Nothing missed: as none.
    expect(secondsOf(ended(0, 0.5, 1, policy("skip", "one")))).toEqual({ runAt: 2, occurrenceAt: 2 });
  });

  it("all: each missed occurrence runs, oldest first, one at a time", () => {
    const p = policy("skip", "all");
    expect(secondsOf(ended(0, 7, 8.5, p))).toEqual({ runAt: 8.5, occurrenceAt: 2 });
    // Each catch-up run begins at once; the next missed one follows when it ends.
    expect(secondsOf(ended(2, 8.5, 8.6, p))).toEqual({ runAt: 8.6, occurrenceAt: 4 });
    expect(secondsOf(ended(4, 8.6, 8.7, p))).toEqual({ runAt: 8.7, occurrenceAt: 6 });
    expect(secondsOf(ended(6, 8.7, 8.8, p))).toEqual({ runAt: 8.8, occurrenceAt: 8 });
    // Caught up: nominal 8 began at 8.8 after it came due, nothing left before its begin.
    expect(secondsOf(ended(8, 8.8, 8.9, p))).toEqual({ runAt: 10, occurrenceAt: 10 });
  });

  it("all: never one outside the window", () => {
    // Window 5 s at now = 8.5: only nominals ≥ 3.5 run (4 and 6), not 2.
    expect(secondsOf(ended(0, 7, 8.5, policy("skip", "all", 5)))).toEqual({ runAt: 8.5, occurrenceAt: 4 });
    // Window 1 s: none of the missed ones is recent enough: the grid goes on.
    expect(secondsOf(ended(0, 7, 8.5, policy("skip", "all", 1)))).toEqual({ runAt: 10, occurrenceAt: 10 });
  });

  it("an expired occurrence (none began) missed everything up to now", () => {
    expect(secondsOf(ended(0, null, 5, policy("skip", "one")))).toEqual({ runAt: 5, occurrenceAt: 4 });
    expect(secondsOf(ended(0, null, 5, policy("skip", "all")))).toEqual({ runAt: 5, occurrenceAt: 2 });
  });

  it("all never schedules a nominal outside the window nor more than one run at a time", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 60 }),
        (b, d, window) => {
          const now = T0 + b + d;
          const next = followingOccurrence(every2s, T0, T0 + b, now, policy("skip", "all", window));
          expect(next).not.toBeNull();
          if (!next) return;
          // One occurrence: either now (a catch-up) or later on the grid, never a burst.
          if (next.runAt === now && next.occurrenceAt < now) {
            expect(next.occurrenceAt).toBeGreaterThanOrEqual(now - window * S);
            expect(next.occurrenceAt).toBeLessThanOrEqual(T0 + b);
          } else expect(next.runAt).toBeGreaterThanOrEqual(now);
        },
      ),
    );
  });

  it("catch-up goes before overlap: one run covers the missed and the due-while-running", () => {
    expect(secondsOf(ended(0, 3, 7, policy("buffer_one", "one")))).toEqual({ runAt: 7, occurrenceAt: 6 });
  });

  it("a one-shot job is finished whatever its policy", () => {
    const out = settle(
      {
        recurrence: { kind: "once" },
        occurrenceAt: at(0),
        maxRetries: 0,
        currentRetries: 0,
        retryDelaySeconds: 1,
        retryPolicy: "all",
        policy: DEFAULT_RECURRING_POLICY,
        begunAt: at(0),
      },
      { ok: true },
      at(5),
      noJitter,
    );
    expect(out).toMatchObject({ status: "succeeded", runAt: null });
  });
});

describe("resume follows catch_up (resumed)", () => {
  // Paused before nominal 0; resumed at 10.5 s: 0, 2, 4, 6, 8, 10 were missed while paused.
  const pausedJob = (catchUp: CatchUp, window = 3600, extra: Partial<ScheduleState> = {}): ScheduleState => ({
    status: "paused",
    recurrence: every2s,
    runAt: at(0),
    occurrenceAt: at(0),
    occurrence: 3,
    currentRetries: 0,
    extraRun: false,
    policy: policy("skip", catchUp, window),
    ...extra,
  });
  const resumeAt = (job: ScheduleState, now: number) => {
    const out = resumed(job, at(now), false);
    if (!out.ok) throw new Error(out.reason);
    return out.change;
  };

  it("none: the first nominal at or after now (missed ones skipped)", () => {
    expect(secondsOf(resumeAt(pausedJob("none"), 10.5))).toEqual({ runAt: 12, occurrenceAt: 12 });
  });

  it("one: one run now, serving the latest missed nominal", () => {
    const change = resumeAt(pausedJob("one"), 10.5);
    expect(secondsOf(change)).toEqual({ runAt: 10.5, occurrenceAt: 10 });
    expect(change).toMatchObject({ status: "scheduled", occurrence: 3, currentRetries: 0 });
  });

  it("all: the oldest missed within the window now; settle takes the rest in turn", () => {
    expect(secondsOf(resumeAt(pausedJob("all"), 10.5))).toEqual({ runAt: 10.5, occurrenceAt: 0 });
    // Window 5 s: the oldest at or after 5.5 s is 6.
    expect(secondsOf(resumeAt(pausedJob("all", 5), 10.5))).toEqual({ runAt: 10.5, occurrenceAt: 6 });
    // Then each in turn (the run of 6 begins at 10.5, ends at 10.6): 8, then 10.
    const p = policy("skip", "all", 5);
    expect(secondsOf(ended(6, 10.5, 10.6, p))).toEqual({ runAt: 10.6, occurrenceAt: 8 });
    expect(secondsOf(ended(8, 10.6, 10.7, p))).toEqual({ runAt: 10.7, occurrenceAt: 10 });
    expect(secondsOf(ended(10, 10.7, 10.8, p))).toEqual({ runAt: 12, occurrenceAt: 12 });
  });

  it("nothing missed (resumed before the nominal): its own time, whatever catch_up", () => {
    for (const c of ["none", "one", "all"] as const)
      expect(secondsOf(resumeAt(pausedJob(c), -1))).toEqual({ runAt: 0, occurrenceAt: 0 });
  });

  it("an abandoned retry moves the occurrence number on (webhook ids stay unique)", () => {
    expect(resumeAt(pausedJob("one", 3600, { currentRetries: 2 }), 10.5)).toMatchObject({
      occurrence: 4,
      currentRetries: 0,
      runAt: at(10.5),
    });
  });
});

describe("overlap cancel_other: cutoff and replacement", () => {
  const job = { recurrence: every2s, occurrenceAt: at(0), runAt: at(0), extraRun: false };

  it("the cutoff is the next nominal after the attempt's due time; none for other policies", () => {
    expect(overlapCutoff({ ...job, overlap: "cancel_other" })).toBe(at(2));
    expect(overlapCutoff({ ...job, overlap: "skip" })).toBeNull();
    expect(overlapCutoff({ ...job, overlap: "buffer_one" })).toBeNull();
    expect(overlapCutoff({ ...job, recurrence: { kind: "once" }, overlap: "cancel_other" })).toBeNull();
    // A retry due at 3.5 s: the next nominal after it.
    expect(overlapCutoff({ ...job, runAt: at(3.5), overlap: "cancel_other" })).toBe(at(4));
    // An extra run (run now at 0.5 s ahead of nominal 2): the nominal one replaces it.
    expect(
      overlapCutoff({ ...job, occurrenceAt: at(2), runAt: at(0.5), extraRun: true, overlap: "cancel_other" }),
    ).toBe(at(2));
  });

  it("the replacement is due now, serves the latest nominal ≤ now, and is a new occurrence", () => {
    expect(overlapReplaced(job, at(2))).toEqual({
      status: "scheduled",
      runAt: at(2),
      occurrenceAt: at(2),
      currentRetries: 0,
      occurrenceFinished: true,
    });
    // The alarm came late (5 s): one replacement, serving 4, not a burst.
    expect(secondsOf(overlapReplaced(job, at(5)))).toEqual({ runAt: 5, occurrenceAt: 4 });
    expect(
      secondsOf(overlapReplaced({ ...job, occurrenceAt: at(2), runAt: at(0.5), extraRun: true }, at(2))),
    ).toEqual({ runAt: 2, occurrenceAt: 2 });
  });
});
