// Resource pools and hot users through the API and the real shard.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { forgetVerifiedKeys } from "../../src/api/auth";
import type { Env } from "../../src/env";
import type { PoolView } from "../../src/shard/rpc";
import {
  ADMIN,
  createUser,
  deliver,
  fireAlarm,
  getJob,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";
import { expectEnvelope } from "../support/refusals";

async function putPool(user: TestUser, name: string, capacity: unknown) {
  return request(`/v1/pools/${name}`, { method: "PUT", headers: user.auth, json: { capacity } });
}

async function pools(user: TestUser): Promise<PoolView[]> {
  const res = await request("/v1/pools", { headers: user.auth });
  return ((await res.json()) as { pools: PoolView[] }).pools;
}

const alarmOf = (userId: string) => inShard(userId, (_s, state) => state.storage.getAlarm());

describe("pools API", () => {
  it("creates, resizes and lists pools with use and waiting jobs", async () => {
    const user = await createUser();
    expect((await putPool(user, "gpu", 2)).status).toBe(200);
    expect(await (await putPool(user, "gpu", 3)).json()).toEqual({
      name: "gpu",
      capacity: 3,
      in_use: 0,
      waiting: 0,
    });
    for (const bad of [-1, 0, 1.5, "3", null, 1_000_001])
      expect((await putPool(user, "gpu", bad)).status, `capacity ${bad}`).toBe(400);
    const zero = await putPool(user, "gpu", 0);
    expect(await zero.json()).toMatchObject({
      error: { code: "invalid_request", details: [{ path: "capacity", message: expect.any(String) }] },
    });
    expect(await pools(user), "a refused capacity changes nothing").toEqual([
      { name: "gpu", capacity: 3, in_use: 0, waiting: 0 },
    ]);
    expect((await putPool(user, "no%20spaces", 1)).status).toBe(400);
    expect(await pools(user)).toEqual([{ name: "gpu", capacity: 3, in_use: 0, waiting: 0 }]);
    const other = await createUser();
    expect(await pools(other)).toEqual([]);
  });

  it("caps a user's pools at MAX_POOLS (100): the 101st is a 400 naming `name`; resizing still works", async () => {
    const user = await createUser();
    for (let i = 0; i < 100; i++) expect((await putPool(user, `p${i}`, 1)).status).toBe(200);
    const refused = await expectEnvelope(await putPool(user, "p100", 1), 400);
    expect(refused.message).toMatch(/at most 100 pools/);
    expect(refused.details?.map((d) => d.path)).toEqual(["name"]);
    expect(await pools(user)).toHaveLength(100);
    // An existing pool is resized at the cap; a deleted one makes room.
    expect((await putPool(user, "p7", 5)).status).toBe(200);
    expect((await request("/v1/pools/p7", { method: "DELETE", headers: user.auth })).status).toBe(200);
    expect((await putPool(user, "p100", 1)).status).toBe(200);
  });

  it("an admin sets a user's pool cap (max_pools); null restores MAX_POOLS", async () => {
    const user = await createUser();
    const limit = (max_pools: unknown) =>
      request(`/v1/admin/users/${user.user_id}`, { method: "PATCH", headers: ADMIN, json: { max_pools } });
    const set = await limit(2);
    expect(await set.json()).toMatchObject({ max_pools: 2, defaults: { max_pools: 100 } });
    expect((await putPool(user, "a", 1)).status).toBe(200);
    expect((await putPool(user, "b", 1)).status).toBe(200);
    expect((await expectEnvelope(await putPool(user, "c", 1), 400)).message).toMatch(/at most 2 pools/);
    // Lowered below what the user has: every pool stays, none is added.
    expect((await limit(1)).status).toBe(200);
    expect((await putPool(user, "b", 3)).status).toBe(200);
    expect(await pools(user)).toHaveLength(2);
    for (const bad of [0, -1, 1.5, "2"]) await expectEnvelope(await limit(bad), 400);
    expect(await (await limit(null)).json()).toMatchObject({ max_pools: null });
    expect((await putPool(user, "c", 1)).status).toBe(200);
  });

  it("refuses a capacity below 1 and a pool name with a control character, naming the field", async () => {
    const user = await createUser();
    const zero = await expectEnvelope(await putPool(user, "gpu", 0), 400);
    expect(zero.details).toEqual([{ path: "capacity", message: "capacity is at least 1" }]);
    const nul = await expectEnvelope(await putPool(user, "gp%00u", 1), 400);
    expect(nul.details?.map((d) => d.path)).toEqual(["name"]);
    expect(await pools(user)).toEqual([]);
  });

  it("validates resources at submit against the user's pools", async () => {
    const user = await createUser();
    await putPool(user, "licence", 2);
    const tooMany = await submit(user, { type: "noop", resources: { licence: 3 } });
    expect(tooMany.status).toBe(400);
    const unknown = await submit(user, { type: "noop", resources: { printer: 1 } });
    expect(unknown.status).toBe(400);
    const ok = await submit(user, { type: "noop", resources: { licence: 2 } });
    expect(ok.status).toBe(201);
    expect(ok.body.resources).toEqual({ licence: 2 });
  });
});

describe("allocation", () => {
  it("holds units from dispatch to the end of the attempt, shown on the attempt", async () => {
    const user = await createUser();
    await putPool(user, "api", 1);
    const a = (await submit(user, { type: "noop", priority: 10, resources: { api: 1 } })).body;
    const b = (await submit(user, { type: "noop", priority: 90, resources: { api: 1 } })).body;
    const first = await fireAlarm(user.user_id);
    expect(first.map((m) => m.job_id)).toEqual([b.id]);
    expect(await pools(user)).toEqual([{ name: "api", capacity: 1, in_use: 1, waiting: 1 }]);

    await deliver(first);
    const done = await getJob(user, b.id);
    expect(done.attempts[0]?.resources).toEqual({ api: 1 });
    // The release dispatches the waiting job at once: the alarm is due now, not at a later deadline.
    expect(await alarmOf(user.user_id)).toBeLessThanOrEqual(Date.now());
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([a.id]);
    expect((await pools(user))[0]).toMatchObject({ in_use: 1, waiting: 0 });
  });

  it("releases units on cancel and on lease expiry", async () => {
    const user = await createUser();
    await putPool(user, "slot", 1);
    const a = (await submit(user, { type: "noop", resources: { slot: 1 }, timeout_seconds: 1 })).body;
    const [claim] = await fireAlarm(user.user_id);
    expect(claim?.job_id).toBe(a.id);
    await request(`/v1/jobs/${a.id}`, { method: "DELETE", headers: user.auth });
    expect((await pools(user))[0]?.in_use).toBe(0);

    const b = (await submit(user, { type: "noop", resources: { slot: 1 }, timeout_seconds: 1 })).body;
    const [claimB] = await fireAlarm(user.user_id);
    expect((await shardOf(user.user_id).begin(b.id, claimB?.attempt ?? 0)).ok).toBe(true);
    await setShardClock(user.user_id, Date.now() + 60_000);
    await fireAlarm(user.user_id);
    const timedOut = await getJob(user, b.id);
    expect(timedOut.attempts[0]?.status).toBe("timed_out");
    expect((await pools(user))[0]?.in_use).toBe(0);
  });

  it("drains a shrunk pool without preempting", async () => {
    const user = await createUser();
    await putPool(user, "db", 2);
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push((await submit(user, { type: "noop", resources: { db: 1 } })).body);
    const running = await fireAlarm(user.user_id);
    expect(running).toHaveLength(2);
    await putPool(user, "db", 1);
    expect((await pools(user))[0]).toMatchObject({ capacity: 1, in_use: 2, waiting: 1 });
    // One finishes: use drops to 1, still not below the new capacity, so nothing new starts.
    await deliver(running.slice(0, 1));
    expect(await fireAlarm(user.user_id)).toHaveLength(1); // the other claim, still queued
    await deliver(running.slice(1));
    const next = await fireAlarm(user.user_id);
    expect(next.map((m) => m.job_id)).toHaveLength(1);
    expect((await pools(user))[0]).toMatchObject({ in_use: 1, waiting: 0 });
  });
});

describe("hot users", () => {
  it("grows a user's shards: new jobs spread, old ids route, listing and pools unchanged", async () => {
    const user = await createUser();
    await putPool(user, "p", 1);
    const old = (await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" })).body;
    const grow = (shards: number) =>
      request(`/v1/admin/users/${user.user_id}`, { method: "PATCH", headers: ADMIN, json: { shards } });
    expect(
      (
        await request(`/v1/admin/users/${user.user_id}`, {
          method: "PATCH",
          headers: user.auth,
          json: { shards: 4 },
        })
      ).status,
    ).toBe(401);
    expect(await (await grow(4)).json()).toMatchObject({
      user_id: user.user_id,
      shards: 4,
      finished_retention_seconds: null,
      max_unfinished_jobs: null,
      shard_ceiling: null,
    });
    expect((await grow(2)).status).toBe(400);
    expect(
      (await request("/v1/admin/users/usr_nope", { method: "PATCH", headers: ADMIN, json: { shards: 2 } }))
        .status,
    ).toBe(404);
    forgetVerifiedKeys();

    const placed = new Set<string>();
    for (let i = 0; i < 24; i++) {
      placed.add(
        (await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" })).body.id.split("_")[1] ?? "",
      );
    }
    expect(placed.size).toBeGreaterThan(1);
    expect([...placed].every((s) => ["0", "1", "2", "3"].includes(s))).toBe(true);
    expect((await getJob(user, old.id)).id).toBe(old.id);
    // Pooled jobs stay with their pool on the home shard.
    for (let i = 0; i < 5; i++) {
      expect((await submit(user, { type: "noop", resources: { p: 1 } })).body.id).toMatch(/^job_0_/);
    }
  });
});

describe("waking", () => {
  it("keeps a release's immediate wake that arrives while the alarm is sending", async () => {
    const user = await createUser();
    await putPool(user, "one", 1);
    const holder = (await submit(user, { type: "noop", resources: { one: 1 } })).body;
    const [claim] = await fireAlarm(user.user_id);
    expect((await shardOf(user.user_id).begin(holder.id, claim?.attempt ?? 0)).ok).toBe(true);
    const waiter = (await submit(user, { type: "noop", resources: { one: 1 } })).body;
    await submit(user, { type: "noop" }); // gives the next alarm something to send
    let released = false;
    await inShard(user.user_id, (shard) => {
      const target = shard as unknown as { env: Env };
      const realQueue = target.env.DISPATCH;
      target.env = {
        ...target.env,
        DISPATCH: {
          send: realQueue.send.bind(realQueue),
          sendBatch: async (messages: Iterable<MessageSendRequest>) => {
            // The holder finishes while the alarm handler awaits the queue.
            await shardOf(user.user_id).finish(holder.id, claim?.attempt ?? 0, { outcome: { ok: true } });
            released = true;
            return realQueue.sendBatch(messages);
          },
        } as Queue<unknown>,
      };
    });
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(released).toBe(true);
    expect((await getJob(user, waiter.id)).status).toBe("scheduled");
    // The freed unit must be handed out at once, not at the 30 s recheck.
    expect(await alarmOf(user.user_id)).toBeLessThanOrEqual(Date.now() + 100);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toContain(waiter.id);
  });
});

describe("DELETE /v1/pools/:name", () => {
  const deletePool = (user: TestUser, name: string) =>
    request(`/v1/pools/${name}`, { method: "DELETE", headers: user.auth });

  it("removes a pool no unfinished job names, answering the pool as it was; unknown is 404", async () => {
    const user = await createUser();
    expect((await putPool(user, "gpu", 2)).status).toBe(200);
    expect((await putPool(user, "cpu", 4)).status).toBe(200);
    const res = await deletePool(user, "gpu");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "gpu", capacity: 2, in_use: 0, waiting: 0 });
    expect((await pools(user)).map((p) => p.name)).toEqual(["cpu"]);
    expect((await deletePool(user, "gpu")).status).toBe(404);
    // Another user's pool of the same name is not theirs to see.
    expect((await deletePool(await createUser(), "cpu")).status).toBe(404);
    expect((await pools(user)).map((p) => p.name)).toEqual(["cpu"]);
    expect((await deletePool(user, "bad%20name")).status).toBe(400);
  });

  it("is 409 while a scheduled, queued or running job names the pool, and frees it once they finish", async () => {
    const user = await createUser();
    await putPool(user, "gpu", 2);
    const { body: waiting } = await submit(user, { type: "noop", resources: { gpu: 1 } });
    const conflict = await deletePool(user, "gpu");
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { message: string } }).error.message).toMatch(
      /^1 unfinished job/,
    );
    const [claim] = await fireAlarm(user.user_id);
    const attempt = claim?.attempt ?? 0;
    expect((await getJob(user, waiting.id)).status).toBe("queued");
    expect((await deletePool(user, "gpu")).status).toBe(409);
    await inShard(user.user_id, (s) => s.begin(waiting.id, attempt));
    expect((await getJob(user, waiting.id)).status).toBe("running");
    expect((await deletePool(user, "gpu")).status).toBe(409);
    await inShard(user.user_id, (s) => s.finish(waiting.id, attempt, { outcome: { ok: true } }));
    expect((await getJob(user, waiting.id)).status).toBe("succeeded");
    // Finished jobs never claim again: they do not hold the pool.
    const res = await deletePool(user, "gpu");
    expect(res.status).toBe(200);
    expect(await pools(user)).toEqual([]);
    // A job naming it now is refused at submit, as for any unknown pool.
    expect((await submit(user, { type: "noop", resources: { gpu: 1 } })).status).toBe(400);
  });
});
