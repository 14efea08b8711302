// When a changed job is copied to the D1 index: pure arithmetic on the shard's clock (no SQL).
//
// A change is copied within the flush delay (INDEX_FLUSH_DELAY_MS) of the first change D1 has not seen.
// The copy's time is put on a grid of half the delay, so every change of a shard made within one
// half-delay is copied by the same alarm run (one Durable Object request, one D1 statement) instead of
// an alarm run each (issue 16: 0.55 alarm runs per job went to index copies of single submits).

/**
 * The time a change at `now` is copied: floor((now + delay) / grid) × grid with grid = delay / 2, so it
 * lies in (now + delay / 2, now + delay]. A delay under 2 ms has no grid: now + delay.
 */
export function indexCopyDue(now: number, delayMs: number): number {
  if (delayMs < 2) return now + delayMs;
  const grid = Math.floor(delayMs / 2);
  return Math.floor((now + delayMs) / grid) * grid;
}
