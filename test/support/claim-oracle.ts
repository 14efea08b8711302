// The one claim oracle of the model-based and property tests: which due jobs a dispatch cycle takes,
// in order, stated over every due job at once with no paging or scan bound (architecture.md: "Higher
// priority first", "Bounded waiting", "Strict priority per pool", "Shrinking drains"). Written from
// the documents, not from the shard's code. Pure.
//
// Order: effective priority (priority + wait / aging), compared in integers as
// `priority × aging_ms − run_at` (plain priority with aging off), then run_at, then id. A job goes
// only if every pool it names has its units free and is not reserved; a job that does not fit
// reserves the pools it names for the rest of the cycle, unless it asks more than a pool holds (or
// names no such pool): it waits for the pool to grow and holds up nobody. At most `limit` jobs.

export interface DueCandidate {
  id: string;
  status: string;
  priority: number;
  runAt: number;
  resources: Record<string, number>;
}

export function expectedClaimOrder(
  jobs: readonly DueCandidate[],
  caps: ReadonlyMap<string, number>,
  used: ReadonlyMap<string, number>,
  now: number,
  agingSeconds: number,
  limit: number,
): string[] {
  const key = (j: DueCandidate) =>
    agingSeconds > 0 ? j.priority * agingSeconds * 1000 - j.runAt : j.priority;
  const due = jobs
    .filter((j) => j.status === "scheduled" && j.runAt <= now)
    .sort((a, b) => key(b) - key(a) || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const use = new Map(used);
  const reserved = new Set<string>();
  const out: string[] = [];
  for (const j of due) {
    if (out.length >= limit) break;
    const wants = Object.entries(j.resources);
    if (wants.some(([p, u]) => u > (caps.get(p) ?? 0))) continue;
    if (wants.every(([p, u]) => !reserved.has(p) && (use.get(p) ?? 0) + u <= (caps.get(p) ?? 0))) {
      for (const [p, u] of wants) use.set(p, (use.get(p) ?? 0) + u);
      out.push(j.id);
    } else {
      for (const [p] of wants) reserved.add(p);
    }
  }
  return out;
}
