// GET /v1/metrics (issue 11): per-minute counters on the shards, written with the attempt's end,
// rolled and pruned by the injected clock, merged exactly across a user's shards, as JSON and as
// Prometheus text.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { emptyHistogram, latenessBucketOf, percentileOf } from "../../src/core/lateness-histogram";
import { mergeShardMetrics, type UserMetrics } from "../../src/core/metrics";
import { operationTotals, resetOperationTotals, sumOperations } from "../../src/metering/operations";
import {
  ADMIN,
  createUser,
  deliver,
  fireAlarm,
  getJob,
  growShards,
  request,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";
import { parsePrometheusText } from "../support/prometheus-text";

afterEach(() => {
  vi.restoreAllMocks();
});

// Minute-aligned, ahead of the real clock: jobs due at F − L begin at the shard's F exactly L late.
const F = Date.UTC(2030, 0, 1, 0, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function setClock(userId: string, n: number, now: number) {
  return runInDurableObject(shardOf(userId, n), (s) => {
    s.clock = () => now;
    s.random = () => 0.5;
  });
}

async function putPool(user: TestUser, name: string, capacity: number) {
  const res = await request(`/v1/pools/${name}`, { method: "PUT", headers: user.auth, json: { capacity } });
  expect(res.status).toBe(200);
}

async function metricsOf(user: TestUser, range?: string): Promise<UserMetrics> {
  const res = await request(`/v1/metrics${range ? `?range=${range}` : ""}`, { headers: user.auth });
  expect(res.status).toBe(200);
  return (await res.json()) as UserMetrics;
}

function histogramOf(values: number[]) {
  const h = emptyHistogram();
  for (const v of values) h[latenessBucketOf(v)] = (h[latenessBucketOf(v)] ?? 0) + 1;
  return h;
}

const minuteRows = (userId: string, n = 0) =>
  runInDurableObject(shardOf(userId, n), (_s, state) =>
    state.storage.sql.exec<{ minute: number }>("select minute from metric_minutes order by minute").toArray(),
  );

const hourRows = (userId: string, n = 0) =>
  runInDurableObject(shardOf(userId, n), (_s, state) =>
    state.storage.sql
      .exec<{ hour: number; succeeded: number }>("select hour, succeeded from metric_hours order by hour")
      .toArray(),
  );

describe("GET /v1/metrics", () => {
  it("counts each attempt's outcome and lateness in its minute, with jobs by status, due jobs and pools", async () => {
    const user = await createUser();
    await putPool(user, "p", 2);
    await setClock(user.user_id, 0, F);
    const late = [0, 3, 100, 2_500, 90_000];
    for (const l of late) await submit(user, { type: "noop", run_at: iso(F - l) });
    const failing = (
      await submit(user, {
        type: "http",
        payload: { url: "http://127.0.0.1:9/hook" },
        run_at: iso(F - 10),
        max_retries: 0,
      })
    ).body;
    const hanging = (await submit(user, { type: "noop", run_at: iso(F), max_retries: 0 })).body;
    const cancelled = (await submit(user, { type: "noop", run_at: iso(F) })).body;

    const sent = await fireAlarm(user.user_id, 0);
    expect(sent).toHaveLength(8);
    const shard = shardOf(user.user_id);
    const attemptOf = (id: string) => sent.find((m) => m.job_id === id)?.attempt ?? 0;
    // Begun and never reported (its consumer died), and begun then cancelled by the user.
    expect((await shard.begin(hanging.id, attemptOf(hanging.id))).ok).toBe(true);
    expect((await shard.begin(cancelled.id, attemptOf(cancelled.id))).ok).toBe(true);
    expect((await request(`/v1/jobs/${cancelled.id}`, { method: "DELETE", headers: user.auth })).status).toBe(
      200,
    );
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("no", { status: 500 }));
    await deliver(sent.filter((m) => m.job_id !== hanging.id && m.job_id !== cancelled.id));

    // 40 s on, still minute F: the alarm gives the hanging attempt up (heartbeats stopped at 30 s).
    await setClock(user.user_id, 0, F + 40_000);
    await submit(user, { type: "noop", run_at: iso(F + 30_000), resources: { p: 1 } });
    expect((await fireAlarm(user.user_id, 0)).length).toBe(1);
    // After the last alarm: two for later, one due and not dispatched (a keyed job: only the alarm's
    // claim sends one, so its submit did not).
    await submit(user, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
    await submit(user, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
    await submit(user, { type: "noop", run_at: iso(F), flow_control: { key: "k", concurrency: 5 } });

    const m = await metricsOf(user);
    expect(m.jobs).toEqual({ scheduled: 3, queued: 1, running: 0, paused: 0 });
    expect(m.due_not_dispatched).toBe(1);
    expect(m.jobs_finished).toEqual({ succeeded: 5, failed: 2, cancelled: 1 });
    expect(m.attempts).toEqual({ succeeded: 5, failed: 1, timed_out: 1, cancelled: 1, expired: 0, total: 8 });
    expect(m.failures).toBe(2);
    const all = [...late, 10, 0, 0];
    expect(m.lateness_ms).toEqual({
      count: 8,
      sum: all.reduce((a, b) => a + b, 0),
      p50: percentileOf(histogramOf(all), 0.5, 90_000),
      p99: 90_000,
      max: 90_000,
    });
    expect(m.pools).toEqual([{ name: "p", capacity: 2, in_use: 1, waiting: 0 }]);
    expect((await getJob(user, failing.id)).status).toBe("failed");
    expect(m.as_of).toBe(iso(F + 40_000));
    const current = m.per_minute.at(-1);
    expect(current?.minute).toBe(iso(F));
    expect(current?.attempts.succeeded).toBe(5);
    expect(m.per_minute.slice(0, -1).every((e) => e.lateness_ms.count === 0)).toBe(true);
  });

  it("rolls: a minute leaves the window after an hour, its hour keeps it 7 days, the totals for good", async () => {
    const user = await createUser();
    await setClock(user.user_id, 0, F);
    await submit(user, { type: "noop", run_at: iso(F - 700) });
    await deliver(await fireAlarm(user.user_id, 0));
    // Next minute, another attempt: two minutes with counts.
    await setClock(user.user_id, 0, F + MINUTE);
    await submit(user, { type: "noop", run_at: iso(F + MINUTE - 5) });
    await deliver(await fireAlarm(user.user_id, 0));
    expect((await minuteRows(user.user_id)).length).toBe(2);

    // The last second in which minute F is in the window, then the first in which it is not.
    await setClock(user.user_id, 0, F + 60 * MINUTE - 1);
    expect((await metricsOf(user)).attempts.total).toBe(2);
    await setClock(user.user_id, 0, F + 60 * MINUTE);
    const rolled = await metricsOf(user);
    expect(rolled.attempts.total).toBe(1);
    expect(rolled.lateness_ms.max).toBe(5);
    expect(rolled.per_minute[0]?.minute).toBe(iso(F + MINUTE));
    // Counted since the shard started: both, whatever the window holds.
    expect(rolled.totals.attempts.succeeded).toBe(2);
    // The window starts in hour F still: its minutes stay rows of their own.
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await minuteRows(user.user_id)).length).toBe(2);

    // Two hours on, the window starts in the next hour: hour F's minutes are rolled into its row and
    // into the totals, in the alarm's step that deletes them.
    await setClock(user.user_id, 0, F + 120 * MINUTE);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await minuteRows(user.user_id)).toEqual([]);
    expect(await hourRows(user.user_id)).toEqual([{ hour: F / HOUR, succeeded: 2 }]);
    const later = await metricsOf(user, "24h");
    expect(later.attempts.total).toBe(0);
    expect(later.totals.attempts).toMatchObject({ succeeded: 2 });
    expect(later.totals.lateness_ms).toMatchObject({ count: 2, sum: 705 });
    expect(later.series?.step_seconds).toBe(3600);
    expect(later.series?.points).toHaveLength(24);
    expect(later.series?.points.at(-3)).toMatchObject({ start: iso(F), attempts: { succeeded: 2 } });
    expect(later.series?.points.at(-3)?.lateness_ms).toMatchObject({ count: 2, max: 700 });

    // A new attempt starts a fresh minute; the totals add it.
    await submit(user, { type: "noop", run_at: iso(F + 120 * MINUTE) });
    await deliver(await fireAlarm(user.user_id, 0));
    expect(await minuteRows(user.user_id)).toEqual([{ minute: (F + 120 * MINUTE) / MINUTE }]);
    const fresh = await metricsOf(user, "7d");
    expect(fresh.attempts).toMatchObject({ succeeded: 1, total: 1 });
    expect(fresh.totals.attempts.succeeded).toBe(3);
    expect(fresh.series?.points).toHaveLength(168);
    expect(fresh.series?.points.at(-1)).toMatchObject({
      start: iso(F + 120 * MINUTE),
      attempts: { succeeded: 1 },
    });

    // Past 7 days: hour F is pruned, the minute goes to the totals alone; nothing is lost from them.
    await setClock(user.user_id, 0, F + 7 * DAY + 3 * HOUR);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await minuteRows(user.user_id)).toEqual([]);
    expect(await hourRows(user.user_id)).toEqual([]);
    const week = await metricsOf(user, "7d");
    expect(week.totals.attempts.succeeded).toBe(3);
    expect(week.series?.points.every((p) => p.attempts.succeeded === 0)).toBe(true);
  });

  it("a roll writes one row per minute rolled, plus its hour's row and the totals' row: none per job", async () => {
    const user = await createUser();
    for (const [i, offset] of [0, 7, 31].entries()) {
      const at = F + offset * MINUTE;
      await setClock(user.user_id, 0, at);
      for (let j = 0; j < 4; j++) await submit(user, { type: "noop", run_at: iso(at - 10 * (i + j)) });
      await deliver(await fireAlarm(user.user_id, 0));
    }
    // Everything else the shard had to do (index copies) done before the roll.
    await setClock(user.user_id, 0, F + 59 * MINUTE);
    await runDurableObjectAlarm(shardOf(user.user_id));
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await minuteRows(user.user_id)).length).toBe(3);
    await setClock(user.user_id, 0, F + 120 * MINUTE);
    resetOperationTotals();
    await runDurableObjectAlarm(shardOf(user.user_id));
    const counted = sumOperations(operationTotals());
    console.log("the roll of 3 minutes (12 jobs) into one hour", JSON.stringify(counted));
    // 3 minute rows deleted, hour F's row, the totals' row.
    expect(counted.sqlRowsWritten).toBe(3 + 1 + 1);
    expect(await hourRows(user.user_id)).toEqual([{ hour: F / HOUR, succeeded: 12 }]);
    expect((await metricsOf(user)).totals.attempts.succeeded).toBe(12);
  });

  it("series: per minute over 1h; a bad range is a 400", async () => {
    const user = await createUser();
    await setClock(user.user_id, 0, F + 5 * MINUTE);
    await submit(user, { type: "noop", run_at: iso(F + 5 * MINUTE - 40) });
    await deliver(await fireAlarm(user.user_id, 0));
    const m = await metricsOf(user, "1h");
    expect(m.series?.step_seconds).toBe(60);
    expect(m.series?.points).toHaveLength(60);
    expect(m.series?.points.at(-1)).toMatchObject({
      start: iso(F + 5 * MINUTE),
      attempts: { succeeded: 1 },
      jobs_finished: { succeeded: 1 },
    });
    // Without a range: no series, the answer as before.
    expect((await metricsOf(user)).series).toBeUndefined();
    const bad = await request("/v1/metrics?range=2h", { headers: user.auth });
    expect(bad.status).toBe(400);
  });

  it("merges a user's shards exactly: counts add, percentiles are those of every attempt together", async () => {
    const user = await createUser();
    const shards = 3;
    await growShards(user, shards);
    for (let n = 0; n < shards; n++) await setClock(user.user_id, n, F);
    // Idempotency keys route by their hash, so the spread is the same on every run.
    const perShard = new Map<number, number[]>();
    for (let i = 0; i < 30; i++) {
      const lateness = (i * 7919) % 200_000;
      const { body } = await submit(
        user,
        { type: "noop", run_at: iso(F - lateness) },
        { "Idempotency-Key": `k${i}` },
      );
      const n = Number(body.id.split("_")[1]);
      perShard.set(n, [...(perShard.get(n) ?? []), lateness]);
    }
    expect(perShard.size).toBe(shards);
    for (let n = 0; n < shards; n++) await deliver(await fireAlarm(user.user_id, n));

    const m = await metricsOf(user);
    const all = [...perShard.values()].flat();
    const max = Math.max(...all);
    expect(m.attempts.succeeded).toBe(30);
    expect(m.jobs_finished.succeeded).toBe(30);
    expect(m.lateness_ms).toEqual({
      count: 30,
      sum: all.reduce((a, b) => a + b, 0),
      p50: percentileOf(histogramOf(all), 0.5, max),
      p99: percentileOf(histogramOf(all), 0.99, max),
      max,
    });
    // The route's answer is the pure merge of the shards' own reports.
    const parts = await Promise.all(
      Array.from({ length: shards }, (_, n) => shardOf(user.user_id, n).metrics()),
    );
    expect(m).toEqual(mergeShardMetrics(parts, F));
  });

  it("answers the Prometheus text format to Accept: text/plain", async () => {
    const user = await createUser();
    await putPool(user, "gpu", 3);
    await setClock(user.user_id, 0, F);
    await submit(user, { type: "noop", run_at: iso(F - 1_500) });
    await submit(user, { type: "noop", run_at: iso(F - 20) });
    await deliver(await fireAlarm(user.user_id, 0));
    await submit(user, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
    // A Prometheus scraper's Accept header.
    const accept =
      "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
    const res = await request("/v1/metrics", { headers: { ...user.auth, accept } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusText(await res.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      [...families.values()]
        .flatMap((f) => f.samples)
        .find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(families.get("scheduler_jobs")?.type).toBe("gauge");
    expect(value("scheduler_jobs", { status: "scheduled" })).toBe(1);
    expect(families.get("scheduler_attempts_total")?.type).toBe("counter");
    expect(value("scheduler_attempts_total", { outcome: "succeeded" })).toBe(2);
    expect(value("scheduler_attempts_total", { outcome: "failed" })).toBe(0);
    expect(value("scheduler_jobs_finished_total", { status: "succeeded" })).toBe(2);
    expect(families.get("scheduler_lateness_seconds")?.type).toBe("histogram");
    // Exact at each bound: 20 ms is at most 0.031 s, 1.5 s at most 2.047 s.
    expect(value("scheduler_lateness_seconds_bucket", { le: "0.015" })).toBe(0);
    expect(value("scheduler_lateness_seconds_bucket", { le: "0.031" })).toBe(1);
    expect(value("scheduler_lateness_seconds_bucket", { le: "1.023" })).toBe(1);
    expect(value("scheduler_lateness_seconds_bucket", { le: "2.047" })).toBe(2);
    expect(value("scheduler_lateness_seconds_bucket", { le: "+Inf" })).toBe(2);
    expect(value("scheduler_lateness_seconds_count")).toBe(2);
    expect(value("scheduler_lateness_seconds_sum")).toBeCloseTo(1.52);
    expect(value("scheduler_pool_capacity", { pool: "gpu" })).toBe(3);
    expect(value("scheduler_due_jobs_not_dispatched")).toBe(0);
    // Nothing over a window: what goes down as minutes leave it is not in the text.
    expect([...families.keys()].filter((n) => n.includes("last_hour"))).toEqual([]);
    // JSON otherwise, and for a client that accepts anything.
    for (const other of [undefined, "*/*", "application/json", "text/html"]) {
      const r = await request("/v1/metrics", {
        headers: { ...user.auth, ...(other ? { accept: other } : {}) },
      });
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    }
  });

  it("counts an occurrence that expired before it started as outcome expired, with no lateness", async () => {
    const user = await createUser();
    await setClock(user.user_id, 0, F);
    await submit(user, { type: "noop", run_at: iso(F - 5_000), expires_after_seconds: 1 });
    expect(await fireAlarm(user.user_id, 0)).toEqual([]);
    const m = await metricsOf(user);
    expect(m.attempts).toMatchObject({ expired: 1, total: 1 });
    expect(m.failures).toBe(1);
    expect(m.jobs_finished.failed).toBe(1);
    expect(m.lateness_ms.count).toBe(0);
  });

  it("an idle user's figures are zeroes, nulls and empty minutes", async () => {
    const user = await createUser();
    const m = await metricsOf(user);
    expect(m.attempts.total).toBe(0);
    expect(m.lateness_ms).toEqual({ count: 0, sum: 0, p50: null, p99: null, max: null });
    expect(m.per_minute).toHaveLength(60);
    const text = await (
      await request("/v1/metrics", { headers: { ...user.auth, accept: "text/plain" } })
    ).text();
    const idle = parsePrometheusText(text);
    expect(idle.get("scheduler_lateness_seconds")?.samples.every((s) => s.value === 0)).toBe(true);
    expect(idle.get("scheduler_attempts_total")?.samples.every((s) => s.value === 0)).toBe(true);
    expect(m.totals.lateness_ms.buckets.every((b) => b.count === 0)).toBe(true);
  });

  it("needs a user key: none, a bad one or the admin token is a 401", async () => {
    for (const headers of [{}, { authorization: "Bearer sk_nope" }, ADMIN]) {
      const res = await request("/v1/metrics", { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
  });
});
