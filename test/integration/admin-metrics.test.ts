// GET /v1/admin/metrics (issue 20): every user's figures, a directory page at a time, as JSON (merged
// exactly, with each user's headline) and as Prometheus text (each user's series labelled user_id);
// and the counters of both texts never go down between scrapes, through a roll of the minutes into
// hours and totals, so rate() works on them. Reads every user: runs in a world of its own
// (vitest.config.ts), and still looks only at its own users where others could appear.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mergeShardMetrics, type UserMetrics } from "../../src/core/metrics";
import { adminMetricsText, metricsText } from "../../src/core/metrics-text";
import {
  ADMIN,
  createUser,
  deliver,
  fireAlarm,
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

const F = Date.UTC(2030, 0, 1, 0, 0, 0);
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const TEXT = { accept: "text/plain" };

interface AdminMetrics extends Omit<UserMetrics, "pools"> {
  pools: { user_id: string; name: string; capacity: number; in_use: number; waiting: number }[];
  users: { user_id: string; name: string | null; shards: number; attempts: UserMetrics["attempts"] }[];
  unavailable: string[];
  next_cursor: string | null;
}

async function setClocks(user: TestUser, shards: number, now: number) {
  for (let n = 0; n < shards; n++)
    await runInDurableObject(shardOf(user.user_id, n), (s) => {
      s.clock = () => now;
      s.random = () => 0.5;
    });
}

/** Runs `count` noop jobs due `lateMs` before `now` on the user's shards (spread by their keys). */
async function run(user: TestUser, shards: number, now: number, count: number, lateMs: number, tag: string) {
  for (let i = 0; i < count; i++)
    await submit(
      user,
      { type: "noop", run_at: iso(now - lateMs * (i + 1)) },
      { "Idempotency-Key": `${tag}${i}` },
    );
  for (let n = 0; n < shards; n++) await deliver(await fireAlarm(user.user_id, n));
}

async function adminJson(query = ""): Promise<AdminMetrics> {
  const res = await request(`/v1/admin/metrics${query}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json()) as AdminMetrics;
}

async function scrape(path: string, headers: Record<string, string>): Promise<string> {
  const res = await request(path, { headers: { ...headers, ...TEXT } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return res.text();
}

/** Every counter and histogram-bucket series of a text, by name and labels. */
function monotonicSeries(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of parsePrometheusText(text).values()) {
    if (f.type !== "counter" && f.type !== "histogram") continue;
    for (const s of f.samples) {
      if (f.type === "histogram" && !s.name.endsWith("_bucket") && !s.name.endsWith("_count")) continue;
      out.set(`${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`, s.value);
    }
  }
  return out;
}

function expectNonDecreasing(before: Map<string, number>, after: Map<string, number>) {
  expect(before.size).toBeGreaterThan(0);
  for (const [series, value] of before) {
    expect(after.has(series), series).toBe(true);
    expect(after.get(series), series).toBeGreaterThanOrEqual(value);
  }
}

describe("GET /v1/admin/metrics", () => {
  it("merges every user's figures exactly and lists each user's headline; the text labels each user", async () => {
    const a = await createUser("ada");
    const b = await createUser("bob");
    await growShards(b, 2);
    await setClocks(a, 1, F);
    await setClocks(b, 2, F);
    await run(a, 1, F, 2, 10, "a");
    await run(b, 2, F, 3, 2_000, "b");
    const res = await request("/v1/pools/gpu", { method: "PUT", headers: a.auth, json: { capacity: 2 } });
    expect(res.status).toBe(200);

    const m = await adminJson();
    const line = (u: TestUser) => m.users.find((l) => l.user_id === u.user_id);
    expect(line(a)).toMatchObject({ name: "ada", shards: 1, attempts: { succeeded: 2, total: 2 } });
    expect(line(b)).toMatchObject({ name: "bob", shards: 2, attempts: { succeeded: 3, total: 3 } });
    // The merged figures are those of the users listed: counts add.
    expect(m.attempts.total).toBe(m.users.reduce((n, u) => n + u.attempts.total, 0));
    expect(m.totals.attempts.succeeded).toBeGreaterThanOrEqual(5);
    expect(m.pools).toContainEqual({ user_id: a.user_id, name: "gpu", capacity: 2, in_use: 0, waiting: 0 });
    expect(m.unavailable).toEqual([]);
    expect(m.per_minute).toHaveLength(60);

    // The text is the users' figures, each labelled with its user, as the pure renderer writes them.
    const text = await scrape("/v1/admin/metrics", ADMIN);
    const families = parsePrometheusText(text);
    const value = (name: string, labels: Record<string, string>) =>
      [...families.values()]
        .flatMap((f) => f.samples)
        .find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value("scheduler_attempts_total", { user_id: a.user_id, outcome: "succeeded" })).toBe(2);
    expect(value("scheduler_attempts_total", { user_id: b.user_id, outcome: "succeeded" })).toBe(3);
    expect(value("scheduler_lateness_seconds_count", { user_id: b.user_id })).toBe(3);
    expect(value("scheduler_pool_capacity", { user_id: a.user_id, pool: "gpu" })).toBe(2);
    expect(value("scheduler_admin_users_unavailable", {})).toBe(0);
    const userParts = await Promise.all([0, 1].map((n) => shardOf(b.user_id, n).metrics()));
    const bText = metricsText(mergeShardMetrics(userParts, F));
    expect(await scrape("/v1/metrics", b.auth)).toBe(bText);
    expect(adminMetricsText([{ userId: b.user_id, metrics: mergeShardMetrics(userParts, F) }], 0)).toContain(
      `scheduler_attempts_total{user_id="${b.user_id}",outcome="succeeded"} 3`,
    );

    // With a range, the series over every user.
    const week = await adminJson("?range=7d");
    expect(week.series?.points).toHaveLength(168);
    expect(week.series?.points.at(-1)?.attempts.succeeded).toBeGreaterThanOrEqual(5);
  });

  it("pages through the directory: limit users at a time, next_cursor (X-Next-Cursor in the text)", async () => {
    const made = [await createUser("p1"), await createUser("p2"), await createUser("p3")];
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: AdminMetrics = await adminJson(
        `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(p.users.length).toBeLessThanOrEqual(2);
      seen.push(...p.users.map((u) => u.user_id));
      cursor = p.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(new Set(seen).size).toBe(seen.length);
    for (const u of made) expect(seen).toContain(u.user_id);
    const res = await request("/v1/admin/metrics?limit=1", { headers: { ...ADMIN, ...TEXT } });
    expect(res.headers.get("x-next-cursor")).toBeTruthy();
    const bad = await request("/v1/admin/metrics?cursor=nope", { headers: ADMIN });
    expect(bad.status).toBe(400);
  });

  it("needs the admin token: none or a user's key is a 401", async () => {
    const user = await createUser();
    for (const headers of [{}, user.auth]) {
      expect((await request("/v1/admin/metrics", { headers })).status).toBe(401);
    }
  });
});

describe("counters are monotonic across scrapes (rate() works)", () => {
  it("every _total and _bucket series of the user's and the admin's text only grows, through the window and a roll", async () => {
    const user = await createUser("mono");
    await growShards(user, 2);
    await setClocks(user, 2, F);
    await run(user, 2, F, 4, 300, "m1");
    const userBefore = monotonicSeries(await scrape("/v1/metrics", user.auth));
    const adminBefore = monotonicSeries(await scrape("/v1/admin/metrics", ADMIN));

    // More attempts, one failing, in a later minute.
    await setClocks(user, 2, F + 10 * MINUTE);
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("no", { status: 500 }));
    await submit(user, {
      type: "http",
      payload: { url: "http://127.0.0.1:9/hook" },
      run_at: iso(F + 10 * MINUTE - 50),
      max_retries: 0,
    });
    await run(user, 2, F + 10 * MINUTE, 3, 90_000, "m2");
    const userMid = monotonicSeries(await scrape("/v1/metrics", user.auth));
    expectNonDecreasing(userBefore, userMid);
    expectNonDecreasing(adminBefore, monotonicSeries(await scrape("/v1/admin/metrics", ADMIN)));
    expect(
      [...userMid.entries()].find(
        ([k]) => k.includes('"failed"') && k.startsWith("scheduler_attempts_total"),
      )?.[1],
    ).toBe(1);

    // Three hours on: the window is empty, the alarms roll every minute into hours and totals.
    await setClocks(user, 2, F + 180 * MINUTE);
    for (let n = 0; n < 2; n++) {
      await runDurableObjectAlarm(shardOf(user.user_id, n));
      const left = await runInDurableObject(shardOf(user.user_id, n), (_s, state) =>
        state.storage.sql.exec<{ n: number }>("select count(*) as n from metric_minutes").one(),
      );
      expect(left.n).toBe(0);
    }
    const rolled = await request("/v1/metrics", { headers: user.auth });
    expect(((await rolled.json()) as UserMetrics).attempts.total).toBe(0);
    const userAfter = monotonicSeries(await scrape("/v1/metrics", user.auth));
    expect(userAfter).toEqual(userMid);
    expectNonDecreasing(adminBefore, monotonicSeries(await scrape("/v1/admin/metrics", ADMIN)));
  });
});
