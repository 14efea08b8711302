// When a changed job is copied to the D1 index: pure arithmetic on the shard's clock (no SQL).
//
// A change is copied within the flush delay (INDEX_FLUSH_DELAY_MS) of the first change D1 has not seen.
// The copy's time is put on a grid of half the delay, so every change of a shard made within one
// half-delay is copied by the same alarm run (one Durable Object request, one D1 statement) instead of
// an alarm run each (issue 16: 0.55 alarm runs per job went to index copies of single submits).
//
// A new job's first change is its insert: its copy time is indexCopyDue(created_at). The watermark copy
// (src/shard/sql/index-copy.ts) takes the new rows whose copy time has come as those created before
// indexCopyCutoff(now), and nextWakeAt computes the same time in SQL from indexCopyGrid.

/** The grid copies fall on: half the delay; 1 ms (no grid) for a delay under 2 ms. */
export function indexCopyGrid(delayMs: number): number {
  return delayMs < 2 ? 1 : Math.floor(delayMs / 2);
}

/**
 * The time a change at `now` is copied: floor((now + delay) / grid) × grid with grid = delay / 2, so it
 * lies in (now + delay / 2, now + delay]. A delay under 2 ms has no grid: now + delay.
 */
export function indexCopyDue(now: number, delayMs: number): number {
  if (delayMs < 2) return now + delayMs;
  const grid = indexCopyGrid(delayMs);
  return Math.floor((now + delayMs) / grid) * grid;
}

/**
 * The first change time whose copy is not due at `now`: for integer times c (milliseconds),
 * indexCopyDue(c) ≤ now exactly when c < indexCopyCutoff(now). With g the grid and d the delay,
 * floor((c + d) / g) × g ≤ now ⇔ floor((c + d) / g) ≤ floor(now / g) ⇔ c + d < (floor(now / g) + 1) × g.
 * (For d < 2, g = 1 and this is c + d ≤ now.)
 */
export function indexCopyCutoff(now: number, delayMs: number): number {
  const grid = indexCopyGrid(delayMs);
  return (Math.floor(now / grid) + 1) * grid - delayMs;
}
