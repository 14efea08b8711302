// Completed attempts as the server logs them, read line by line as they arrive so that a long run keeps
// only what it needs: when, which shard, how late. The consumer logs one `attempts_reported` line per
// consumer batch per shard (`<user id>/<n>`), with each accepted attempt's lateness; it is there with
// LOG_ATTEMPTS=true as well (which adds a line per attempt, not counted here, so nothing counts twice).
// A completion's time is its line's: when its batch's last attempt on that shard was reported.
import { parseEvent } from "../../harness/log-events";
import { distribution } from "../../harness/stats";

export interface Completion {
  /** When the line arrived (epoch ms). */
  at: number;
  shard: string;
  latenessMs: number;
}

export class Completions {
  readonly all: Completion[] = [];
  /** Attempts whose report the shard refused (a duplicate or stale attempt). */
  refused = 0;

  /** Feed every server output line here. */
  add(text: string, at: number): void {
    if (!text.includes("attempts_reported")) return;
    const e = parseEvent(text);
    if (e?.event !== "attempts_reported") return;
    this.refused += Number(e.refused ?? 0);
    const shard = `${String(e.user_id)}/${String(e.shard)}`;
    const lateness = Array.isArray(e.lateness_ms) ? e.lateness_ms : [];
    for (const ms of lateness) this.all.push({ at, shard, latenessMs: Number(ms) });
  }

  get count(): number {
    return this.all.length;
  }

  /** The completions that arrived in [from, to). */
  between(from: number, to: number): Completion[] {
    return this.all.filter((c) => c.at >= from && c.at < to);
  }
}

/** Jobs per second over `seconds`, per shard: mean, least and most busy, and how many shards ran any. */
export function perShard(completions: Completion[], shards: number, seconds: number) {
  const counts = new Map<string, number>();
  for (const c of completions) counts.set(c.shard, (counts.get(c.shard) ?? 0) + 1);
  const rates = [...counts.values()].map((n) => n / seconds);
  // Shards that completed nothing in the window count as 0 for the least busy.
  const least = counts.size < shards ? 0 : Math.min(...rates);
  return {
    shards_seen: counts.size,
    mean_jobs_per_s: round2(completions.length / seconds / shards),
    min_jobs_per_s: round2(least),
    max_jobs_per_s: round2(rates.length ? Math.max(...rates) : 0),
  };
}

export const latenessOf = (completions: Completion[]) => distribution(completions.map((c) => c.latenessMs));

const round2 = (x: number) => Math.round(x * 100) / 100;
