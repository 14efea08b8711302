// The figures' pure core: the shared log-scale lateness buckets, percentiles from a histogram, and
// the merge of the shards' reports (src/core/lateness-histogram.ts, src/core/metrics.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { coverUsers } from "../../src/api/admin-metrics";
import {
  addHistogram,
  cumulativeBuckets,
  EXPOSED_LE_MS,
  emptyHistogram,
  LATENESS_BUCKET_UPPER_MS,
  LATENESS_BUCKETS,
  latenessBucketOf,
  percentileOf,
} from "../../src/core/lateness-histogram";
import {
  emptyMinute,
  type MinuteCounts,
  mergeShardMetrics,
  minuteOf,
  type ShardMetrics,
  WINDOW_MINUTES,
} from "../../src/core/metrics";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 30);

function histogramOf(values: number[]) {
  const h = emptyHistogram();
  for (const v of values) h[latenessBucketOf(v)] = (h[latenessBucketOf(v)] ?? 0) + 1;
  return h;
}

/** The exact nearest-rank quantile of a list of values. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

function minuteWith(minute: number, values: number[], counts: Partial<MinuteCounts["attempts"]> = {}) {
  const m = emptyMinute(minute);
  m.attempts = { ...m.attempts, succeeded: values.length, ...counts };
  m.lateness = histogramOf(values);
  m.latenessMaxMs = values.length ? Math.max(...values) : 0;
  m.latenessSumMs = values.reduce((a, b) => a + b, 0);
  return m;
}

function shard(minutes: MinuteCounts[], extra: Partial<ShardMetrics> = {}): ShardMetrics {
  return {
    now: T0,
    live: { scheduled: 0, queued: 0, running: 0, paused: 0 },
    dueNotDispatched: 0,
    minutes,
    pools: [],
    ...extra,
  };
}

describe("lateness buckets", () => {
  it("are increasing integers; a bucket's largest value is at most 1.5 times its smallest", () => {
    expect(LATENESS_BUCKET_UPPER_MS[0]).toBe(1);
    for (let k = 1; k < LATENESS_BUCKET_UPPER_MS.length; k++) {
      const [prev, cur] = [LATENESS_BUCKET_UPPER_MS[k - 1] as number, LATENESS_BUCKET_UPPER_MS[k] as number];
      expect(Number.isInteger(cur)).toBe(true);
      expect(cur).toBeGreaterThan(prev);
      // Bucket k holds the integers prev .. cur - 1.
      expect((cur - 1) / prev).toBeLessThanOrEqual(1.5);
    }
    expect(LATENESS_BUCKET_UPPER_MS.at(-1)).toBe(2 ** 27);
  });

  it("put each value in the bucket whose bounds hold it; past the last bound, the open bucket", () => {
    expect(latenessBucketOf(0)).toBe(0);
    expect(latenessBucketOf(1)).toBe(1);
    expect(latenessBucketOf(2)).toBe(2);
    expect(latenessBucketOf(3)).toBe(3);
    expect(latenessBucketOf(2 ** 27)).toBe(LATENESS_BUCKETS - 1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 27 - 1 }), (v) => {
        const k = latenessBucketOf(v);
        expect(v).toBeLessThan(LATENESS_BUCKET_UPPER_MS[k] as number);
        if (k > 0) expect(v).toBeGreaterThanOrEqual(LATENESS_BUCKET_UPPER_MS[k - 1] as number);
      }),
    );
  });
});

describe("percentileOf", () => {
  it("is null for no attempts and exact for values on bucket bounds", () => {
    expect(percentileOf(emptyHistogram(), 0.5, 0)).toBeNull();
    // 0, 1, 2 and 3 each have a bucket of their own.
    const h = histogramOf([0, 1, 2, 3]);
    expect(percentileOf(h, 0.5, 3)).toBe(1);
    expect(percentileOf(h, 0.99, 3)).toBe(3);
    expect(percentileOf(histogramOf([0, 0, 0]), 0.99, 0)).toBe(0);
  });

  it("answers at least the exact quantile, within its bucket (at most 1.5x), never above the max", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.99, 1),
        (values, q) => {
          const exact = exactQuantile(values, q);
          const max = Math.max(...values);
          const got = percentileOf(histogramOf(values), q, max) as number;
          expect(got).toBeGreaterThanOrEqual(exact);
          expect(got).toBeLessThanOrEqual(max);
          expect(latenessBucketOf(got)).toBe(latenessBucketOf(exact));
        },
      ),
    );
  });

  it("of a merged histogram equals that of all the values together (exact merge)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 100 }), {
          minLength: 1,
          maxLength: 8,
        }),
        (perShard) => {
          const all = perShard.flat();
          const merged = perShard.reduce((h, vs) => addHistogram(h, histogramOf(vs)), emptyHistogram());
          expect(merged).toEqual(histogramOf(all));
          const max = all.length ? Math.max(...all) : 0;
          for (const q of [0.5, 0.99])
            expect(percentileOf(merged, q, max)).toBe(percentileOf(histogramOf(all), q, max));
        },
      ),
    );
  });
});

describe("mergeShardMetrics", () => {
  const now = minuteOf(T0);

  it("adds the shards' counts, takes the largest max and merges the histograms exactly", () => {
    const a = shard([minuteWith(now, [5, 40, 900], { failed: 1 })], {
      live: { scheduled: 3, queued: 1, running: 2, paused: 0 },
      dueNotDispatched: 2,
      pools: [{ name: "b", capacity: 4, in_use: 1, waiting: 0 }],
    });
    const b = shard([minuteWith(now - 10, [7, 7000]), minuteWith(now, [1], { timed_out: 2 })], {
      live: { scheduled: 1, queued: 0, running: 0, paused: 1 },
      dueNotDispatched: 1,
      pools: [{ name: "a", capacity: 2, in_use: 2, waiting: 3 }],
    });
    const m = mergeShardMetrics([a, b], T0);
    expect(m.jobs).toEqual({ scheduled: 4, queued: 1, running: 2, paused: 1 });
    expect(m.due_not_dispatched).toBe(3);
    expect(m.attempts).toMatchObject({ succeeded: 6, failed: 1, timed_out: 2, total: 9 });
    expect(m.failures).toBe(3);
    const all = [5, 40, 900, 7, 7000, 1];
    expect(m.lateness_ms.count).toBe(6);
    expect(m.lateness_ms.sum).toBe(all.reduce((x, y) => x + y, 0));
    expect(m.lateness_ms.max).toBe(7000);
    expect(m.lateness_ms.p50).toBe(percentileOf(histogramOf(all), 0.5, 7000));
    expect(m.lateness_ms.p99).toBe(7000);
    expect(m.pools.map((p) => p.name)).toEqual(["a", "b"]);
    expect(m.window_seconds).toBe(3600);
    expect(m.as_of).toBe(new Date(T0).toISOString());
  });

  it("gives one entry per minute of the window, oldest first, empty minutes as zeroes", () => {
    const m = mergeShardMetrics([shard([minuteWith(now - 10, [7, 7000]), minuteWith(now, [1])])], T0);
    expect(m.per_minute).toHaveLength(WINDOW_MINUTES);
    expect(m.per_minute[0]?.minute).toBe(new Date((now - WINDOW_MINUTES + 1) * 60_000).toISOString());
    expect(m.per_minute.at(-1)?.minute).toBe(new Date(now * 60_000).toISOString());
    const tenAgo = m.per_minute[WINDOW_MINUTES - 11];
    expect(tenAgo?.attempts.succeeded).toBe(2);
    expect(tenAgo?.lateness_ms).toMatchObject({ count: 2, max: 7000, p99: 7000 });
    expect(m.per_minute[WINDOW_MINUTES - 12]?.lateness_ms).toEqual({
      count: 0,
      sum: 0,
      p50: null,
      p99: null,
      max: null,
    });
  });

  it("leaves out minutes outside the window", () => {
    const old = minuteWith(now - WINDOW_MINUTES, [3]);
    const ahead = minuteWith(now + 1, [3]);
    const m = mergeShardMetrics([shard([old, minuteWith(now - WINDOW_MINUTES + 1, [9]), ahead])], T0);
    expect(m.attempts.total).toBe(1);
    expect(m.lateness_ms.max).toBe(9);
  });

  it("of no activity is all zeroes and nulls", () => {
    const m = mergeShardMetrics([shard([])], T0);
    expect(m.attempts.total).toBe(0);
    expect(m.lateness_ms).toEqual({ count: 0, sum: 0, p50: null, p99: null, max: null });
    expect(m.jobs_finished).toEqual({ succeeded: 0, failed: 0, cancelled: 0 });
  });
});

describe("the Prometheus histogram's cumulative buckets (issue 20)", () => {
  it("count exactly the values at most each bound (2^n − 1 ms, one per doubling)", () => {
    expect(EXPOSED_LE_MS.slice(0, 5)).toEqual([0, 1, 3, 7, 15]);
    expect(EXPOSED_LE_MS.at(-1)).toBe(2 ** 27 - 1);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 28 }), { maxLength: 60 }), (values) => {
        const buckets = cumulativeBuckets(histogramOf(values));
        expect(buckets.map((b) => b.le)).toEqual(EXPOSED_LE_MS);
        for (const b of buckets) expect(b.count).toBe(values.filter((v) => v <= b.le).length);
      }),
    );
  });
});

describe("GET /v1/admin/metrics covers users within its shard-call budget", () => {
  const user = (id: string, shards: number | null) => ({ entry: id, shards });
  it("takes users in order while their shards fit, always the first, and says when it cut short", () => {
    expect(coverUsers([user("a", 200), user("b", 250), user("c", 100), user("d", 1)], 500)).toEqual({
      covered: [user("a", 200), user("b", 250)],
      cutShort: true,
    });
    expect(coverUsers([user("big", 256), null, user("x", 244)], 300)).toEqual({
      covered: [user("big", 256)],
      cutShort: true,
    });
    expect(coverUsers([user("huge", 600), user("y", 1)], 500).covered).toEqual([user("huge", 600)]);
    // Left-out entries (no account) cost nothing; an unreadable account costs no shard call.
    expect(coverUsers([null, user("a", 1), user("gone", null), user("b", 499)], 500)).toEqual({
      covered: [user("a", 1), user("gone", null), user("b", 499)],
      cutShort: false,
    });
  });
});
