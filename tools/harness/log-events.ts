// The scheduler logs what happens on its trouble paths as JSON lines with an `event` field
// (`dispatch_send_failed`, `index_write_failed`, `attempts_reported`, …). The harnesses count those by
// name; any other output line (wrangler's banner, Miniflare's queue lines, a stack trace) is not an
// event and is ignored here.

export interface LogEvent {
  event: string;
  [field: string]: unknown;
}

/**
 * The event on a line, or null. The JSON object may follow a prefix: wrangler prints a Worker's
 * console.log as is, but its console.error as `✘ [ERROR] {…}`. The line must end with the object.
 */
export function parseEvent(text: string): LogEvent | null {
  const start = text.indexOf("{");
  if (start < 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const event = (value as { event?: unknown }).event;
  return typeof event === "string" && event !== "" ? (value as LogEvent) : null;
}

/** Counts log events by name, keeping the first few lines of each as samples. */
export class EventCounter {
  readonly counts: Record<string, number> = {};
  readonly samples: Record<string, string[]> = {};

  constructor(private readonly samplesPerEvent = 3) {}

  /** Counts the line if it is an event; returns the event's name, or null for any other line. */
  add(text: string, label = ""): string | null {
    const event = parseEvent(text)?.event;
    if (event === undefined) return null;
    this.counts[event] = (this.counts[event] ?? 0) + 1;
    this.samples[event] ??= [];
    const samples = this.samples[event];
    if (samples.length < this.samplesPerEvent) samples.push(`${label}${text.slice(0, 300)}`);
    return event;
  }

  /** The counts, names in order. */
  sorted(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.counts).sort(([a], [b]) => a.localeCompare(b)));
  }
}
