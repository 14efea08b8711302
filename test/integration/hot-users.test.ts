// Hot users (issue 9): a user's shard count grows by itself when its shards run hot, doubling up to a
// ceiling an admin can set, after a cool-down; per-user limits an admin sets (PATCH /v1/admin/users/:id).
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GROWTH_COOLDOWN_MS, LoadWindow } from "../../src/core/hot-shard";
import { noteLoad } from "../../src/shard/growth";
import {
  adminPatchUser,
  createUser,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
} from "../support/helpers";

const shardsOf = (userId: string) =>
  inShard(
    userId,
    (_s, state) => state.storage.sql.exec<{ shards: number }>("select shards from account").one().shards,
  );

/** Lowers the home shard's hot threshold to 1 job/s: 10 jobs in a 10 s window is hot. */
const makeTouchy = (userId: string) =>
  inShard(userId, (shard) => {
    (shard as unknown as { load: LoadWindow }).load = new LoadWindow(1);
  });

const patch = adminPatchUser;

describe("hot users", () => {
  it("a hot shard doubles its user's shards, once per cool-down, up to the ceiling", async () => {
    const user = await createUser();
    await makeTouchy(user.user_id);
    const t0 = Date.now();
    await setShardClock(user.user_id, t0);
    for (let i = 0; i < 9; i++) await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    expect(await shardsOf(user.user_id)).toBe(1);
    await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    expect(await shardsOf(user.user_id)).toBe(2);

    // Hot again within the cool-down: no growth.
    await setShardClock(user.user_id, t0 + 10_000);
    for (let i = 0; i < 10; i++) await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    expect(await shardsOf(user.user_id)).toBe(2);

    // After it: doubles. An admin's ceiling stops it there.
    expect((await patch(user, { shard_ceiling: 4 })).status).toBe(200);
    const pool = await request("/v1/pools/slot", {
      method: "PUT",
      headers: user.auth,
      json: { capacity: 1 },
    });
    expect(pool.status).toBe(200);
    for (const at of [t0 + GROWTH_COOLDOWN_MS, t0 + 2 * GROWTH_COOLDOWN_MS]) {
      await setShardClock(user.user_id, at);
      await makeTouchy(user.user_id);
      for (let i = 0; i < 10; i++) {
        // Pooled jobs always live on the home shard, so every submit lands where the load is measured.
        await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z", resources: { slot: 1 } });
      }
    }
    expect(await shardsOf(user.user_id)).toBe(4);
  }, 30_000);

  it("a hot shard that is not home asks the home shard", async () => {
    const user = await createUser();
    expect((await patch(user, { shards: 2 })).status).toBe(200);
    await runInDurableObject(shardOf(user.user_id, 1), async (shard) => {
      await noteLoad(shard.context, new LoadWindow(1), "dispatched", 10, user.user_id, Date.now());
    });
    expect(await shardsOf(user.user_id)).toBe(4);
  });
});

describe("per-user limits", () => {
  it("an admin sets a user's cap on unfinished jobs; null restores the default", async () => {
    const user = await createUser();
    const set = await patch(user, { max_unfinished_jobs: 2 });
    expect(await set.json()).toMatchObject({
      max_unfinished_jobs: 2,
      defaults: { max_unfinished_jobs: 100_000, shard_ceiling: 16, finished_retention_seconds: 604_800 },
    });
    const later = { type: "noop", run_at: "2030-01-01T00:00:00Z" };
    expect((await submit(user, later)).status).toBe(201);
    expect((await submit(user, later)).status).toBe(201);
    expect((await submit(user, later)).status).toBe(429);
    const batch = await request("/v1/jobs/batch", {
      method: "POST",
      headers: user.auth,
      json: { jobs: [later] },
    });
    expect(((await batch.json()) as { results: { status: number }[] }).results[0]?.status).toBe(429);
    expect((await patch(user, { max_unfinished_jobs: null })).status).toBe(200);
    expect((await submit(user, later)).status).toBe(201);
  });

  it("refuses bad limits with a 400 and changes nothing", async () => {
    const user = await createUser();
    for (const bad of [
      { max_unfinished_jobs: 0 },
      { max_unfinished_jobs: "5" },
      { shard_ceiling: 0 },
      { shard_ceiling: 257 },
      { shard_ceiling: 1.5 },
      { unknown: 1 },
    ]) {
      expect((await patch(user, bad)).status, JSON.stringify(bad)).toBe(400);
    }
    const now = (await (await patch(user, { shard_ceiling: null })).json()) as Record<string, unknown>;
    expect(now).toMatchObject({ shards: 1, max_unfinished_jobs: null, shard_ceiling: null });
  });
});
