// Guarantees that must hold while a user's shard count grows (issue 15): an Idempotency-Key names
// one job whatever count each request believed in, an old id routes at once, and bulk actions and
// metrics reach every shard, even from an isolate whose cached count is seconds old.
import { describe, expect, it } from "vitest";
import { prepareSubmission } from "../../src/api/submission";
import { sha256Hex } from "../../src/core/ids";
import { keyShard } from "../../src/core/placement";
import { NO_TRACE } from "../../src/core/trace-context";
import { ADMIN, createUser, growShards, request, shardOf, submit, type TestUser } from "../support/helpers";

const job = (n: number) => ({ type: "noop", run_at: "2030-01-01T00:00:00Z", name: `job ${n}` });

async function submitKeyed(user: TestUser | { authorization: string }, key: string, body: unknown) {
  const auth = "auth" in user ? user.auth : user;
  const res = await request("/v1/jobs", {
    method: "POST",
    headers: { ...auth, "idempotency-key": key },
    json: body,
  });
  return { status: res.status, body: (await res.json()) as { id: string; error?: { code: string } } };
}

/** Grows the user on the home shard only: every isolate's cached count stays as it was. */
async function growBehindTheCache(user: TestUser, shards: number) {
  const out = await shardOf(user.user_id).setShards(shards);
  expect(out.ok).toBe(true);
}

/** A second API key of the user: its own cache entry, so it can hold a count the first does not. */
async function secondKey(user: TestUser): Promise<{ authorization: string }> {
  const res = await request(`/v1/admin/users/${user.user_id}/keys`, { method: "POST", headers: ADMIN });
  expect(res.status).toBe(201);
  return { authorization: `Bearer ${((await res.json()) as { api_key: string }).api_key}` };
}

/** A key whose shard under `shards` is not home, so growth moves its placement. */
async function movingKey(prefix: string, shards: number): Promise<string> {
  for (let i = 0; ; i++) {
    const key = `${prefix}-${i}`;
    if (keyShard(await sha256Hex(key), shards) !== 0) return key;
  }
}

async function jobsOnShards(userId: string, shards: number): Promise<number> {
  let n = 0;
  for (let s = 0; s < shards; s++) {
    const { live } = await shardOf(userId, s).metrics();
    n += Object.values(live).reduce((a, b) => a + b, 0);
  }
  return n;
}

describe("idempotency across shard growth", () => {
  it("64 keyed submits, growth to 8 shards, the same 64 again: every one answers its original job", async () => {
    const user = await createUser();
    const first = new Map<string, string>();
    for (let i = 0; i < 64; i++) {
      const out = await submitKeyed(user, `key-${i}`, job(i));
      expect(out.status).toBe(201);
      first.set(`key-${i}`, out.body.id);
    }
    await growShards(user, 8);
    for (let i = 0; i < 64; i++) {
      const out = await submitKeyed(user, `key-${i}`, job(i));
      expect(out.status, `key-${i}`).toBe(200);
      expect(out.body.id).toBe(first.get(`key-${i}`));
    }
    // And a key reused with another body is still a conflict, wherever it now lands.
    for (let i = 0; i < 64; i += 8)
      expect((await submitKeyed(user, `key-${i}`, job(1000 + i))).status).toBe(409);
    expect(await jobsOnShards(user.user_id, 8)).toBe(64);
  });

  it("batch items keep their idempotency_key across growth, twice over", async () => {
    const user = await createUser();
    const batch = (offset: number) => ({
      jobs: Array.from({ length: 40 }, (_, i) => ({ ...job(i), idempotency_key: `item-${i}` })).slice(offset),
    });
    const post = async (body: unknown) => {
      const res = await request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: body });
      expect(res.status).toBe(201);
      return ((await res.json()) as { results: { status: number; job: { id: string } }[] }).results;
    };
    const first = await post(batch(0));
    expect(first.every((r) => r.status === 201)).toBe(true);
    await growShards(user, 4);
    await growShards(user, 16);
    const again = await post(batch(0));
    expect(again.map((r) => r.status)).toEqual(first.map(() => 200));
    expect(again.map((r) => r.job.id)).toEqual(first.map((r) => r.job.id));
    expect(await jobsOnShards(user.user_id, 16)).toBe(40);
  });

  it("a request that still believes the old count cannot create a second job after a fresh one looked", async () => {
    const user = await createUser();
    // The user's first key is cached at one shard; the user grows behind the cache; a second key,
    // first used after the growth, knows 8 shards.
    const stale = user.auth;
    expect((await request("/v1/jobs?limit=1", { headers: stale })).status).toBe(200);
    await growBehindTheCache(user, 8);
    const fresh = await secondKey(user);

    const key = await movingKey("race", 8);
    const first = await submitKeyed(fresh, key, job(1));
    expect(first.status).toBe(201);
    // The stale request places the key on home (its count is 1), which the fresh lookup fenced: it is
    // refused there, looks again with the current count and finds the fresh job.
    const late = await submitKeyed(stale, key, job(1));
    expect(late.status).toBe(200);
    expect(late.body.id).toBe(first.body.id);
    expect(await jobsOnShards(user.user_id, 8)).toBe(1);
  });

  it("a job created under the old count is found by a request that knows the new one", async () => {
    const user = await createUser();
    const stale = await secondKey(user);
    expect((await request("/v1/jobs?limit=1", { headers: stale })).status).toBe(200);
    await growBehindTheCache(user, 8);
    const key = await movingKey("old-first", 8);
    const old = await submitKeyed(stale, key, job(2));
    expect(old.status).toBe(201);
    expect(old.body.id.startsWith("job_0_")).toBe(true);
    const fresh = await submitKeyed(user, key, job(2));
    expect(fresh.status).toBe(200);
    expect(fresh.body.id).toBe(old.body.id);
    expect((await submitKeyed(user, key, job(3))).status).toBe(409);
  });

  it("a shard refuses a keyed submit placed by a count below one it was looked up with", async () => {
    const user = await createUser();
    const shard = shardOf(user.user_id, 0);
    const ctx = {
      userId: user.user_id,
      shards: 1,
      now: Date.now(),
      allowPrivateTargets: true,
      finishedRetentionSeconds: 3600,
      indexDb: 0,
      trace: NO_TRACE,
    };
    const { spec, idempotency } = await prepareSubmission(job(0), "fenced", ctx);
    if (!idempotency) throw new Error("a keyed submission has its idempotency record");
    expect(await shard.lookupKeys([idempotency], 8)).toEqual([null]);
    expect(await shard.submit(spec, idempotency)).toEqual({ ok: false, reason: "stale_shards" });
    expect(await jobsOnShards(user.user_id, 1)).toBe(0);
    // Placed by the count it was fenced at, it is created; looked up again, it answers the job.
    expect(await shard.submit(spec, { ...idempotency, shards: 8 })).toMatchObject({
      ok: true,
      replayed: false,
    });
    expect(await shard.lookupKeys([idempotency], 8)).toMatchObject([{ ok: true, replayed: true }]);
    expect(await shard.lookupKeys([{ ...idempotency, bodyHash: "other" }], 8)).toEqual([
      { ok: false, reason: "idempotency_conflict" },
    ]);
  });
});

describe("ids and bulk actions after growth, with a stale cached count", () => {
  it("an id on a new shard is readable and cancellable at once; bulk cancel and metrics reach it", async () => {
    const user = await createUser();
    const labels = { batch: "b" };
    const old = await submit(user, { ...job(0), labels });
    expect(old.status).toBe(201);
    // This key's cached count stays 1 while the user grows; another key learns 8 and spreads jobs.
    const other = await secondKey(user);
    await growBehindTheCache(user, 8);
    const ids: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const res = await request("/v1/jobs", { method: "POST", headers: other, json: { ...job(i), labels } });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const onNewShards = ids.filter((id) => !id.startsWith("job_0_"));
    expect(onNewShards.length).toBeGreaterThan(0);

    const [first, second] = onNewShards as [string, string];
    expect((await request(`/v1/jobs/${first}`, { headers: user.auth })).status).toBe(200);
    expect((await request(`/v1/jobs/${old.body.id}`, { headers: user.auth })).status).toBe(200);
    const cancelled = await request(`/v1/jobs/${first}`, { method: "DELETE", headers: user.auth });
    expect(cancelled.status).toBe(200);

    const metrics = (await (await request("/v1/metrics", { headers: user.auth })).json()) as {
      jobs: Record<string, number>;
    };
    expect(metrics.jobs.scheduled).toBe(12);
    const bulk = await request("/v1/jobs/cancel", { method: "POST", headers: user.auth, json: { labels } });
    expect(await bulk.json()).toEqual({ matched: 12 });
    expect(await jobsOnShards(user.user_id, 8)).toBe(0);
    if (second) {
      const view = (await (await request(`/v1/jobs/${second}`, { headers: user.auth })).json()) as {
        status: string;
      };
      expect(view.status).toBe("cancelled");
    }
  });

  it("an id naming a shard the user cannot have, or does not have yet, is a 404", async () => {
    const user = await createUser();
    expect((await request("/v1/jobs/job_74_0123456789abcdefghjkmnpqrs", { headers: user.auth })).status).toBe(
      404,
    );
    expect((await request("/v1/jobs/job_7_0123456789abcdefghjkmnpqrs", { headers: user.auth })).status).toBe(
      404,
    );
  });
});
