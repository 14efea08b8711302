import { describe, expect, it } from "vitest";
import { formatInstant, relativeTime } from "../../dashboard/src/format";

const AT = "2026-12-04T13:05:09.000Z";

describe("formatInstant", () => {
  it("writes an instant ISO-like in a zone, named", () => {
    expect(formatInstant(AT, "Europe/Berlin")).toBe("2026-12-04 14:05:09 Europe/Berlin");
    expect(formatInstant(new Date(AT), "UTC")).toBe("2026-12-04 13:05:09 UTC");
  });

  it("names the browser's zone by its offset", () => {
    // The tooling project runs in the machine's zone: whatever it is, the text ends in UTC±h[:mm].
    expect(formatInstant(AT)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC([+-]\d{1,2}(:\d\d)?)?$/);
  });

  it("leaves an unreadable value as it is", () => {
    expect(formatInstant("soon")).toBe("soon");
  });
});

describe("relativeTime", () => {
  const now = Date.parse(AT);
  it("says how long ago or until, in the largest unit", () => {
    expect(relativeTime(now - 1_000, now)).toBe("just now");
    expect(relativeTime(now - 20_000, now)).toBe("20 s ago");
    expect(relativeTime(now - 3 * 60_000, now)).toBe("3 min ago");
    expect(relativeTime(now + 2 * 3_600_000, now)).toBe("in 2 h");
    expect(relativeTime(now - 5 * 86_400_000, now)).toBe("5 d ago");
  });
});
