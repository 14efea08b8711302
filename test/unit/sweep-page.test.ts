// What a retention sweep makes of the swept rows it read above its cursor (sweepPage, pure): due ones
// go, the first not yet due stops it, strays get their entries back, unfinished ones are passed.
import { describe, expect, it } from "vitest";
import { removalGrid } from "../../src/core/removal-time";
import { SWEEP_WITHIN_MS, sweepPage } from "../../src/shard/sql/retention-sweep";

const RETENTION_S = 60;
const cursor = { retentionSeconds: RETENTION_S, through: 10 };
const NOW = 1_000_000;
type Row = {
  id: string;
  rowid: number;
  status: "succeeded" | "scheduled";
  deadline: number | null;
  createdAt: number;
};
/** A job finished `after` ms after its creation at `createdAt`, due a retention later. */
const finished = (rowid: number, createdAt: number, after = 1_000): Row => ({
  id: `j${rowid}`,
  rowid,
  status: "succeeded",
  createdAt,
  deadline: createdAt + after + RETENTION_S * 1000,
});

describe("sweepPage", () => {
  it("takes the due prefix and stops at the first swept job not yet due", () => {
    const rows = [
      finished(11, NOW - 70_000), // due 9 s ago
      { ...finished(12, NOW - 65_000), status: "scheduled" as const }, // retried: passed
      finished(13, NOW - 62_000), // due a second ago
      finished(14, NOW - 50_000), // due in 11 s: stop
      finished(15, NOW - 80_000), // due, but behind the stop: waits (the bound)
    ];
    const page = sweepPage(cursor, rows, NOW, 100);
    expect(page.due.map((r) => r.id)).toEqual(["j11", "j13"]);
    expect(page).toMatchObject({ strays: [], end: 13, next: NOW + 11_000, from: 10 });
  });

  it("gives strays their entries back and passes them: late finishes, and rows without a removal time", () => {
    // Finished past the bound: its removal time is a grid step beyond what a swept job's can be.
    const late = finished(11, NOW - 500_000, SWEEP_WITHIN_MS + removalGrid(RETENTION_S));
    const edge = finished(14, NOW - 500_000, SWEEP_WITHIN_MS + removalGrid(RETENTION_S) - 1);
    const none = { ...finished(12, NOW - 70_000), deadline: null };
    const page = sweepPage(cursor, [late, none, finished(13, NOW - 70_000), edge], NOW, 100);
    expect(page.strays).toEqual(["j11", "j12"]);
    expect(page.due.map((r) => r.id)).toEqual(["j13", "j14"]);
    expect(page).toMatchObject({ end: 14, next: null });
  });

  it("read to its end with room left: no time (nothing swept above); a full page: now (go on)", () => {
    expect(sweepPage(cursor, [], NOW, 100)).toMatchObject({ end: 10, next: null, due: [] });
    const full = sweepPage(cursor, [finished(11, NOW - 70_000), finished(12, NOW - 70_000)], NOW, 2);
    expect(full).toMatchObject({ end: 12, next: NOW });
    expect(full.due).toHaveLength(2);
  });
});
