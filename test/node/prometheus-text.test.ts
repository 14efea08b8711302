// The Prometheus text of GET /v1/metrics and GET /v1/admin/metrics is valid: `promtool check metrics`
// (Prometheus's own linter and parser; Debian's `prometheus` package) passes on both when promtool is
// installed, and the independent strict reader (test/support/prometheus-text.ts) always checks them.
// The texts are rendered by the routes' own pure functions (src/core/metrics-text.ts) from figures
// merged as the routes merge them; test/integration/admin-metrics.test.ts checks that the routes'
// answers are exactly these renderings, and that their counters never go down.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { emptyHistogram, latenessBucketOf } from "../../src/core/lateness-histogram";
import { emptyMinute, type MinuteCounts, mergeShardMetrics, type ShardMetrics } from "../../src/core/metrics";
import { adminMetricsText, metricsText } from "../../src/core/metrics-text";
import { parsePrometheusText } from "../support/prometheus-text";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const minuteNow = Math.floor(NOW / 60_000);

function minute(minuteOffset: number, lateness: number[], failed = 0): MinuteCounts {
  const m = emptyMinute(minuteNow - minuteOffset);
  m.attempts.succeeded = lateness.length;
  m.attempts.failed = failed;
  m.finished.succeeded = lateness.length;
  m.finished.failed = failed;
  m.lateness = emptyHistogram();
  for (const l of lateness) m.lateness[latenessBucketOf(l)] = (m.lateness[latenessBucketOf(l)] ?? 0) + 1;
  m.latenessSumMs = lateness.reduce((a, b) => a + b, 0);
  m.latenessMaxMs = Math.max(0, ...lateness);
  return m;
}

function shard(minutes: MinuteCounts[], pools: ShardMetrics["pools"] = []): ShardMetrics {
  const totals = emptyMinute(0);
  for (const m of minutes) {
    for (const k of Object.keys(m.attempts) as (keyof typeof m.attempts)[])
      totals.attempts[k] += m.attempts[k];
    for (const k of Object.keys(m.finished) as (keyof typeof m.finished)[])
      totals.finished[k] += m.finished[k];
    totals.latenessSumMs += m.latenessSumMs;
    m.lateness.forEach((n, k) => {
      totals.lateness[k] = (totals.lateness[k] ?? 0) + n;
    });
  }
  const { minute: _, ...counts } = totals;
  return {
    now: NOW,
    live: { scheduled: 3, queued: 1, running: 2, paused: 0 },
    dueNotDispatched: 1,
    minutes,
    totals: counts,
    pools,
  };
}

const userText = metricsText(
  mergeShardMetrics(
    [
      shard(
        [minute(3, [0, 5, 1_500, 90_000], 2), minute(0, [12])],
        [
          { name: "gpu", capacity: 4, in_use: 1, waiting: 2 },
          { name: 'odd "name"\\', capacity: 1, in_use: 0, waiting: 0 },
        ],
      ),
      shard([minute(1, [40_000_000, 200_000_000])]),
    ],
    NOW,
  ),
);
const adminText = adminMetricsText(
  [
    {
      userId: "usr_a",
      metrics: mergeShardMetrics(
        [shard([minute(2, [3, 4])], [{ name: "gpu", capacity: 2, in_use: 2, waiting: 0 }])],
        NOW,
      ),
    },
    { userId: "usr_b", metrics: mergeShardMetrics([shard([]), shard([minute(5, [700], 1)])], NOW) },
    { userId: "usr_idle", metrics: mergeShardMetrics([shard([])], NOW) },
  ],
  1,
);

const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
const hasPromtool = promtool.status === 0;

describe("the Prometheus text is valid", () => {
  it.runIf(hasPromtool)("promtool check metrics passes on the user's and the admin's text", () => {
    // An admin page with no user answering: families without samples, still valid.
    for (const text of [userText, adminText, adminMetricsText([], 0)]) {
      const checked = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      expect(`${checked.stdout}${checked.stderr}`, text).toBe("");
      expect(checked.status).toBe(0);
    }
  });

  it("the strict reader accepts both: counters, a cumulative histogram, gauges", () => {
    for (const text of [userText, adminText]) {
      const families = parsePrometheusText(text);
      expect(families.get("scheduler_attempts_total")?.type).toBe("counter");
      expect(families.get("scheduler_jobs_finished_total")?.type).toBe("counter");
      expect(families.get("scheduler_lateness_seconds")?.type).toBe("histogram");
      expect(families.get("scheduler_jobs")?.type).toBe("gauge");
    }
    const admin = parsePrometheusText(adminText);
    // Every admin series names its user; the histogram's `le` comes after it.
    for (const f of admin.values())
      for (const s of f.samples)
        if (!f.name.startsWith("scheduler_admin_")) expect(s.labels.user_id).toBeDefined();
    expect(adminText).toContain('scheduler_lateness_seconds_bucket{user_id="usr_a",le="0.003"} 1');
    expect(adminText).toContain('scheduler_lateness_seconds_bucket{user_id="usr_a",le="0.007"} 2');
    expect(admin.get("scheduler_admin_users_unavailable")?.samples[0]?.value).toBe(1);
    const user = parsePrometheusText(userText);
    const bucket = (le: string) =>
      user
        .get("scheduler_lateness_seconds")
        ?.samples.find((s) => s.name.endsWith("_bucket") && s.labels.le === le)?.value;
    // 0, 5, 12, 1,500, 90,000, 4e7, 2e8 ms: exact cumulative counts at each bound.
    expect(bucket("0")).toBe(1);
    expect(bucket("0.007")).toBe(2);
    expect(bucket("0.015")).toBe(3);
    expect(bucket("2.047")).toBe(4);
    expect(bucket("131.071")).toBe(5);
    expect(bucket("134217.727")).toBe(6);
    expect(bucket("+Inf")).toBe(7);
  });

  it("the strict reader refuses what promtool refuses", () => {
    const bad = [
      "# HELP x_total a\n# TYPE x_total counter\nx_total -1\n",
      "# HELP x a\n# TYPE x counter\nx 1\n",
      '# HELP h a\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# HELP h a\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      "# HELP g a\n# TYPE g gauge\ng 1\ng 2\n",
    ];
    for (const text of bad) expect(() => parsePrometheusText(text), text).toThrow();
  });
});
