// Credentials rotation and revocation, rate limiting, and the hard cap on unfinished jobs.

import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
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
