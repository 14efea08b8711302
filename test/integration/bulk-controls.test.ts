// POST /v1/jobs/cancel and POST /v1/jobs/retry: filters applied on the user's shards, exact counts,
// idempotent, and never reaching another user's jobs.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { forgetVerifiedKeys } from "../../src/api/auth";
import { BULK_BATCH } from "../../src/shard/sql/bulk";
import {
  ALL_ATTEMPTS,
  adminPatchUser,
  createUser,
  env,
  failingD1,
  fireAlarm,
  getJob,
  growShards,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

async function bulk(user: TestUser, action: "cancel" | "retry", filter: unknown, bindings = env) {
  const res = await request(
    `/v1/jobs/${action}`,
    { method: "POST", headers: user.auth, json: filter },
    bindings,
  );
  return { status: res.status, body: (await res.json()) as { matched: number; error?: { code: string } } };
}

/** Submits `n` noop jobs due in an hour, labelled `labels`, through the batch route. */
async function submitMany(user: TestUser, n: number, labels: Record<string, string>) {
  const later = new Date(Date.now() + 3_600_000).toISOString();
  for (let i = 0; i < n; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, n - i) }, () => ({
      type: "noop",
      labels,
      run_at: later,
    }));
    const res = await request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: { jobs } });
    expect(res.status).toBe(201);
  }
}

/** What holdBetweenSteps leaves on the shard: the held pause, reached and released in its own context. */
interface Held {
  parked: Promise<void>;
  release: () => void;
}

/**
 * Replaces the shard's pause between bulk steps: `hold(k)` says whether the k-th pause (from 1) waits
 * until `release()`. `parked` resolves when the shard is at a held pause, or with "answered" when
 * `answered` (the bulk request) settles first. The promises live in the shard's own context (a
 * promise settled from the test's context would move the shard's I/O into it).
 */
async function holdBetweenSteps(user: TestUser, hold: (k: number) => boolean) {
  await inShard(user.user_id, (s) => {
    let k = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let reached!: () => void;
    const parked = new Promise<void>((r) => {
      reached = r;
    });
    Object.assign(s, { held: { parked, release } satisfies Held });
    s.bulk.betweenSteps = () => {
      k += 1;
      if (!hold(k)) return Promise.resolve();
      reached();
      return gate;
    };
  });
  const held = (s: object) => (s as { held: Held }).held;
  return {
    parked: (answered: Promise<unknown> | Response) =>
      Promise.race([
        inShard(user.user_id, (s) => held(s).parked).then(() => "between steps"),
        Promise.resolve(answered).then(() => "answered"),
      ]),
    release: () => inShard(user.user_id, (s) => held(s).release()),
  };
}

async function setMaxUnfinished(user: TestUser, max: number) {
  expect((await adminPatchUser(user, { max_unfinished_jobs: max })).status).toBe(200);
  forgetVerifiedKeys();
}

const statuses = (user: TestUser) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ status: string; n: number }>(
        "select status, count(*) as n from jobs group by status order by status",
      )
      .toArray(),
  );

describe("POST /v1/jobs/cancel", () => {
  it("cancels exactly the matching unfinished jobs, and matches 0 when repeated", async () => {
    const user = await createUser();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const a = (await submit(user, { type: "noop", name: "nightly-a", labels: { team: "x" }, run_at: later }))
      .body;
    const b = (
      await submit(user, { type: "noop", name: "nightly-b", labels: { team: "x", env: "p" }, run_at: later })
    ).body;
    const c = (await submit(user, { type: "noop", name: "hourly", labels: { team: "x" }, run_at: later }))
      .body;
    const d = (await submit(user, { type: "noop", name: "nightly-d", labels: { team: "y" }, run_at: later }))
      .body;
    const first = await bulk(user, "cancel", { name: "nightly", labels: { team: "x" } });
    expect(first).toEqual({ status: 200, body: { matched: 2 } });
    expect((await getJob(user, a.id)).status).toBe("cancelled");
    expect((await getJob(user, b.id)).status).toBe("cancelled");
    expect((await getJob(user, c.id)).status).toBe("scheduled");
    expect((await getJob(user, d.id)).status).toBe("scheduled");
    expect((await bulk(user, "cancel", { name: "nightly", labels: { team: "x" } })).body.matched).toBe(0);
    expect((await bulk(user, "cancel", { ids: [c.id, d.id, a.id] })).body.matched).toBe(2);
  });

  it("works from the shards while the D1 index is down, and cancels queued and running jobs too", async () => {
    const user = await createUser();
    const queued = (await submit(user, { type: "noop" })).body;
    const running = (await submit(user, { type: "noop" })).body;
    await fireAlarm(user.user_id);
    await shardOf(user.user_id).begin(running.id, 1);
    const down = { ...env, INDEX_DB: failingD1 };
    expect((await bulk(user, "cancel", { type: "noop" }, down)).body.matched).toBe(2);
    expect((await getJob(user, queued.id)).status).toBe("cancelled");
    const r = await getJob(user, running.id);
    expect(r.attempts[0]?.status).toBe("cancelled");
    expect(await shardOf(user.user_id).finish(running.id, 1, { outcome: { ok: true } })).toMatchObject({
      ok: false,
      reason: "cancelled",
    });
  });

  it("goes through more jobs than one batch, with an exact count", async () => {
    const user = await createUser();
    const jobs = Array.from({ length: BULK_BATCH + 20 }, () => ({ type: "noop", labels: { wave: "1" } }));
    for (let i = 0; i < jobs.length; i += 1000) {
      const res = await request("/v1/jobs/batch", {
        method: "POST",
        headers: user.auth,
        json: { jobs: jobs.slice(i, i + 1000) },
      });
      expect(res.status).toBe(201);
    }
    expect((await bulk(user, "cancel", { labels: { wave: "1" } })).body.matched).toBe(BULK_BATCH + 20);
    expect(await statuses(user)).toEqual([{ status: "cancelled", n: BULK_BATCH + 20 }]);
  });

  it("matches a name prefix by characters, also beyond the Basic Multilingual Plane", async () => {
    const user = await createUser();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const rocket = (await submit(user, { type: "noop", name: "🚀 launch", run_at: later })).body;
    const probe = (await submit(user, { type: "noop", name: "🛰 probe", run_at: later })).body;
    const plain = (await submit(user, { type: "noop", name: "launch", run_at: later })).body;
    // "🚀" is one character for SQLite and two UTF-16 units for JavaScript.
    expect((await bulk(user, "cancel", { name: "🚀" })).body.matched).toBe(1);
    expect((await getJob(user, rocket.id)).status).toBe("cancelled");
    expect((await bulk(user, "cancel", { name: "🛰 p" })).body.matched).toBe(1);
    expect((await getJob(user, probe.id)).status).toBe("cancelled");
    expect((await getJob(user, plain.id)).status).toBe("scheduled");
  });

  it("never reaches another user's jobs", async () => {
    const owner = await createUser();
    const other = await createUser();
    const { body: job } = await submit(owner, { type: "noop" });
    expect((await bulk(other, "cancel", { ids: [job.id] })).body.matched).toBe(0);
    expect((await bulk(other, "cancel", { type: "noop" })).body.matched).toBe(0);
    expect((await getJob(owner, job.id)).status).toBe(job.status);
  });
});

describe("bulk actions in bounded steps", () => {
  it("serves the shard's other requests between steps, and still answers the exact count", async () => {
    const user = await createUser();
    await submitMany(user, BULK_BATCH + 20, { wave: "1" });
    const running = (await submit(user, { type: "noop" })).body;
    await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    expect(await shard.begin(running.id, 1)).toMatchObject({ ok: true });
    const { parked, release } = await holdBetweenSteps(user, (k) => k === 1);
    const bulk = request("/v1/jobs/cancel", {
      method: "POST",
      headers: user.auth,
      json: { labels: { wave: "1" } },
    });
    expect(await parked(bulk)).toBe("between steps");
    // The bulk action is half done, and the shard answers meanwhile: a heartbeat keeps the running
    // attempt alive, a view reads the job.
    const half = await statuses(user);
    expect(half.find((r) => r.status === "cancelled")?.n).toBe(BULK_BATCH);
    expect(await shard.heartbeat(running.id, 1)).toEqual({ ok: true });
    expect((await getJob(user, running.id)).status).toBe("running");
    await release();
    const res = await bulk;
    expect(await res.json()).toEqual({ matched: BULK_BATCH + 20 });
    expect((await statuses(user)).find((r) => r.status === "cancelled")?.n).toBe(BULK_BATCH + 20);
  });

  it("moves each kind of job exactly as the single-job routes do", async () => {
    const user = await createUser();
    const now = Date.now();
    const put = await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 10 } });
    expect(put.status).toBe(200);
    const later = new Date(now + 3_600_000).toISOString();
    // Due a moment after their submits, so the one alarm run below claims both groups' alike (a job due
    // at its submit would go out with it, the other group's behind a due pooled one with the alarm).
    const soon = new Date(now + 1_000).toISOString();
    const kinds: [string, Record<string, unknown>][] = [
      ["scheduled", { run_at: later }],
      ["paused", { run_at: later }],
      ["queued", { run_at: soon }],
      ["running", { run_at: soon }],
      ["paused-running", { run_at: soon }],
      ["patched", { run_at: soon }],
      ["pooled-queued", { resources: { p: 1 }, run_at: soon }],
      ["pooled-scheduled", { resources: { p: 1 }, run_at: later }],
      ["recurring", { interval_seconds: 60, run_at: later }],
    ];
    const ids = new Map<string, string>();
    for (const group of ["bulk", "single"]) {
      for (const [kind, extra] of kinds) {
        const { body } = await submit(user, {
          type: "noop",
          name: `${group}:${kind}`,
          labels: { g: group },
          ...extra,
        });
        ids.set(`${group}:${kind}`, body.id);
      }
    }
    // One clock for both groups, past every due time and every submit's index copy (on its grid, at
    // most INDEX_FLUSH_DELAY_MS after it), so both groups start with no copy pending: the changes they
    // undergo compare exactly.
    await setShardClock(user.user_id, Date.now() + 5_000);
    await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    for (const group of ["bulk", "single"]) {
      const id = (kind: string) => ids.get(`${group}:${kind}`) ?? "";
      const control = (kind: string, what: string) =>
        request(`/v1/jobs/${id(kind)}/${what}`, { method: "POST", headers: user.auth });
      expect((await control("paused", "pause")).status).toBe(200);
      expect(await shard.begin(id("running"), 1)).toMatchObject({ ok: true });
      expect(await shard.begin(id("paused-running"), 1)).toMatchObject({ ok: true });
      expect((await control("paused-running", "pause")).status).toBe(200);
      const patched = await request(`/v1/jobs/${id("patched")}`, {
        method: "PATCH",
        headers: user.auth,
        json: { priority: 7 },
      });
      expect(patched.status).toBe(200);
    }
    type Row = Record<string, SqlStorageValue>;
    const snapshot = () =>
      inShard(user.user_id, (_s, state) => {
        const sql = state.storage.sql;
        const jobs = sql.exec<Row>("select * from jobs").toArray();
        const attempts = sql.exec<Row>(`select * from ${ALL_ATTEMPTS}`).toArray();
        const held = sql.exec<Row>("select job_id, count(*) as n from allocations group by job_id").toArray();
        const minutes = sql.exec<Row>("select * from metric_minutes").toArray();
        return { jobs, attempts, held, minutes };
      });
    /** What changed in each job of a group (and its attempts and units), keyed by kind. */
    const changes = (before: Awaited<ReturnType<typeof snapshot>>, after: typeof before, group: string) =>
      Object.fromEntries(
        kinds.map(([kind]) => {
          const id = ids.get(`${group}:${kind}`);
          const diff = (a: Row | undefined, b: Row | undefined) =>
            Object.fromEntries(Object.keys(b ?? {}).flatMap((k) => (a?.[k] === b?.[k] ? [] : [[k, b?.[k]]])));
          const row = (s: typeof before) => s.jobs.find((j) => j.id === id);
          const attempt = (s: typeof before) => s.attempts.find((a) => a.job_id === id);
          const held = (s: typeof before) => s.held.find((h) => h.job_id === id)?.n ?? 0;
          return [
            kind,
            {
              job: diff(row(before), row(after)),
              attempt: diff(attempt(before), attempt(after)),
              held: [held(before), held(after)],
            },
          ];
        }),
      );
    const metric = (s: Awaited<ReturnType<typeof snapshot>>) => s.minutes[0] ?? {};
    /**
     * How each counter of the minute moved. The minute itself aside, and lateness: the groups were
     * submitted one after the other, so their attempts began equally late only to the millisecond.
     */
    const delta = (a: Row, b: Row) =>
      Object.fromEntries(
        Object.keys(b).flatMap((k) => {
          const d = Number(b[k] ?? 0) - Number(a[k] ?? 0);
          const counter = k !== "minute" && !k.startsWith("lateness") && typeof b[k] === "number";
          return counter && d !== 0 ? [[k, d]] : [];
        }),
      );

    const s0 = await snapshot();
    const bulk = await request("/v1/jobs/cancel", {
      method: "POST",
      headers: user.auth,
      json: { labels: { g: "bulk" } },
    });
    expect(await bulk.json()).toEqual({ matched: kinds.length });
    const s1 = await snapshot();
    for (const [kind] of kinds) {
      const res = await request(`/v1/jobs/${ids.get(`single:${kind}`)}`, {
        method: "DELETE",
        headers: user.auth,
      });
      expect(res.status).toBe(200);
    }
    const s2 = await snapshot();
    expect(changes(s0, s1, "bulk")).toEqual(changes(s1, s2, "single"));
    expect(delta(metric(s0), metric(s1))).toEqual(delta(metric(s1), metric(s2)));
    // And they are real changes: every job cancelled, units released, running attempts closed.
    expect(changes(s0, s1, "bulk")).toMatchObject({
      running: { job: { status: "cancelled" }, attempt: { status: "cancelled" } },
      "pooled-queued": { job: { status: "cancelled" }, held: [1, 0] },
      patched: { job: { status: "cancelled", priority: 7 } },
    });

    // Retry: the cancelled one-shot jobs come back, pooled ones through the pool check.
    const r0 = await snapshot();
    const retried = await request("/v1/jobs/retry", {
      method: "POST",
      headers: user.auth,
      json: { labels: { g: "bulk" } },
    });
    expect(await retried.json()).toEqual({ matched: kinds.length - 1 });
    const r1 = await snapshot();
    for (const [kind] of kinds.filter(([k]) => k !== "recurring")) {
      const res = await request(`/v1/jobs/${ids.get(`single:${kind}`)}/retry`, {
        method: "POST",
        headers: user.auth,
      });
      expect(res.status).toBe(200);
    }
    const r2 = await snapshot();
    expect(changes(r0, r1, "bulk")).toEqual(changes(r1, r2, "single"));
    expect(changes(r0, r1, "bulk")).toMatchObject({ scheduled: { job: { status: "scheduled" } } });
  });
});

describe("POST /v1/jobs/retry", () => {
  it("retries the matching failed and cancelled one-shot jobs, keeping their history", async () => {
    const user = await createUser();
    const failed = (await submit(user, { type: "noop", max_retries: 0, labels: { k: "v" } })).body;
    const cancelled = (await submit(user, { type: "noop", labels: { k: "v" } })).body;
    const recurring = (await submit(user, { type: "noop", interval_seconds: 60, labels: { k: "v" } })).body;
    const shard = shardOf(user.user_id);
    await fireAlarm(user.user_id);
    await shard.begin(failed.id, 1);
    await shard.finish(failed.id, 1, { outcome: { ok: false }, error: "boom" });
    await shard.cancel(cancelled.id);
    await shard.cancel(recurring.id);
    expect((await bulk(user, "retry", { labels: { k: "v" }, status: "failed" })).body.matched).toBe(1);
    const again = await getJob(user, failed.id);
    expect(again).toMatchObject({ status: "scheduled", current_retries: 0 });
    expect(again.attempts).toHaveLength(1);
    // The shard re-armed for the retried job, due now.
    const alarm = await inShard(user.user_id, (_s, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(Date.now());
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([failed.id]);
    expect((await bulk(user, "retry", { labels: { k: "v" } })).body.matched).toBe(1);
    expect((await getJob(user, cancelled.id)).status).toBe("scheduled");
    expect((await getJob(user, recurring.id)).status).toBe("cancelled");
    expect((await bulk(user, "retry", { labels: { k: "v" } })).body.matched).toBe(0);
  });
});

describe("POST /v1/jobs/retry and the unfinished-jobs cap", () => {
  it("refuses with a 409 naming the numbers, changing nothing, when the retry would pass the cap", async () => {
    const user = await createUser();
    await submitMany(user, 6, { g: "old" });
    await submitMany(user, 2, { g: "keep" });
    expect((await bulk(user, "cancel", { labels: { g: "old" } })).body.matched).toBe(6);
    await setMaxUnfinished(user, 5);
    const refused = await request("/v1/jobs/retry", {
      method: "POST",
      headers: user.auth,
      json: { labels: { g: "old" } },
    });
    expect(refused.status).toBe(409);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("the 6 matching jobs would leave 8 unfinished jobs");
    expect(error.message).toContain("cap of 5");
    expect(await statuses(user)).toEqual([
      { status: "cancelled", n: 6 },
      { status: "scheduled", n: 2 },
    ]);
    // What fits is retried: 2 + 3 = 5.
    const three = await inShard(user.user_id, (_s, state) =>
      state.storage.sql
        .exec<{ id: string }>("select id from jobs where status = 'cancelled' order by id limit 3")
        .toArray()
        .map((r) => r.id),
    );
    expect((await bulk(user, "retry", { ids: three })).body.matched).toBe(3);
    expect((await submit(user, { type: "noop" })).status).toBe(429);
  });

  it("with several shards, refuses before any shard moves a job", async () => {
    const user = await createUser();
    await growShards(user, 2);
    const onShard = (shard: number) =>
      runInDurableObject(shardOf(user.user_id, shard), (_s, state) =>
        state.storage.sql
          .exec<{ status: string; n: number }>("select status, count(*) as n from jobs group by status")
          .toArray(),
      );
    const count = async (shard: number) => (await onShard(shard)).reduce((n, r) => n + r.n, 0);
    for (let i = 0; i < 60; i++) {
      await submitMany(user, 1, { g: "x" });
      const [a, b] = [await count(0), await count(1)];
      if (a > 0 && b > 0 && a !== b) break;
    }
    const [a, b] = [await count(0), await count(1)];
    expect(a > 0 && b > 0 && a !== b).toBe(true);
    expect((await bulk(user, "cancel", { labels: { g: "x" } })).body.matched).toBe(a + b);
    // The smaller shard's jobs fit under the cap, the larger one's do not.
    await setMaxUnfinished(user, Math.max(a, b) - 1);
    expect((await bulk(user, "retry", { labels: { g: "x" } })).status).toBe(409);
    expect(await onShard(0)).toEqual([{ status: "cancelled", n: a }]);
    expect(await onShard(1)).toEqual([{ status: "cancelled", n: b }]);
  });

  it("holds its places while it runs: a submit between its steps finds the shard full", async () => {
    const user = await createUser();
    await submitMany(user, BULK_BATCH + 20, { g: "old" });
    expect((await bulk(user, "cancel", { labels: { g: "old" } })).body.matched).toBe(BULK_BATCH + 20);
    await setMaxUnfinished(user, BULK_BATCH + 21);
    // Two pauses count the matches; the third is between the retry's first and second step.
    const { parked, release } = await holdBetweenSteps(user, (k) => k === 2);
    const retry = request("/v1/jobs/retry", {
      method: "POST",
      headers: user.auth,
      json: { labels: { g: "old" } },
    });
    expect(await parked(retry)).toBe("between steps");
    expect((await statuses(user)).find((r) => r.status === "scheduled")?.n).toBe(BULK_BATCH);
    expect((await submit(user, { type: "noop" })).status).toBe(201);
    expect((await submit(user, { type: "noop" })).status).toBe(429);
    await release();
    expect(await (await retry).json()).toEqual({ matched: BULK_BATCH + 20 });
    expect((await statuses(user)).find((r) => r.status === "scheduled")?.n).toBe(BULK_BATCH + 21);
  });
});

describe("bulk filters: bad input", () => {
  it.each([
    ["an empty filter", {}],
    ["an unknown field", { colour: "red" }],
    ["a bad status", { status: "sleeping" }],
    ["empty ids", { ids: [] }],
    ["empty labels", { labels: {} }],
    ["a bad created_before", { created_before: "yesterday" }],
    ["not an object", [1, 2]],
  ])("refuses %s with a 400 and changes nothing", async (_what, filter) => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    for (const action of ["cancel", "retry"] as const) {
      const out = await bulk(user, action, filter);
      expect(out.status).toBe(400);
      expect(out.body.error?.code).toBe("invalid_request");
    }
    expect((await getJob(user, job.id)).status).toBe(job.status);
  });

  it("answers 401 without a key", async () => {
    for (const action of ["cancel", "retry"]) {
      const res = await request(`/v1/jobs/${action}`, { method: "POST", json: { type: "noop" } });
      expect(res.status).toBe(401);
    }
  });

  it("matches created_before strictly", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    expect((await bulk(user, "cancel", { created_before: job.created_at })).body.matched).toBe(0);
    const after = new Date(Date.parse(job.created_at) + 1).toISOString();
    expect((await bulk(user, "cancel", { created_before: after })).body.matched).toBe(1);
  });
});
