// How times and durations read on the page. Every instant is shown one way, by formatInstant:
// ISO-like local time with its zone named ("2026-12-04 14:05:09 UTC+1"), and beside it how long ago
// ("3 min ago"); lists, the job page, schedule previews and charts all use it.

type Instant = Date | number | string;

const toDate = (at: Instant) => (at instanceof Date ? at : new Date(at));

/** "UTC", "UTC+1", "UTC+5:30", "UTC-3" from Intl's "GMT+05:30". */
function offsetName(longOffset: string): string {
  const m = /^GMT([+-])(\d\d):(\d\d)$/.exec(longOffset);
  if (!m) return "UTC";
  const [, sign, hh, mm] = m;
  if (hh === "00" && mm === "00") return "UTC";
  return `UTC${sign}${Number(hh)}${mm === "00" ? "" : `:${mm}`}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsOf(d: Date, timeZone: string | undefined): Record<string, string> {
  const key = timeZone ?? "";
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
    formatters.set(key, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(d)) parts[p.type] = p.value;
  return parts;
}

/**
 * "2026-12-04 14:05:09 UTC+1": the instant in the browser's zone, named by its offset; with a
 * `timeZone` (a schedule's), in that zone and named by it ("2026-03-29 02:00:00 Europe/London").
 */
export function formatInstant(at: Instant, timeZone?: string): string {
  const d = toDate(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const p = partsOf(d, timeZone);
  const zone = timeZone ?? offsetName(p.timeZoneName ?? "");
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${zone}`;
}

/** "14:05" in the browser's zone: a chart's ticks (the axis names the zone: localZoneName). */
export function clockTime(at: Instant): string {
  const p = partsOf(toDate(at), undefined);
  return `${p.hour}:${p.minute}`;
}

/** "12-04 14:05" in the browser's zone: a chart's ticks over days. */
export function dayAndTime(at: Instant): string {
  const p = partsOf(toDate(at), undefined);
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** The browser's zone now, as formatInstant names it ("UTC+1"). */
export function localZoneName(now: Instant = Date.now()): string {
  return offsetName(partsOf(toDate(now), undefined).timeZoneName ?? "");
}

/** "just now", "3 min ago", "in 2 h", "5 d ago". */
export function relativeTime(at: Instant, now: number = Date.now()): string {
  const d = toDate(at);
  if (Number.isNaN(d.getTime())) return "";
  const diff = d.getTime() - now;
  const abs = Math.abs(diff);
  if (abs < 5_000) return "just now";
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (Math.abs(ms) < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** Milliseconds between two RFC 3339 instants, or null when either is missing. */
export function between(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  return new Date(to).getTime() - new Date(from).getTime();
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
