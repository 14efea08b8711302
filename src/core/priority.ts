// Priority with aging: among due jobs, a job's effective priority grows with its wait past run_at,
// so no due job waits forever behind a stream of higher priorities. Pure; `now` is an argument.
//
//   effective = priority + (now − run_at) / aging      (aging = PRIORITY_AGING_SECONDS, default 1 s)
//
// A job of priority p due at r therefore goes before any job of priority q > p that became due
// after r + (q − p) × aging: under any sustained stream the capacity can serve, it starts within
// (q − p) × aging plus one dispatch cycle.

export interface DueJob {
  id: string;
  priority: number;
  runAt: number;
}

/**
 * Dispatch order: higher effective priority first (with aging off, plain priority), then earlier
 * run_at, then id (total order). Compared as integers, `priority × aging_ms + wait_ms`, so exact ties stay ties (floating-point
 * division would break them by an ulp) and the order is the one SQLite uses.
 */
export function compareDue(a: DueJob, b: DueJob, now: number, agingSeconds: number): number {
  const agingMs = agingSeconds * 1000;
  const key = (j: DueJob) =>
    agingSeconds <= 0 ? j.priority : j.priority * agingMs + Math.max(0, now - j.runAt);
  const diff = key(b) - key(a);
  if (diff !== 0) return diff;
  if (a.runAt !== b.runAt) return a.runAt - b.runAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
