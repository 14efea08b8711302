// Flow control per key (docs/design.md "Flow control per key") through the API and the real shard:
// concurrency and rate exact, no head-of-line blocking, order within a key, pools and retries, the
// key's view, bad input, idle keys holding nothing, and keys across shard growth.
import { describe, expect, it } from "vitest";
import type { DispatchMessage } from "../../src/dispatch/message";
import type { FlowKeyView } from "../../src/shard/rpc";
import {
  createUser,
  deliver,
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

const flowKey = async (user: TestUser, key: string): Promise<FlowKeyView> => {
  const res = await request(`/v1/flow-control/${encodeURIComponent(key)}`, { headers: user.auth });
  expect(res.status).toBe(200);
  return (await res.json()) as FlowKeyView;
};

const alarmAt = (userId: string) => inShard(userId, (_s, state) => state.storage.getAlarm());

const startLogRows = (userId: string) =>
  inShard(userId, (_s, state) => state.storage.sql.exec("select key, starts from flow_keys").toArray());

/** Submits `n` noop jobs with the flow control given; returns their ids in order. */
async function submitKeyed(user: TestUser, n: number, flow: Record<string, unknown>, extra = {}) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await submit(user, { type: "noop", flow_control: flow, ...extra });
    expect(res.status).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

/** Fires the alarm at `now` (shard clock): the jobs claimed and not yet begun. */
async function claimAt(userId: string, now: number): Promise<string[]> {
  await setShardClock(userId, now);
  return (await fireAlarm(userId)).map((m) => m.job_id);
}

describe("flow_control: concurrency", () => {
  it("never has more than `concurrency` attempts of a key out; a finished one lets the next go at once", async () => {
    const user = await createUser();
    const T = Date.now() + 1000;
    const ids = await submitKeyed(user, 5, { key: "customer-1", concurrency: 2 });
    expect(ids.every((id) => id.startsWith("job_0_"))).toBe(true);
    await setShardClock(user.user_id, T);
    const first = await fireAlarm(user.user_id);
    expect(first).toHaveLength(2);
    expect(await flowKey(user, "customer-1")).toEqual({
      key: "customer-1",
      running: 2,
      waiting: 3,
      started_last_period: 0,
    });
    // Nothing more while both hold their slots, begun or not.
    expect(await fireAlarm(user.user_id)).toHaveLength(2);
    await deliver(first.slice(0, 1));
    // The finished attempt gave its slot back: the alarm is due at once and claims one more.
    expect(await alarmAt(user.user_id)).toBeLessThanOrEqual(T);
    const second = await fireAlarm(user.user_id);
    expect(second).toHaveLength(2);
    expect(second.map((m) => m.job_id)).not.toContain(first[0]?.job_id);
    expect((await flowKey(user, "customer-1")).running).toBe(2);
    // A cancel gives the slot back too.
    const cancelled = second.find((m) => m.job_id !== first[1]?.job_id) as DispatchMessage;
    expect(
      (await request(`/v1/jobs/${cancelled.job_id}`, { method: "DELETE", headers: user.auth })).status,
    ).toBe(200);
    expect((await flowKey(user, "customer-1")).running).toBe(1);
    expect(await fireAlarm(user.user_id)).toHaveLength(2);
  });

  it("a saturated key holds up neither other keys nor jobs without a key", async () => {
    const user = await createUser();
    const T = Date.now() + 1000;
    // The saturated key's jobs come first by priority, and many of them.
    await submitKeyed(user, 30, { key: "busy", concurrency: 1 }, { priority: 90 });
    const other = await submitKeyed(user, 2, { key: "quiet", concurrency: 5 }, { priority: 10 });
    const plain = (await submit(user, { type: "noop", priority: 5 })).body.id;
    await setShardClock(user.user_id, T);
    const sent = (await fireAlarm(user.user_id)).map((m) => m.job_id);
    expect(sent).toHaveLength(4);
    expect(sent).toEqual(expect.arrayContaining([...other, plain]));
  });

  it("keeps priority order within a key", async () => {
    const user = await createUser();
    const T = Date.now() + 1000;
    const [low] = await submitKeyed(user, 1, { key: "k", concurrency: 1 }, { priority: 10 });
    const [high] = await submitKeyed(user, 1, { key: "k", concurrency: 1 }, { priority: 90 });
    const [mid] = await submitKeyed(user, 1, { key: "k", concurrency: 1 }, { priority: 50 });
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await claimAt(user.user_id, T + i);
      expect(sent).toHaveLength(1);
      order.push(sent[0] as string);
      await deliver(await fireAlarm(user.user_id));
    }
    expect(order).toEqual([high, mid, low]);
  });

  it("needs both the key and the pools to admit a job; one waiting for its pools holds no slot of its key", async () => {
    const user = await createUser();
    await request("/v1/pools/gpu", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const T = Date.now() + 1000;
    const holder = (await submit(user, { type: "noop", resources: { gpu: 1 }, priority: 99 })).body.id;
    const [pooled] = await submitKeyed(
      user,
      1,
      { key: "k", concurrency: 1 },
      { resources: { gpu: 1 }, priority: 80 },
    );
    const [plainKeyed, secondKeyed] = await submitKeyed(
      user,
      2,
      { key: "k", concurrency: 1 },
      { priority: 40 },
    );
    await setShardClock(user.user_id, T);
    // The pool is taken by `holder`: the pooled job of "k" waits for it, and "k"'s one slot goes to
    // the next job of the key; the key admits no more.
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id).sort()).toEqual([holder, plainKeyed].sort());
    await deliver(await fireAlarm(user.user_id));
    // Pool and slot free: the pooled job, higher in the key, goes before the last one of the key.
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([pooled]);
    await deliver(await fireAlarm(user.user_id));
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([secondKeyed]);
  });

  it("a job that reserved its pools, then lost its key's slot to a later job of the key, frees the pools at once", async () => {
    // Found by the shard model (FC_SEED=1576133720): the reservation kept a smaller job out, and the
    // alarm waited 30 s for a release, though a fresh round holds the reserving job back by its key.
    const user = await createUser();
    await request("/v1/pools/gpu", { method: "PUT", headers: user.auth, json: { capacity: 3 } });
    const T = Date.now() + 1000;
    const holders = [0, 1].map(
      async () => (await submit(user, { type: "noop", resources: { gpu: 1 } })).body.id,
    );
    const held = await Promise.all(holders);
    await setShardClock(user.user_id, T);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id).sort()).toEqual([...held].sort());
    // One unit left. In claim order: `big` (its key admits it; 2 units: it reserves the pool), then
    // `small` (the pool is reserved), then `keyed` (the key's one slot: claimed).
    const [big] = await submitKeyed(
      user,
      1,
      { key: "k", concurrency: 1 },
      { resources: { gpu: 2 }, priority: 60 },
    );
    const small = (await submit(user, { type: "noop", resources: { gpu: 1 }, priority: 50 })).body.id;
    const [keyed] = await submitKeyed(user, 1, { key: "k", concurrency: 1 }, { priority: 10 });
    await setShardClock(user.user_id, T + 1000);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id).sort()).toEqual([...held, keyed].sort());
    // `big` is now held back by its key, so its reservation is void: the alarm comes back at once, and
    // `small` takes the free unit.
    expect(await alarmAt(user.user_id)).toBeLessThanOrEqual(T + 1000);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toContain(small);
    expect((await getJob(user, big as string)).status).toBe("scheduled");
  });
});

describe("flow_control: rate", () => {
  it("never starts more than `rate` in a window; the alarm wakes when the oldest start leaves it", async () => {
    const user = await createUser();
    const T = Date.now() + 1000;
    const ids = await submitKeyed(user, 5, { key: "api", rate: 2, period_seconds: 10 });
    await setShardClock(user.user_id, T);
    const first = await fireAlarm(user.user_id);
    expect(first).toHaveLength(2);
    // Claims not yet begun count: nothing more goes, however long they wait in the queue.
    await setShardClock(user.user_id, T + 30_000);
    expect(await fireAlarm(user.user_id)).toHaveLength(2);
    // They begin (and finish) at T + 30 s: the window is full until T + 40 s.
    await deliver(first);
    expect((await flowKey(user, "api")).started_last_period).toBe(2);
    await setShardClock(user.user_id, T + 39_999);
    expect(await fireAlarm(user.user_id)).toHaveLength(0);
    expect(await alarmAt(user.user_id)).toBe(T + 40_000);
    await setShardClock(user.user_id, T + 40_000);
    const second = await fireAlarm(user.user_id);
    expect(second).toHaveLength(2);
    expect(second.every((m) => ids.includes(m.job_id))).toBe(true);
  });

  it("counts a retry as a start", async () => {
    const user = await createUser();
    const T = Date.now() + 1000;
    const [job] = await submitKeyed(
      user,
      1,
      { key: "r", rate: 1, period_seconds: 60 },
      { max_retries: 3, retry_delay_seconds: 1 },
    );
    await setShardClock(user.user_id, T);
    const [claim] = await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    expect((await shard.begin(job as string, claim?.attempt ?? 0)).ok).toBe(true);
    const failed = await shard.finish(job as string, claim?.attempt ?? 0, {
      outcome: { ok: false },
      error: "boom",
    });
    expect(failed.ok).toBe(true);
    // The retry is due within seconds, but the key started one attempt at T: not before T + 60 s.
    await setShardClock(user.user_id, T + 30_000);
    expect(await fireAlarm(user.user_id)).toHaveLength(0);
    expect((await getJob(user, job as string)).status).toBe("scheduled");
    await setShardClock(user.user_id, T + 60_000);
    expect(await fireAlarm(user.user_id)).toHaveLength(1);
  });

  it("an idle key holds no row: its log goes once no window holds a start", async () => {
    const user = await createUser();
    const T = Date.now() + 1000;
    await submitKeyed(user, 2, { key: "short", rate: 5, period_seconds: 1 });
    await submitKeyed(user, 1, { key: "only-concurrency", concurrency: 5 });
    await setShardClock(user.user_id, T);
    await deliver(await fireAlarm(user.user_id));
    // Only the key with a rate keeps a log, and only while a window can hold its starts.
    expect((await startLogRows(user.user_id)).map((r) => r.key)).toEqual(["short"]);
    const [late] = await submitKeyed(user, 1, { key: "short", rate: 5, period_seconds: 1 });
    await setShardClock(user.user_id, T + 5000);
    const [claim] = await fireAlarm(user.user_id);
    expect(claim?.job_id).toBe(late);
    await setShardClock(user.user_id, T + 5000);
    const shard = shardOf(user.user_id);
    await shard.begin(late as string, claim?.attempt ?? 0);
    await setShardClock(user.user_id, T + 7000);
    await shard.finish(late as string, claim?.attempt ?? 0, { outcome: { ok: true } });
    expect(await startLogRows(user.user_id)).toEqual([]);
    expect(await flowKey(user, "short")).toEqual({
      key: "short",
      running: 0,
      waiting: 0,
      started_last_period: 0,
    });
  });
});

describe("GET /v1/flow-control: the keys in use", () => {
  const keysInUse = async (user: TestUser): Promise<FlowKeyView[]> => {
    const res = await request("/v1/flow-control", { headers: user.auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { keys: FlowKeyView[] };
    expect(Object.keys(body)).toEqual(["keys"]);
    return body.keys;
  };

  it("lists keys running, waiting or started within their period, busiest first; idle and future keys not", async () => {
    const user = await createUser();
    expect(await keysInUse(user)).toEqual([]);
    const T = Date.now() + 1000;
    await submitKeyed(user, 5, { key: "busy", concurrency: 2 });
    await submitKeyed(user, 1, { key: "calm", concurrency: 1 });
    await submitKeyed(user, 1, { key: "rated", rate: 5, period_seconds: 60 });
    // Not due for a day: nothing of it is in use.
    await submitKeyed(
      user,
      1,
      { key: "later", concurrency: 1 },
      { run_at: new Date(T + 86_400_000).toISOString() },
    );
    await setShardClock(user.user_id, T);
    const claimed = await fireAlarm(user.user_id);
    // The rated key's one job begins and ends: no slot held, one start within its period.
    const ids = new Set(claimed.map((m) => m.job_id));
    const ratedJob = (await Promise.all([...ids].map((id) => getJob(user, id)))).find(
      (j) => j.flow_control?.key === "rated",
    );
    expect(ratedJob).toBeDefined();
    await deliver(claimed.filter((m) => m.job_id === ratedJob?.id));
    const listed = await keysInUse(user);
    expect(listed).toEqual([
      { key: "busy", running: 2, waiting: 3, started_last_period: 0 },
      { key: "calm", running: 1, waiting: 0, started_last_period: 0 },
      { key: "rated", running: 0, waiting: 0, started_last_period: 1 },
    ]);
    // Each entry is what the key's own view says.
    for (const k of listed) expect(await flowKey(user, k.key)).toEqual(k);
    // Once the period has passed, the rated key is idle and leaves the list.
    await setShardClock(user.user_id, T + 61_000);
    expect((await keysInUse(user)).map((k) => k.key)).toEqual(["busy", "calm"]);
  });

  it("lists at most 100 keys, and only the user's own", async () => {
    const user = await createUser();
    const other = await createUser();
    const jobs = Array.from({ length: 101 }, (_, i) => ({
      type: "noop",
      flow_control: { key: `k-${String(i).padStart(3, "0")}`, concurrency: 1 },
    }));
    const batch = await request("/v1/jobs/batch", {
      method: "POST",
      headers: { ...user.auth, "content-type": "application/json" },
      body: JSON.stringify({ jobs }),
    });
    expect(batch.status).toBe(201);
    const listed = await keysInUse(user);
    expect(listed).toHaveLength(100);
    expect(new Set(listed.map((k) => k.key)).size).toBe(100);
    for (const k of listed) expect(k.running + k.waiting).toBe(1);
    expect(await keysInUse(other)).toEqual([]);
  });

  it("is in the OpenAPI document with its example", async () => {
    const doc = (await (await request("/v1/openapi.json")).json()) as {
      paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
    };
    expect(JSON.stringify(doc.paths["/v1/flow-control"]?.get?.responses["200"])).toContain("customer-42");
  });
});

describe("flow_control: the contract's edges", () => {
  it("shows flow_control on the job with defaults, and answers unknown keys with zeros", async () => {
    const user = await createUser();
    const res = await submit(user, { type: "noop", flow_control: { key: "a", rate: 3 } });
    expect(res.status).toBe(201);
    expect(res.body.flow_control).toEqual({ key: "a", concurrency: null, rate: 3, period_seconds: 1 });
    const plain = await submit(user, { type: "noop" });
    expect(plain.body.flow_control).toBeNull();
    expect(await flowKey(user, "never-used")).toEqual({
      key: "never-used",
      running: 0,
      waiting: 0,
      started_last_period: 0,
    });
    // Any string is a key: one with a slash, a space or a percent sign is named escaped in the path.
    const odd = "tenant 7/eu%";
    await submit(user, { type: "noop", flow_control: { key: odd, concurrency: 1 } });
    expect(await flowKey(user, odd)).toMatchObject({ key: odd, running: 0, waiting: 1 });
    // Another user's key of the same name is another key.
    const other = await createUser();
    expect((await flowKey(other, "a")).waiting).toBe(0);
  });

  it("refuses bad flow_control with a 400 naming the field, and creates nothing", async () => {
    const user = await createUser();
    const bad: [unknown, string][] = [
      [{}, "flow_control.key"],
      [{ key: "k" }, "flow_control.concurrency"],
      [{ key: "", concurrency: 1 }, "flow_control.key"],
      [{ key: "x".repeat(201), concurrency: 1 }, "flow_control.key"],
      [{ key: "k", concurrency: 0 }, "flow_control.concurrency"],
      [{ key: "k", concurrency: 10_001 }, "flow_control.concurrency"],
      [{ key: "k", rate: 1.5 }, "flow_control.rate"],
      [{ key: "k", rate: 2, period_seconds: 0 }, "flow_control.period_seconds"],
      [{ key: "k", rate: 2, period_seconds: 86_401 }, "flow_control.period_seconds"],
      [{ key: "k", rate: 2, burst: 3 }, "flow_control"],
      [{ key: 7, rate: 2 }, "flow_control.key"],
      ["k", "flow_control"],
    ];
    for (const [flow, path] of bad) {
      const res = await submit(user, { type: "noop", flow_control: flow });
      expect(res.status, JSON.stringify(flow)).toBe(400);
      const details = (res.body as unknown as { error: { details: { path: string }[] } }).error.details;
      expect(details.map((d) => d.path)).toContain(path);
    }
    const tooLong = await request(`/v1/flow-control/${"x".repeat(201)}`, { headers: user.auth });
    expect(tooLong.status).toBe(400);
    const listed = await request("/v1/jobs", { headers: user.auth });
    expect(((await listed.json()) as { jobs: unknown[] }).jobs).toEqual([]);
    expect(
      await inShard(
        user.user_id,
        (_s, state) => state.storage.sql.exec("select count(*) as n from jobs").one().n,
      ),
    ).toBe(0);
  });

  it("PATCH sets, changes and clears flow_control by the submit's rules", async () => {
    const user = await createUser();
    const job = (
      await submit(user, {
        type: "noop",
        run_at: new Date(Date.now() + 3_600_000).toISOString(),
        resources: {},
      })
    ).body;
    const patch = (body: unknown) =>
      request(`/v1/jobs/${job.id}`, { method: "PATCH", headers: user.auth, json: body });
    // Placed at random: on one shard, the only one of a new user.
    expect(job.id.startsWith("job_0_")).toBe(true);
    const set = await patch({ flow_control: { key: "p", concurrency: 2 } });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { flow_control: unknown }).flow_control).toEqual({
      key: "p",
      concurrency: 2,
      rate: null,
      period_seconds: 1,
    });
    expect((await patch({ flow_control: { key: "p", concurrency: 0 } })).status).toBe(400);
    expect((await patch({ flow_control: { key: "p" } })).status).toBe(400);
    const cleared = await patch({ flow_control: null });
    expect(((await cleared.json()) as { flow_control: unknown }).flow_control).toBeNull();
    expect((await getJob(user, job.id)).flow_control).toBeNull();
  });

  it("keeps every job of a key on the home shard as the user's shards grow; a job elsewhere cannot take a key", async () => {
    const user = await createUser();
    await growShards(user, 8);
    const keyed = await submitKeyed(user, 12, { key: "grown", concurrency: 1 });
    expect(keyed.every((id) => id.startsWith("job_0_"))).toBe(true);
    await growShards(user, 16);
    const more = await submitKeyed(user, 4, { key: "grown", concurrency: 1 });
    expect(more.every((id) => id.startsWith("job_0_"))).toBe(true);
    // A batch's keyed items go home too, plain ones anywhere.
    const batch = await request("/v1/jobs/batch", {
      method: "POST",
      headers: user.auth,
      json: { jobs: [1, 2, 3].map(() => ({ type: "noop", flow_control: { key: "grown", concurrency: 1 } })) },
    });
    expect(batch.status).toBe(201);
    const items = ((await batch.json()) as { results: { status: number; job: { id: string } }[] }).results;
    expect(items.map((r) => [r.status, r.job.id.startsWith("job_0_")])).toEqual([
      [201, true],
      [201, true],
      [201, true],
    ]);
    // One shard decides for the key, so one attempt is out at a time, whatever the count.
    await setShardClock(user.user_id, Date.now() + 1000);
    expect(await fireAlarm(user.user_id)).toHaveLength(1);
    expect((await flowKey(user, "grown")).waiting).toBe(18);
    // A plain job placed elsewhere cannot start naming a key: its shard does not decide keys.
    let elsewhere: string | undefined;
    for (let i = 0; i < 40 && !elsewhere; i++) {
      const id = (
        await submit(user, { type: "noop", run_at: new Date(Date.now() + 3_600_000).toISOString() })
      ).body.id;
      if (!id.startsWith("job_0_")) elsewhere = id;
    }
    expect(elsewhere).toBeDefined();
    const res = await request(`/v1/jobs/${elsewhere}`, {
      method: "PATCH",
      headers: user.auth,
      json: { flow_control: { key: "grown", concurrency: 1 } },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain("flow_control");
  });
});
