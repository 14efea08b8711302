// The next run times of a schedule, computed with the server's own schedule module (src/core/schedule,
// pure, on croner), so the preview is exactly what the shard will do.

import { cronError, firstRunAt, nextRunAt, type Recurrence } from "../../src/core/schedule";
import { formatInstant } from "./format";

export type Preview = { runs: Date[] } | { error: string };

export function previewRuns(rec: Recurrence, now: number, count = 5, runAt?: number): Preview {
  if (rec.kind === "cron") {
    const problem = cronError(rec.expression, rec.timezone);
    if (problem) return { error: problem };
  }
  try {
    const runs: Date[] = [];
    let at: number | null = firstRunAt(rec, runAt, now);
    while (at !== null && runs.length < count) {
      runs.push(new Date(at));
      // The next occurrence as if this one had just finished on time.
      at = nextRunAt(rec, at, at);
    }
    return { runs };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** A run time in the schedule's own zone, e.g. "2026-03-29 02:00:00 Europe/London" (formatInstant). */
export function inZone(at: Date, timezone: string): string {
  return formatInstant(at, timezone);
}
