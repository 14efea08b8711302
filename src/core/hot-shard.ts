// When a user's shards run hot, the user gets more of them (issue 9). A shard counts the jobs it takes
// in (submits) and sends out (claims) in fixed windows; a window whose rate passes the threshold asks
// the home shard to grow the user's shard count, which doubles it up to the user's ceiling, at most
// once per cool-down. Pure: time is an argument.

export const LOAD_WINDOW_MS = 10_000;
export const GROWTH_COOLDOWN_MS = 60_000;

/** Jobs per second over the current fixed window; reports once per window when it runs hot. */
export class LoadWindow {
  private start = 0;
  private submitted = 0;
  private dispatched = 0;
  private reported = false;

  constructor(private readonly hotJobsPerSecond: number) {}

  /**
   * Counts jobs taken in or sent out at `now`. True when this window has just become hot: its submit
   * or dispatch rate, over a whole window, passes the threshold (once per window, so a hot shard asks
   * for growth at most every LOAD_WINDOW_MS).
   */
  record(kind: "submitted" | "dispatched", jobs: number, now: number): boolean {
    if (now - this.start >= LOAD_WINDOW_MS || now < this.start) {
      this.start = now;
      this.submitted = 0;
      this.dispatched = 0;
      this.reported = false;
    }
    if (kind === "submitted") this.submitted += jobs;
    else this.dispatched += jobs;
    const most = Math.max(this.submitted, this.dispatched);
    if (this.reported || most < (this.hotJobsPerSecond * LOAD_WINDOW_MS) / 1000) return false;
    this.reported = true;
    return true;
  }
}

/**
 * The shard count after a hot report: doubled, capped by the ceiling, unchanged during the cool-down
 * after the last growth (the API caches a user's shard count for seconds, so new shards take a moment
 * to receive load) or at the ceiling.
 */
export function grownShards(
  current: number,
  ceiling: number,
  lastGrownAt: number | null,
  now: number,
): number {
  if (lastGrownAt !== null && now - lastGrownAt < GROWTH_COOLDOWN_MS) return current;
  return Math.max(current, Math.min(ceiling, current * 2));
}
