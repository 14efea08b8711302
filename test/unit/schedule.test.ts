import { describe, expect, it } from "vitest";
import {
  cronError,
  firstRunAt,
  nextRunAt,
  type Recurrence,
  recurrenceOf,
  timezoneError,
} from "../../src/core/schedule";

const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (s: string) => Date.parse(s);
const cron = (expression: string, timezone = "UTC"): Recurrence => ({ kind: "cron", expression, timezone });
const NY = "America/New_York";
const LONDON = "Europe/London";

/** Wall-clock "YYYY-MM-DD HH:mm" of an instant in a zone, to state expectations in local time. */
function local(t: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(new Date(t));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "?";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
}

/** Runs of `rec` starting at firstRunAt(from), each finishing the instant it starts. */
function runs(rec: Recurrence, from: number, count: number): number[] {
  const out = [firstRunAt(rec, undefined, from)];
  while (out.length < count) {
    const prev = out[out.length - 1] as number;
    const next = nextRunAt(rec, prev, prev);
    if (next === null) break;
    out.push(next);
  }
  return out;
}

const isoList = (ts: number[]) => ts.map((t) => new Date(t).toISOString());

describe("once", () => {
  it("runs at the requested time, else now, and never again", () => {
    const rec: Recurrence = { kind: "once" };
    expect(firstRunAt(rec, 5_000, 1_000)).toBe(5_000);
    expect(firstRunAt(rec, undefined, 1_000)).toBe(1_000);
    // A past run_at means now.
    expect(firstRunAt(rec, 0, 1_000)).toBe(1_000);
    expect(firstRunAt(rec, -62_135_596_800_000, 1_000)).toBe(1_000);
    expect(nextRunAt(rec, 5_000, 6_000)).toBeNull();
  });
});

describe("interval", () => {
  const rec: Recurrence = { kind: "interval", seconds: 60 };
  const t0 = iso("2026-05-01T12:00:00Z");

  it("starts at the requested time, else now", () => {
    expect(firstRunAt(rec, t0, t0 - HOUR)).toBe(t0);
    expect(firstRunAt(rec, undefined, t0)).toBe(t0);
  });

  it("is anchored at the previous slot, not at the finish time (no drift)", () => {
    expect(nextRunAt(rec, t0, t0 + 5_000)).toBe(t0 + MIN);
    let prev = t0;
    for (let i = 1; i <= 200; i++) {
      const next = nextRunAt(rec, prev, prev + 1_700) as number;
      expect(next).toBe(t0 + i * MIN);
      prev = next;
    }
  });

  it("skips missed slots instead of bursting", () => {
    expect(nextRunAt(rec, t0, t0 + 3.5 * MIN)).toBe(t0 + 4 * MIN);
    expect(nextRunAt(rec, t0, t0 + MIN + 1)).toBe(t0 + 2 * MIN);
  });

  it("handles exact boundaries and a clock behind previous", () => {
    expect(nextRunAt(rec, t0, t0 + 3 * MIN)).toBe(t0 + 3 * MIN);
    expect(nextRunAt(rec, t0, t0 + MIN)).toBe(t0 + MIN);
    expect(nextRunAt(rec, t0, t0)).toBe(t0 + MIN);
    expect(nextRunAt(rec, t0, t0 - HOUR)).toBe(t0 + MIN);
  });

  it("supports sub-second and long intervals exactly", () => {
    expect(nextRunAt({ kind: "interval", seconds: 0.25 }, 1_000, 1_600)).toBe(1_750);
    const week = 7 * 24 * 3600;
    expect(nextRunAt({ kind: "interval", seconds: week }, t0, t0 + 10 * week * 1000 + 1)).toBe(
      t0 + 11 * week * 1000,
    );
  });

  it("rejects a non-positive or NaN period rather than looping", () => {
    for (const seconds of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 0.0001]) {
      expect(() => nextRunAt({ kind: "interval", seconds }, t0, t0)).toThrow(RangeError);
    }
  });
});

describe("cron basics", () => {
  const every5 = cron("*/5 * * * *");

  it("firstRunAt is the first match at or after the requested time (inclusive)", () => {
    expect(firstRunAt(every5, iso("2026-06-01T10:02:30Z"), 0)).toBe(iso("2026-06-01T10:05:00Z"));
    expect(firstRunAt(every5, iso("2026-06-01T10:05:00Z"), 0)).toBe(iso("2026-06-01T10:05:00Z"));
    expect(firstRunAt(every5, iso("2026-06-01T10:05:00.001Z"), 0)).toBe(iso("2026-06-01T10:10:00Z"));
    expect(firstRunAt(every5, iso("2026-06-01T10:04:59.999Z"), 0)).toBe(iso("2026-06-01T10:05:00Z"));
  });

  it("firstRunAt uses now when nothing is requested", () => {
    expect(firstRunAt(every5, undefined, iso("2026-06-01T10:00:00Z"))).toBe(iso("2026-06-01T10:00:00Z"));
    expect(firstRunAt(every5, undefined, iso("2026-06-01T10:00:01Z"))).toBe(iso("2026-06-01T10:05:00Z"));
  });

  it("nextRunAt is strictly after previous and at or after now, skipping missed matches", () => {
    const prev = iso("2026-06-01T10:05:00Z");
    expect(nextRunAt(every5, prev, prev)).toBe(iso("2026-06-01T10:10:00Z"));
    expect(nextRunAt(every5, prev, prev + 300)).toBe(iso("2026-06-01T10:10:00Z"));
    expect(nextRunAt(every5, prev, iso("2026-06-01T10:27:00Z"))).toBe(iso("2026-06-01T10:30:00Z"));
    expect(nextRunAt(every5, prev, iso("2026-06-01T10:30:00Z"))).toBe(iso("2026-06-01T10:30:00Z"));
    expect(nextRunAt(every5, prev, prev - HOUR)).toBe(iso("2026-06-01T10:10:00Z"));
  });

  it("weekdays skip the weekend", () => {
    // 2026-01-02 is a Friday.
    const r = runs(cron("0 9 * * 1-5"), iso("2026-01-02T09:00:00.001Z"), 3);
    expect(isoList(r)).toEqual([
      "2026-01-05T09:00:00.000Z",
      "2026-01-06T09:00:00.000Z",
      "2026-01-07T09:00:00.000Z",
    ]);
  });

  it("evaluates the expression in the job's time zone", () => {
    const from = iso("2026-01-10T00:00:00Z");
    expect(firstRunAt(cron("0 9 * * *", "Asia/Tokyo"), from, 0)).toBe(iso("2026-01-10T00:00:00Z"));
    expect(firstRunAt(cron("0 9 * * *", "Asia/Kolkata"), from, 0)).toBe(iso("2026-01-10T03:30:00Z"));
    expect(firstRunAt(cron("0 9 * * *", NY), from, 0)).toBe(iso("2026-01-10T14:00:00Z"));
    expect(firstRunAt(cron("0 9 * * *", NY), iso("2026-07-10T00:00:00Z"), 0)).toBe(
      iso("2026-07-10T13:00:00Z"),
    );
  });

  it("accepts nicknames as their 5-field equivalents", () => {
    const from = iso("2026-06-01T10:20:00Z");
    expect(firstRunAt(cron("@daily"), from, 0)).toBe(firstRunAt(cron("0 0 * * *"), from, 0));
    expect(firstRunAt(cron("@hourly"), from, 0)).toBe(iso("2026-06-01T11:00:00Z"));
  });

  it("returns null once croner's year-3000 horizon is passed, and firstRunAt throws", () => {
    expect(nextRunAt(cron("0 0 1 1 *"), iso("2999-06-01T00:00:00Z"), iso("2999-06-01T00:00:00Z"))).toBeNull();
    expect(() => firstRunAt(cron("0 0 1 1 *"), iso("2999-06-01T00:00:00Z"), 0)).toThrow();
  });
});

describe("cron across DST", () => {
  it("New York fall back: a daily job at the repeated 01:30 runs once, at the first (EDT) one", () => {
    const r = runs(cron("30 1 * * *", NY), iso("2026-10-31T00:00:00Z"), 3);
    expect(isoList(r)).toEqual([
      "2026-10-31T05:30:00.000Z",
      "2026-11-01T05:30:00.000Z",
      "2026-11-02T06:30:00.000Z",
    ]);
    // Finishing during the second pass of 01:xx must not trigger the EST 01:30.
    expect(nextRunAt(cron("30 1 * * *", NY), iso("2026-11-01T05:30:00Z"), iso("2026-11-01T06:10:00Z"))).toBe(
      iso("2026-11-02T06:30:00Z"),
    );
    expect(firstRunAt(cron("30 1 * * *", NY), iso("2026-11-01T06:00:00Z"), 0)).toBe(
      iso("2026-11-02T06:30:00Z"),
    );
  });

  it("New York fall back: lists and ranges are fixed-time too, so they do not double-run", () => {
    const r = runs(cron("30 1,13 * * *", NY), iso("2026-11-01T00:00:00Z"), 3);
    expect(isoList(r)).toEqual([
      "2026-11-01T05:30:00.000Z",
      "2026-11-01T18:30:00.000Z",
      "2026-11-02T06:30:00.000Z",
    ]);
  });

  it("New York fall back: hourly and */30 jobs keep running every real interval", () => {
    const hourly = runs(cron("0 * * * *", NY), iso("2026-11-01T03:00:00Z"), 6);
    expect(isoList(hourly)).toEqual([
      "2026-11-01T03:00:00.000Z",
      "2026-11-01T04:00:00.000Z",
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T07:00:00.000Z",
      "2026-11-01T08:00:00.000Z",
    ]);
    const half = runs(cron("*/30 * * * *", NY), iso("2026-11-01T04:30:00Z"), 8);
    for (let i = 1; i < half.length; i++)
      expect((half[i] as number) - (half[i - 1] as number)).toBe(30 * MIN);
  });

  it("New York spring forward: the missing 02:30 runs that day at 03:00 EDT (07:00Z)", () => {
    const r = runs(cron("30 2 * * *", NY), iso("2026-03-07T00:00:00Z"), 3);
    expect(isoList(r)).toEqual([
      "2026-03-07T07:30:00.000Z",
      "2026-03-08T07:00:00.000Z",
      "2026-03-09T06:30:00.000Z",
    ]);
    expect(local(r[1] as number, NY)).toBe("2026-03-08 03:00");
    const listed = runs(cron("30 2,14 * * *", NY), iso("2026-03-08T00:00:00Z"), 2);
    expect(isoList(listed)).toEqual(["2026-03-08T07:00:00.000Z", "2026-03-08T18:30:00.000Z"]);
  });

  it("New York spring forward: missing times collapse into one run; hourly skips the missing hour", () => {
    const r = runs(cron("0 2,3 * * *", NY), iso("2026-03-08T06:00:00Z"), 3);
    expect(isoList(r)).toEqual([
      "2026-03-08T07:00:00.000Z",
      "2026-03-09T06:00:00.000Z",
      "2026-03-09T07:00:00.000Z",
    ]);
    const hourly = runs(cron("0 * * * *", NY), iso("2026-03-08T05:00:00Z"), 4);
    expect(hourly.map((t) => local(t, NY))).toEqual([
      "2026-03-08 00:00",
      "2026-03-08 01:00",
      "2026-03-08 03:00",
      "2026-03-08 04:00",
    ]);
    for (let i = 1; i < hourly.length; i++)
      expect((hourly[i] as number) - (hourly[i - 1] as number)).toBe(HOUR);
  });

  it("London: spring forward 2026-03-29 and fall back 2026-10-25", () => {
    const spring = runs(cron("30 1 * * *", LONDON), iso("2026-03-28T00:00:00Z"), 3);
    expect(isoList(spring)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
    expect(local(spring[1] as number, LONDON)).toBe("2026-03-29 02:00");
    const fall = runs(cron("30 1 * * *", LONDON), iso("2026-10-24T00:00:00Z"), 3);
    expect(isoList(fall)).toEqual([
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
    const hourly = runs(cron("0 * * * *", LONDON), iso("2026-10-24T23:00:00Z"), 4);
    expect(hourly.map((t) => local(t, LONDON))).toEqual([
      "2026-10-25 00:00",
      "2026-10-25 01:00",
      "2026-10-25 01:00",
      "2026-10-25 02:00",
    ]);
  });

  it("a daily job runs exactly once on every local day of 2026, DST days included", () => {
    for (const [expression, tz] of [
      ["30 1 * * *", NY],
      ["30 2 * * *", NY],
      ["30 1 * * *", LONDON],
    ] as const) {
      const all = runs(cron(expression, tz), iso("2026-01-01T12:00:00Z"), 400).filter(
        (t) => t < iso("2027-01-01T12:00:00Z"),
      );
      const days = all.map((t) => local(t, tz).slice(0, 10));
      expect(all.length).toBe(365); // local days 2026-01-02 .. 2027-01-01
      expect(new Set(days).size).toBe(all.length);
    }
  });

  it("iterating nextRunAt always moves strictly forward and respects now", () => {
    const exprs = ["*/7 * * * *", "0 * * * *", "30 1 * * *", "30 2 * * *", "0 1-3 * * *", "15 */2 * * *"];
    for (const tz of [NY, LONDON, "Australia/Lord_Howe", "UTC"]) {
      for (const expression of exprs) {
        const rec = cron(expression, tz);
        let prev = firstRunAt(rec, undefined, iso("2026-03-07T00:00:00Z"));
        for (let i = 0; i < 120; i++) {
          const now = prev + ((i * 7919) % (3 * HOUR));
          const next = nextRunAt(rec, prev, now) as number;
          expect(next).toBeGreaterThan(prev);
          expect(next).toBeGreaterThanOrEqual(now);
          prev = next;
        }
      }
    }
  });
});

describe("validation", () => {
  it("accepts valid 5-field expressions and nicknames", () => {
    for (const e of [
      "*/5 * * * *",
      "0 9 * * 1-5",
      "0 0 L * *",
      "0 0 29 2 *",
      "@hourly",
      "@daily",
      " 0 0 * * * ",
    ]) {
      expect(cronError(e, "UTC")).toBeNull();
    }
    expect(cronError("0 9 * * MON-FRI", NY)).toBeNull();
  });

  it("rejects garbage, wrong field counts, out-of-range values and never-matching dates", () => {
    const bad = [
      "garbage",
      "",
      "   ",
      "* * * *",
      "0 * * * * *",
      "0 0 0 * * * 2026",
      "61 * * * *",
      "0 24 * * *",
      "0 0 32 * *",
      "0 0 * 13 *",
      "0 0 * * 8",
      "*/0 * * * *",
      "@reboot",
      "@every_minute",
      "0 0 30 2 *",
      `0 0 ${"1,".repeat(200)}1 * *`,
    ];
    for (const e of bad) expect(cronError(e, "UTC"), e).toEqual(expect.any(String));
    expect(cronError("0 0 31 4 *", "UTC")).toContain("never matches");
  });

  it("says a cron takes 5 fields, and why a 6- or 7-field one is refused", () => {
    expect(cronError("0 */5 * * * *", "UTC")).toBe(
      'cron takes 5 fields (minute hour day-of-month month day-of-week), "0 */5 * * * *" has 6; ' +
        "seconds and years are not supported, so drop the leading seconds field (and any trailing year)",
    );
    expect(cronError("0 0 0 * * * 2026", "UTC")).toMatch(/takes 5 fields.* has 7; seconds and years/);
    expect(cronError("* * * *", "UTC")).toBe(
      'cron takes 5 fields (minute hour day-of-month month day-of-week), "* * * *" has 4',
    );
    expect(cronError("@daily", "UTC")).toBeNull();
  });

  it("rejects unknown or non-IANA time zones", () => {
    for (const tz of ["Mars/Olympus", "", "+01:00", "-05:00", "Not a zone", "America/NewYork"]) {
      expect(timezoneError(tz), tz).toEqual(expect.any(String));
      expect(cronError("0 * * * *", tz), tz).toEqual(expect.any(String));
    }
    for (const tz of ["UTC", NY, LONDON, "Asia/Kolkata", "Etc/GMT+5"]) expect(timezoneError(tz)).toBeNull();
  });
});

describe("recurrenceOf", () => {
  it("reads a stored job (nulls) and a submitted one (absent fields) alike", () => {
    for (const none of [null, undefined]) {
      expect(recurrenceOf({ intervalSeconds: none, cron: none, timezone: none })).toEqual({ kind: "once" });
      expect(recurrenceOf({ intervalSeconds: 60, cron: none, timezone: none })).toEqual({
        kind: "interval",
        seconds: 60,
      });
      expect(recurrenceOf({ intervalSeconds: none, cron: "0 * * * *", timezone: none })).toEqual(
        cron("0 * * * *"),
      );
    }
    expect(recurrenceOf({ intervalSeconds: null, cron: "0 9 * * *", timezone: NY })).toEqual(
      cron("0 9 * * *", NY),
    );
  });
});
