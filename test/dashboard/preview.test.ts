import { describe, expect, it } from "vitest";
import { inZone, previewRuns } from "../../dashboard/src/preview";
import { firstRunAt, nextRunAt } from "../../src/core/schedule";

const NOW = Date.parse("2026-03-28T12:00:00Z");

describe("previewRuns", () => {
  it("gives the server's own next runs of a cron in its zone, across a DST change", () => {
    const rec = { kind: "cron", expression: "30 1 * * *", timezone: "Europe/London" } as const;
    const preview = previewRuns(rec, NOW);
    if ("error" in preview) throw new Error(preview.error);
    const server: number[] = [firstRunAt(rec, undefined, NOW)];
    while (server.length < 5) server.push(nextRunAt(rec, server.at(-1) ?? 0, server.at(-1) ?? 0) ?? 0);
    expect(preview.runs.map((d) => d.getTime())).toEqual(server);
    // Clocks go forward at 01:00 on 29 March 2026, so that day's 01:30 does not exist and runs at
    // 02:00 BST (01:00 UTC); afterwards 01:30 BST is 00:30 UTC.
    expect(preview.runs.map((d) => d.toISOString())).toEqual([
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
      "2026-03-31T00:30:00.000Z",
      "2026-04-01T00:30:00.000Z",
      "2026-04-02T00:30:00.000Z",
    ]);
    expect(inZone(preview.runs[0] as Date, "Europe/London")).toBe("2026-03-29 02:00:00 Europe/London");
  });

  it("steps an interval from its first run", () => {
    const preview = previewRuns({ kind: "interval", seconds: 90 }, NOW, 3);
    expect("runs" in preview && preview.runs.map((d) => d.getTime() - NOW)).toEqual([0, 90_000, 180_000]);
  });

  it("reports a bad expression or zone with the server's message instead of runs", () => {
    expect(previewRuns({ kind: "cron", expression: "61 * * * *", timezone: "UTC" }, NOW)).toMatchObject({
      error: expect.stringContaining("invalid cron expression"),
    });
    expect(previewRuns({ kind: "cron", expression: "* * * * *", timezone: "Mars/Base" }, NOW)).toEqual({
      error: 'unknown time zone "Mars/Base"',
    });
    expect(previewRuns({ kind: "cron", expression: "0 0 30 2 *", timezone: "UTC" }, NOW)).toEqual({
      error: 'cron expression "0 0 30 2 *" never matches',
    });
  });
});
