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
// Flow control (docs/design.md "Flow control per key"): a job with a key goes only while fewer than
// `concurrency` attempts of the key are claimed or running, and while the key's begins in the window
// (now - period, now] plus its claims not yet begun are fewer than `rate`; a key that admits no more
// admits no lower job of the key in the cycle. A job waiting for its pools takes no slot of its key.
// Dependencies (docs/design.md "Dependencies"): a job blocked by any (blocked_by not empty) is not due,
// whatever its run_at: it waits until the last one has succeeded.
// Expiry (docs/design.md, expires_after_seconds), when the caller gives `expiry`: a due job too late to
// start is not claimed but expired (whatever its key and pools), in the same order, and counts against
// `limit`; what that makes due (its own next occurrence, or a job that waited on it) is decided after
// it in the same cycle, in order among the jobs not decided yet: what was claimed before stays claimed.

export interface DueCandidate {
  id: string;
  status: string;
  priority: number;
  runAt: number;
  resources: Record<string, number>;
  flow?: CandidateFlow | null;
  /** The dependencies it still waits on (none: null or absent). */
  blockedBy?: readonly string[] | null;
}

export interface CandidateFlow {
  key: string;
  concurrency: number | null;
  rate: number | null;
  periodMs: number;
}

/** A key's use when the cycle starts: attempts claimed or running, those not begun, begin times. */
export interface KeyUse {
  holders: number;
  notBegun: number;
  begins: readonly number[];
}

/** What expires a late job in the cycle (the caller's model changes as it says), and which are late. */
export interface CycleExpiry {
  late(j: DueCandidate): boolean;
  expire(j: DueCandidate): void;
}

export function expectedClaimOrder(
  jobs: readonly DueCandidate[],
  caps: ReadonlyMap<string, number>,
  used: ReadonlyMap<string, number>,
  now: number,
  agingSeconds: number,
  limit: number,
  keys: ReadonlyMap<string, KeyUse> = new Map(),
  expiry?: CycleExpiry,
): string[] {
  const key = (j: DueCandidate) =>
    agingSeconds > 0 ? j.priority * agingSeconds * 1000 - j.runAt : j.priority;
  const dueNow = () =>
    jobs
      .filter((j) => j.status === "scheduled" && j.runAt <= now && (j.blockedBy?.length ?? 0) === 0)
      .filter((j) => !decided.has(j.id))
      .sort((a, b) => key(b) - key(a) || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const use = new Map(used);
  const reserved = new Set<string>();
  const keyUse = new Map([...keys].map(([k, u]) => [k, { ...u }]));
  const blocked = new Set<string>();
  const decided = new Set<string>();
  const out: string[] = [];
  let expired = 0;
  let due = dueNow();
  for (let i = 0; i < due.length; i++) {
    const j = due[i] as DueCandidate;
    if (out.length + expired >= limit) break;
    decided.add(j.id);
    if (expiry?.late(j)) {
      expiry.expire(j);
      expired += 1;
      // Whatever it made due is decided next, in order among the rest (itself again, if due again).
      decided.delete(j.id);
      due = dueNow();
      i = -1;
      continue;
    }
    const flow = j.flow;
    if (flow) {
      const u = keyUse.get(flow.key) ?? { holders: 0, notBegun: 0, begins: [] };
      const inWindow = u.begins.filter((t) => t > now - flow.periodMs).length + u.notBegun;
      const full =
        (flow.concurrency !== null && u.holders >= flow.concurrency) ||
        (flow.rate !== null && inWindow >= flow.rate);
      if (blocked.has(flow.key) || full) {
        blocked.add(flow.key);
        continue;
      }
    }
    const wants = Object.entries(j.resources);
    if (wants.some(([p, u]) => u > (caps.get(p) ?? 0))) continue;
    if (wants.every(([p, u]) => !reserved.has(p) && (use.get(p) ?? 0) + u <= (caps.get(p) ?? 0))) {
      for (const [p, u] of wants) use.set(p, (use.get(p) ?? 0) + u);
      out.push(j.id);
      if (flow) {
        const u = keyUse.get(flow.key) ?? { holders: 0, notBegun: 0, begins: [] };
        keyUse.set(flow.key, { ...u, holders: u.holders + 1, notBegun: u.notBegun + 1 });
      }
    } else {
      for (const [p] of wants) reserved.add(p);
    }
  }
  return out;
}
