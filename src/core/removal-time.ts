// When a finished job is removed: pure arithmetic on the shard's clock (no SQL).
//
// A job is kept for its retention, then removed (docs/design.md, "Retention"). Its removal time is put
// on a grid of whole seconds, a tenth of the retention (at least 1 s, at most 60 s), rounded up: never
// before the retention has run out, and at most a tenth of it (a minute at most) after. Jobs that finish
// within one grid step are removed by the same alarm run (one Durable Object request) instead of a run
// each (issue 16: a run per 7 jobs went to removals of jobs finishing a few milliseconds apart). Grid
// points are whole seconds, so they fall on the index copy's grid too (index-copy-time.ts, 1 s by
// default): a run that copies changes to the index removes what is due then as well.

/** The grid a retention's removals fall on: a tenth of it in whole seconds, within [1 s, 60 s]. */
export function removalGrid(retentionSeconds: number): number {
  return Math.min(60, Math.max(1, Math.floor(retentionSeconds / 10))) * 1000;
}

/**
 * The removal time of a job finishing at `now` (integer milliseconds) with `retentionSeconds`: the
 * first grid point at or after now + retention, so in [now + retention, now + retention + grid).
 */
export function removalTime(now: number, retentionSeconds: number): number {
  const grid = removalGrid(retentionSeconds);
  return Math.ceil((now + retentionSeconds * 1000) / grid) * grid;
}
