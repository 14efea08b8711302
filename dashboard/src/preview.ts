// The next run times of a schedule, computed with the server's own schedule module (src/core/schedule,
// pure, on croner), so the preview is exactly what the shard will do.
import { cronError, firstRunAt, nextRunAt, type Recurrence } from "../../src/core/schedule";

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

/** A run time in the schedule's own zone, e.g. "Mon 2026-11-30 09:00 Europe/London". */
export function inZone(at: Date, timezone: string): string {
  const text = new Intl.DateTimeFormat("en-GB", {
    timeZone: timezone,
    weekday: "short",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(at);
  return `${text} ${timezone}`;
}
