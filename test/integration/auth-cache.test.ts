// The isolate's verified keys (src/api/verified-keys.ts) as requests use them: a key's first requests,
// sent at once, ask its home shard once; a failed ask leaves each waiter to ask for itself; and a
// revoked key stops working at once where it was revoked. The timings are unit-tested
// (test/unit/verified-keys.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forgetAuthentication } from "../../src/api/auth";
import { VERIFIED_KEY_TIMINGS } from "../../src/api/verified-keys";
import type { Env } from "../../src/env";
import { ADMIN, createUser, request } from "../support/helpers";
import { recordingShardRpcs } from "../support/shard-rpcs";

const pools = (key: string, bindings: Env) =>
  request("/v1/pools", { headers: { authorization: `Bearer ${key}` } }, bindings);

const authentications = (calls: readonly string[]) => calls.filter((c) => c.endsWith(" authenticate"));

describe("verified keys: one ask of the home shard at a time", () => {
  beforeEach(() => {
    forgetAuthentication();
  });

  it("20 requests sent at once with a key this isolate has not verified ask its home shard once", async () => {
    const user = await createUser();
    forgetAuthentication();
    const { bindings, calls } = recordingShardRpcs();
    const replies = await Promise.all(Array.from({ length: 20 }, () => pools(user.api_key, bindings)));
    expect(replies.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(authentications(calls)).toEqual([`${user.user_id}/0 authenticate`]);
    // Verified now: the next requests ask nothing.
    expect((await pools(user.api_key, bindings)).status).toBe(200);
    expect(authentications(calls)).toHaveLength(1);
  });

  it("when the ask fails, the requests that waited for it ask for themselves and are served", async () => {
    const user = await createUser();
    forgetAuthentication();
    let failed = 0;
    const { bindings, calls } = recordingShardRpcs(
      (call) => call.endsWith(" authenticate") && failed++ === 0,
    );
    const replies = await Promise.all(Array.from({ length: 6 }, () => pools(user.api_key, bindings)));
    const statuses = replies.map((r) => r.status).sort();
    // The request whose ask failed answers as any unreachable shard does; every other one is served.
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([500]);
    expect(authentications(calls).length).toBeGreaterThanOrEqual(2);
    expect(authentications(calls).length).toBeLessThanOrEqual(6);
  });

  it("requests for different keys do not wait on each other's asks", async () => {
    const [a, b] = [await createUser(), await createUser()];
    forgetAuthentication();
    const { bindings, calls } = recordingShardRpcs();
    const replies = await Promise.all([a, b, a, b].map((u) => pools(u.api_key, bindings)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(authentications(calls).sort()).toEqual(
      [`${a.user_id}/0 authenticate`, `${b.user_id}/0 authenticate`].sort(),
    );
  });

  it("a revoked key's requests sent at once are all refused: a refusal is no answer for those waiting", async () => {
    const user = await createUser();
    const added = await request(`/v1/admin/users/${user.user_id}/keys`, { method: "POST", headers: ADMIN });
    const { api_key: second } = (await added.json()) as { api_key: string };
    const { bindings, calls } = recordingShardRpcs();
    expect((await pools(second, bindings)).status).toBe(200);
    const listed = (await (
      await request(`/v1/admin/users/${user.user_id}/keys`, { headers: ADMIN })
    ).json()) as {
      keys: { key_id: string; created_at: string }[];
    };
    const newest = [...listed.keys].sort((x, y) => x.created_at.localeCompare(y.created_at)).at(-1);
    const revoked = await request(`/v1/admin/users/${user.user_id}/keys/${newest?.key_id}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    expect(revoked.status).toBeLessThan(300);
    const before = authentications(calls).length;
    const replies = await Promise.all(Array.from({ length: 5 }, () => pools(second, bindings)));
    expect(replies.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(authentications(calls).length - before).toBeGreaterThanOrEqual(1);
    // The user's first key is untouched.
    expect((await pools(user.api_key, bindings)).status).toBe(200);
  });

  describe("refreshed ahead", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("in an entry's last seconds one request asks again while the others are served from it; a failed ask still serves", async () => {
      const user = await createUser();
      forgetAuthentication();
      let failing = false;
      const { bindings, calls } = recordingShardRpcs((call) => failing && call.endsWith(" authenticate"));
      const t0 = Date.now();
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(t0);
      expect((await pools(user.api_key, bindings)).status).toBe(200);
      expect(authentications(calls)).toHaveLength(1);
      // Into the refresh window: of five requests at once, one asks.
      const { ttlMs, refreshAheadMs } = VERIFIED_KEY_TIMINGS;
      const refreshedAt = t0 + ttlMs - refreshAheadMs + 1;
      vi.setSystemTime(refreshedAt);
      const replies = await Promise.all(Array.from({ length: 5 }, () => pools(user.api_key, bindings)));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(authentications(calls)).toHaveLength(2);
      // Its answer gave the entry a new life: past the first one's end, nothing is asked.
      vi.setSystemTime(t0 + ttlMs + 1);
      expect((await pools(user.api_key, bindings)).status).toBe(200);
      expect(authentications(calls)).toHaveLength(2);
      // The next refresh fails: the request that asked is still served, from the entry.
      failing = true;
      vi.setSystemTime(refreshedAt + ttlMs - refreshAheadMs);
      expect((await pools(user.api_key, bindings)).status).toBe(200);
      expect(authentications(calls)).toHaveLength(3);
      // Once the entry is gone, a failed ask is an error (nothing vouches for the key).
      vi.setSystemTime(refreshedAt + ttlMs);
      expect((await pools(user.api_key, bindings)).status).toBe(500);
    });
  });
});
