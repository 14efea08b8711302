// Figures over lists of numbers, as the benchmark and the soak report them.

const ascending = (values: readonly number[]) => values.filter(Number.isFinite).sort((a, b) => a - b);

/** Nearest rank `p` (0..100) in an ascending list; null for an empty one. */
function rank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const r = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[r - 1] ?? null;
}

/** Nearest-rank percentile (p in 0..100) of the finite numbers; null when there are none. */
export const percentile = (values: readonly number[], p: number) => rank(ascending(values), p);

export const median = (values: readonly number[]) => percentile(values, 50);

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export interface Distribution {
  n: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** n, min, p50, p90, p99, max and mean (rounded) of the finite numbers in `values`. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = ascending(values);
  const r = (x: number | null) => (x === null ? null : Math.round(x));
  return {
    n: sorted.length,
    min: r(sorted[0] ?? null),
    p50: r(rank(sorted, 50)),
    p90: r(rank(sorted, 90)),
    p99: r(rank(sorted, 99)),
    max: r(sorted.at(-1) ?? null),
    mean: r(mean(sorted)),
  };
}
