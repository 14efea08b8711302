// Credentials rotation and revocation, rate limiting, and the hard cap on unfinished jobs.

import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forgetAuthentication, forgetVerifiedKeys } from "../../src/api/auth";
import { ASK_AFTER } from "../../src/api/key-rate";
import { newApiKey, sha256Hex } from "../../src/core/ids";
import type { Env } from "../../src/env";
import {
  ADMIN,
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  inShard,
  request,
  setShardClock,
  submit,
} from "../support/helpers";
import { counts, expectEnvelope } from "../support/refusals";

afterEach(() => {
  vi.restoreAllMocks();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("API keys", () => {
  it("rotates: a new key works alongside the old until the old is revoked", async () => {
    const user = await createUser();
    const created = await request(`/v1/admin/users/${user.user_id}/keys`, { method: "POST", headers: ADMIN });
    expect(created.status).toBe(201);
    const { api_key: fresh, key_id } = (await created.json()) as { api_key: string; key_id: string };
    expect((await request("/v1/pools", { headers: bearer(fresh) })).status).toBe(200);
    expect((await request("/v1/pools", { headers: user.auth })).status).toBe(200);

    const keys = (await (
      await request(`/v1/admin/users/${user.user_id}/keys`, { headers: ADMIN })
    ).json()) as {
      keys: { key_id: string; revoked_at: string | null }[];
    };
    expect(keys.keys).toHaveLength(2);
    const old = keys.keys.find((k) => k.key_id !== key_id);
    const revoke = await request(`/v1/admin/users/${user.user_id}/keys/${old?.key_id}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    expect(revoke.status).toBe(200);
    expect(((await revoke.json()) as { revoked_at: string | null }).revoked_at).not.toBeNull();
    expect((await request("/v1/pools", { headers: user.auth })).status).toBe(401);
    expect((await request("/v1/pools", { headers: bearer(fresh) })).status).toBe(200);
  });

  it("answers 404 for unknown users and keys, 401 without the admin token", async () => {
    const user = await createUser();
    const base = `/v1/admin/users/${user.user_id}/keys`;
    expect((await request(`${base}/0000000000000000`, { method: "DELETE", headers: ADMIN })).status).toBe(
      404,
    );
    expect(
      (await request("/v1/admin/users/usr_00000000000000000000/keys", { method: "POST", headers: ADMIN }))
        .status,
    ).toBe(404);
    expect(
      (await request("/v1/admin/users/not-a-user/keys", { method: "POST", headers: ADMIN })).status,
    ).toBe(404);
    expect((await request(base, { method: "POST", headers: user.auth })).status).toBe(401);
    expect((await request(base, { headers: user.auth })).status).toBe(401);
  });
});

describe("signing secrets", () => {
  it("signs with both secrets during the overlap, then with the new one only", async () => {
    const user = await createUser();
    const rotated = await request(`/v1/admin/users/${user.user_id}/signing-secrets`, {
      method: "POST",
      headers: ADMIN,
      json: { overlap_seconds: 3600 },
    });
    expect(rotated.status).toBe(201);
    const { signing_secret: fresh } = (await rotated.json()) as { signing_secret: string };
    const seen: { body: string; headers: Record<string, string> }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => {
      seen.push({ body: String(init?.body), headers: Object.fromEntries(new Headers(init?.headers)) });
      return new Response("ok");
    });
    const job = {
      type: "http",
      payload: { url: "https://example.com/hook", body: { n: 1 } },
      interval_seconds: 7200,
    };
    await submit(user, job);
    await deliver(await fireAlarm(user.user_id));
    const during = seen[0];
    expect(during).toBeDefined();
    expect(() => new Webhook(fresh).verify(during?.body ?? "", during?.headers ?? {})).not.toThrow();
    expect(() =>
      new Webhook(user.signing_secret).verify(during?.body ?? "", during?.headers ?? {}),
    ).not.toThrow();

    await setShardClock(user.user_id, Date.now() + 7_300_000);
    await deliver(await fireAlarm(user.user_id));
    const after = seen[1];
    expect(after?.headers["webhook-signature"]?.split(" ")).toHaveLength(1);
    expect(() => new Webhook(fresh).verify(after?.body ?? "", after?.headers ?? {})).not.toThrow();
    expect(() => new Webhook(user.signing_secret).verify(after?.body ?? "", after?.headers ?? {})).toThrow();
  });
});

describe("limits", () => {
  it("answers 429 with Retry-After when the key's rate limit is spent, and changes nothing", async () => {
    const user = await createUser();
    const limited: Env = { ...env, KEY_RATE_LIMITER: { limit: async () => ({ success: false }) } };
    const res = await request(
      "/v1/jobs",
      { method: "POST", headers: user.auth, json: { type: "noop" } },
      limited,
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    const count = await inShard(
      user.user_id,
      (_s, state) => state.storage.sql.exec<{ n: number }>("select count(*) as n from jobs").one().n,
    );
    expect(count).toBe(0);
  });

  it("charges the key's rate in arrears: fewer asks than requests, every request counted but the last unasked", async () => {
    const user = await createUser();
    const asks: number[] = [];
    const limiter = {
      limit: async (options: { key: string; delta?: number }) => {
        asks.push(options.delta ?? 1);
        return { success: true };
      },
    };
    const later = new Date(Date.now() + 3_600_000).toISOString();
    for (let i = 0; i < 40; i++) {
      const res = await request(
        "/v1/jobs",
        { method: "POST", headers: user.auth, json: { type: "noop", run_at: later } },
        { ...env, KEY_RATE_LIMITER: limiter },
      );
      expect(res.status).toBe(201);
    }
    // Three asks when the 40 take under a second (the first, then one per ASK_AFTER); one more per
    // second they take. An ask per request (the binding called every time) is 40.
    expect(asks.length).toBeLessThanOrEqual(20);
    const charged = asks.reduce((a, b) => a + b, 0);
    expect(charged).toBeLessThanOrEqual(40);
    expect(charged).toBeGreaterThan(40 - ASK_AFTER);
    expect(Math.max(...asks)).toBeLessThanOrEqual(ASK_AFTER);
  });

  it("caps a shard's unfinished jobs with a 429, and accepts again once jobs finish", async () => {
    const user = await createUser();
    await inShard(user.user_id, (shard) => {
      shard.context.policy.maxUnfinished = 2;
    });
    expect((await submit(user, { type: "noop" })).status).toBe(201);
    expect((await submit(user, { type: "noop" })).status).toBe(201);
    const third = await request("/v1/jobs", { method: "POST", headers: user.auth, json: { type: "noop" } });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("60");
    await deliver(await fireAlarm(user.user_id));
    expect((await submit(user, { type: "noop" })).status).toBe(201);
  });
});

describe("names without control characters (issue 22)", () => {
  const refusedAt = async (res: Response, path: string) => {
    const error = await expectEnvelope(res, 400);
    expect(error.details, path).toContainEqual({
      path,
      message: expect.stringMatching(/control characters/),
    });
  };

  it("refuses one in a name, label keys and values, flow-control and debounce keys, naming the field", async () => {
    const user = await createUser();
    const post = (json: Record<string, unknown>) =>
      request("/v1/jobs", { method: "POST", headers: user.auth, json: { type: "noop", ...json } });
    await refusedAt(await post({ name: "nightly\u0000" }), "name");
    await refusedAt(await post({ name: "a\r\nb" }), "name");
    await refusedAt(await post({ labels: { team: "\u001b[2J" } }), "labels.team");
    await refusedAt(await post({ labels: { "t\u007feam": "x" } }), "labels.t\u007feam");
    await refusedAt(await post({ flow_control: { key: "k\u0000", concurrency: 1 } }), "flow_control.key");
    await refusedAt(await post({ debounce: { key: "k\n", delay_seconds: 5 } }), "debounce.key");
    const batch = await request("/v1/jobs/batch", {
      method: "POST",
      headers: user.auth,
      json: { jobs: [{ type: "noop" }, { type: "noop", name: "\u0085" }] },
    });
    await refusedAt(batch, "jobs[1].name");
    expect(await counts(user)).toEqual({ jobs: 0, keys: 0 });

    const { body: job } = await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z", name: "ok" });
    const patch = await request(`/v1/jobs/${job.id}`, {
      method: "PATCH",
      headers: user.auth,
      json: { name: "x\u0000" },
    });
    await refusedAt(patch, "name");
    expect((await getJob(user, job.id)).name).toBe("ok");
    await expectEnvelope(await request("/v1/flow-control/k%00", { headers: user.auth }), 400);
    // Format characters are not control characters: a zero-width joiner or an RTL mark stays a name.
    expect((await submit(user, { type: "noop", name: "a\u200db\u200f" })).status).toBe(201);
  });

  it("refuses one in a user's name (admin)", async () => {
    const res = await request("/v1/admin/users", {
      method: "POST",
      headers: ADMIN,
      json: { name: "a\u0000" },
    });
    await refusedAt(res, "name");
  });
});

describe("failed authentication is limited per client and per claimed user (issue 22)", () => {
  const LIMIT = 5;
  /** The Worker's env with a small limit, whose shard namespace counts the objects asked. */
  function limitedEnv() {
    const asked: string[] = [];
    const shards = env.TASK_SHARD;
    const counting = {
      idFromName: (name: string) => {
        asked.push(name);
        return shards.idFromName(name);
      },
      get: (id: DurableObjectId) => shards.get(id),
    } as unknown as Env["TASK_SHARD"];
    const bindings: Env = { ...env, TASK_SHARD: counting, AUTH_FAILURE_LIMIT: String(LIMIT) };
    return { bindings, asked };
  }
  const from = (client: string, key: string) => ({
    authorization: `Bearer ${key}`,
    "cf-connecting-ip": client,
  });
  const guess = (userId: string) => `sk_${userId}_${"A".repeat(43)}`;
  const pools = (bindings: Env, headers: Record<string, string>) =>
    request("/v1/pools", { headers }, bindings);

  beforeEach(() => {
    forgetAuthentication();
  });

  it("a client's wrong keys get 401 up to the limit, then 429 with Retry-After and no shard asked", async () => {
    const user = await createUser();
    const { bindings, asked } = limitedEnv();
    const client = "198.51.100.7";
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      // Each names a user of its own, so only the client's count can stop them.
      const res = await pools(bindings, from(client, guess(`usr_${String(i).padStart(20, "0")}`)));
      statuses.push(res.status);
    }
    expect(statuses).toEqual(new Array(LIMIT).fill(401));
    expect(asked).toHaveLength(LIMIT);
    const limited = await pools(bindings, from(client, guess("usr_99999999999999999999")));
    const error = await expectEnvelope(limited, 429);
    expect(error.code).toBe("rate_limited");
    // 5 a minute refill one every 12 s.
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(12);
    // A malformed key counts the same.
    await expectEnvelope(await pools(bindings, from(client, "not-a-key")), 429);
    expect(asked).toHaveLength(LIMIT);
    // The user's right key still works from that very client (it was issued by the server), and
    // another client is not slowed at all.
    expect((await pools(bindings, from(client, user.api_key))).status).toBe(200);
    expect((await pools(bindings, from("198.51.100.8", guess("usr_99999999999999999999")))).status).toBe(401);
  });

  it("is exact under concurrency: tries sent at once are charged before the shard is asked", async () => {
    const victim = await createUser();
    const { bindings, asked } = limitedEnv();
    const replies = await Promise.all(
      Array.from({ length: LIMIT * 3 }, (_, i) =>
        pools(bindings, from(`192.0.2.${100 + i}`, guess(victim.user_id))),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(LIMIT * 2);
    expect(asked).toHaveLength(LIMIT);
  });

  it("wrong keys naming one user from many clients: 429 past the limit, and that user's right key still works", async () => {
    const victim = await createUser();
    const { bindings, asked } = limitedEnv();
    for (let i = 0; i < LIMIT; i++)
      expect((await pools(bindings, from(`203.0.113.${i}`, guess(victim.user_id)))).status).toBe(401);
    const before = asked.length;
    const fresh = await pools(bindings, from("203.0.113.200", guess(victim.user_id)));
    await expectEnvelope(fresh, 429);
    expect(asked.length).toBe(before);
    // Not cached in this isolate (forgotten above), from a client that never failed: still served.
    forgetVerifiedKeys();
    expect((await pools(bindings, from("192.0.2.1", victim.api_key))).status).toBe(200);
    // A key rotated in later is issued by the server too.
    const rotated = await request(`/v1/admin/users/${victim.user_id}/keys`, {
      method: "POST",
      headers: ADMIN,
    });
    const { api_key: second } = (await rotated.json()) as { api_key: string };
    expect((await pools(bindings, from("192.0.2.2", second))).status).toBe(200);
  });

  it("a key from before tags is not slowed once verified here; a revoked tagged key loses its pass", async () => {
    const user = await createUser();
    const { bindings } = limitedEnv();
    // An untagged key, as every key was issued before issue 22.
    const legacy = newApiKey(user.user_id);
    await inShard(user.user_id, async (shard) => {
      await shard.addKey(await sha256Hex(legacy));
    });
    expect((await pools(bindings, from("192.0.2.10", legacy))).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) await pools(bindings, from(`192.0.2.${20 + i}`, guess(user.user_id)));
    await expectEnvelope(await pools(bindings, from("192.0.2.40", guess(user.user_id))), 429);
    forgetVerifiedKeys();
    expect((await pools(bindings, from("192.0.2.41", legacy))).status).toBe(200);

    // Revoked: the tag still holds, but the shard refused it here once, so it counts like a guess.
    const other = await createUser();
    const keys = (await (
      await request(`/v1/admin/users/${other.user_id}/keys`, { headers: ADMIN })
    ).json()) as {
      keys: { key_id: string }[];
    };
    await request(`/v1/admin/users/${other.user_id}/keys/${keys.keys[0]?.key_id}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    for (let i = 0; i < LIMIT; i++)
      expect((await pools(bindings, from("192.0.2.50", other.api_key))).status).toBe(401);
    await expectEnvelope(await pools(bindings, from("192.0.2.50", other.api_key)), 429);
  });

  it("the admin token: a client's wrong tokens get 429 past the limit (even its right one); other clients are served", async () => {
    const { bindings } = limitedEnv();
    const admin = (client: string, token: string) =>
      request("/v1/admin/users", { headers: from(client, token) }, bindings);
    for (let i = 0; i < LIMIT; i++) expect((await admin("198.51.100.66", `wrong-${i}`)).status).toBe(401);
    const limited = await admin("198.51.100.66", "wrong-again");
    await expectEnvelope(limited, 429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    await expectEnvelope(await admin("198.51.100.66", "test-admin-token"), 429);
    expect((await admin("198.51.100.67", "test-admin-token")).status).toBe(200);
    // An API key's failures and the admin token's are counted apart.
    expect((await pools(bindings, from("198.51.100.66", guess("usr_00000000000000000001")))).status).toBe(
      401,
    );
  });

  it("counts an IPv6 client by its /64, and requests without CF-Connecting-IP as one client", async () => {
    const { bindings } = limitedEnv();
    for (let i = 0; i < LIMIT; i++)
      await pools(bindings, from(`2001:db8:1:2::${i + 1}`, guess(`usr_${String(i).padStart(20, "1")}`)));
    await expectEnvelope(
      await pools(bindings, from("2001:db8:1:2:ffff::9", guess("usr_22222222222222222222"))),
      429,
    );
    expect((await pools(bindings, from("2001:db8:1:3::1", guess("usr_22222222222222222222")))).status).toBe(
      401,
    );
    const bare = (key: string) =>
      request("/v1/pools", { headers: { authorization: `Bearer ${key}` } }, bindings);
    for (let i = 0; i < LIMIT; i++) await bare(guess(`usr_${String(i).padStart(20, "3")}`));
    await expectEnvelope(await bare(guess("usr_44444444444444444444")), 429);
  });
});
