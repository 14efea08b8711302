// The lateness histogram every shard keeps per minute. Its buckets are fixed and shared, so two
// shards' histograms add bucket by bucket and a percentile of the sum is exactly the percentile of
// all the attempts together, at the buckets' resolution. Pure: no runtime imports.

/**
 * Exclusive upper bounds of the buckets, in whole milliseconds: 1, then two per doubling (2^n and
 * round(2^n · √2)) up to 2^27 ms (37 h). Bucket k holds lateness in [UPPER[k-1], UPPER[k]); one more
 * bucket past the last bound holds everything later. Integer bounds keep the bucketing free of
 * floating-point edges; a bucket's largest value is at most 1.5 times its smallest, so a percentile
 * (its bucket's largest value) is at most 1.5 times the exact one.
 */
export const LATENESS_BUCKET_UPPER_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let n = 0; n <= 27; n++) {
    const low = 2 ** n;
    bounds.push(low);
    const mid = Math.round(low * Math.SQRT2);
    if (mid > low && mid < 2 * low && n < 27) bounds.push(mid);
  }
  return bounds;
})();

/** How many buckets a histogram has: one per bound, plus the open-ended last one. */
export const LATENESS_BUCKETS = LATENESS_BUCKET_UPPER_MS.length + 1;

/** A histogram: a count per bucket, index = bucket. */
export type Histogram = number[];

export function emptyHistogram(): Histogram {
  return new Array<number>(LATENESS_BUCKETS).fill(0);
}

/** The bucket `latenessMs` falls in (negative counts as 0: an attempt that began early is on time). */
export function latenessBucketOf(latenessMs: number): number {
  let lo = 0;
  let hi = LATENESS_BUCKET_UPPER_MS.length;
  // First bound strictly above the value; binary search over the sorted bounds.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((LATENESS_BUCKET_UPPER_MS[mid] as number) > latenessMs) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Adds `more` into `into`, bucket by bucket. Exact: the histograms share their buckets. */
export function addHistogram(into: Histogram, more: readonly number[]): Histogram {
  for (let k = 0; k < LATENESS_BUCKETS; k++) into[k] = (into[k] ?? 0) + (more[k] ?? 0);
  return into;
}

export function histogramCount(h: readonly number[]): number {
  return h.reduce((a, b) => a + b, 0);
}

/**
 * The q-quantile (0 < q ≤ 1) by nearest rank: the largest lateness its bucket can hold (lateness is
 * whole milliseconds, so the bound less one), never above the largest lateness seen. Null when the
 * histogram is empty.
 */
export function percentileOf(h: readonly number[], q: number, maxMs: number): number | null {
  const count = histogramCount(h);
  if (count === 0) return null;
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let k = 0; k < LATENESS_BUCKETS; k++) {
    seen += h[k] ?? 0;
    if (seen >= rank) {
      const upper = LATENESS_BUCKET_UPPER_MS[k];
      return upper === undefined ? maxMs : Math.min(upper - 1, maxMs);
    }
  }
  return maxMs;
}

/** A sparse histogram as a shard stores it: `{bucket: count}` for the buckets in use. */
export function histogramFromSparse(sparse: Record<string, number>): Histogram {
  const h = emptyHistogram();
  for (const [bucket, count] of Object.entries(sparse)) {
    const k = Number(bucket);
    if (Number.isInteger(k) && k >= 0 && k < LATENESS_BUCKETS) h[k] = (h[k] ?? 0) + count;
  }
  return h;
}

/**
 * The bounds the Prometheus histogram (and the JSON totals' `buckets`) shows, ms: one per doubling,
 * 2^n − 1 for n = 0…27 (0 ms, 1 ms, 3 ms, 7 ms … 37 h). Lateness is whole milliseconds, so "at most
 * 2^n − 1" is exactly the stored buckets below 2^n: each cumulative count is exact, not interpolated.
 * Every other stored bound (round(2^n·√2)) is left out to halve the series.
 */
export const EXPOSED_LE_MS: readonly number[] = LATENESS_BUCKET_UPPER_MS.filter(
  (u) => Number.isInteger(Math.log2(u)) && 2 ** Math.log2(u) === u,
).map((u) => u - 1);

/** The cumulative counts at EXPOSED_LE_MS: attempts whose lateness is at most `le` ms. */
export function cumulativeBuckets(h: readonly number[]): { le: number; count: number }[] {
  const out: { le: number; count: number }[] = [];
  let k = 0;
  let seen = 0;
  for (const le of EXPOSED_LE_MS) {
    // Stored bucket k holds [UPPER[k-1], UPPER[k]): all of it is ≤ le while UPPER[k] ≤ le + 1.
    while (k < LATENESS_BUCKET_UPPER_MS.length && (LATENESS_BUCKET_UPPER_MS[k] as number) <= le + 1) {
      seen += h[k] ?? 0;
      k++;
    }
    out.push({ le, count: seen });
  }
  return out;
}
