// POST /v1/jobs/cancel and POST /v1/jobs/retry: filters applied on the user's shards, exact counts,
// idempotent, and never reaching another user's jobs.
import { describe, expect, it } from "vitest";
import { BULK_BATCH } from "../../src/shard/bulk-queries";
import {
  createUser,
  env,
  failingD1,
  fireAlarm,
  getJob,
  inShard,
  request,
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

  it("never reaches another user's jobs", async () => {
    const owner = await createUser();
    const other = await createUser();
    const { body: job } = await submit(owner, { type: "noop" });
    expect((await bulk(other, "cancel", { ids: [job.id] })).body.matched).toBe(0);
    expect((await bulk(other, "cancel", { type: "noop" })).body.matched).toBe(0);
    expect((await getJob(owner, job.id)).status).toBe("scheduled");
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
    expect((await getJob(user, job.id)).status).toBe("scheduled");
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
