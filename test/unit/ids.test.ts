import { describe, expect, it } from "vitest";
import {
  apiKeyTagHolds,
  constantTimeEqual,
  issueApiKey,
  newApiKey,
  newJobId,
  newSigningSecret,
  newUserId,
  shardOfJobId,
  userIdOfApiKey,
} from "../../src/core/ids";
import { decodeCursor, encodeCursor } from "../../src/index-store/cursor";

describe("ids", () => {
  it("encodes the shard in the job id and rejects anything else", () => {
    expect(shardOfJobId(newJobId(0, Date.now()))).toBe(0);
    expect(shardOfJobId(newJobId(37, Date.now()))).toBe(37);
    for (const bad of [
      "",
      "job_0_short",
      "job__0123456789abcdefghjkmnpqrs",
      "JOB_0_0123456789abcdefghjkmnpqrs",
      "job_0_0123456789abcdefghjkmnpqrsu",
    ]) {
      expect(shardOfJobId(bad)).toBeNull();
    }
  });

  it("orders job ids by creation time", () => {
    const a = newJobId(0, 1_700_000_000_000);
    const b = newJobId(0, 1_700_000_000_001);
    expect(a < b).toBe(true);
  });

  it("draws every id's random part afresh, across refills of the random pool", () => {
    // 16 random characters an id, a 4 KiB pool: 10,000 ids in one millisecond span ~40 refills.
    const ids = Array.from({ length: 10_000 }, () => newJobId(3, 1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(-16))).size).toBe(ids.length);
    for (const id of ids) expect(shardOfJobId(id)).toBe(3);
    // Each of the 32 characters turns up in each random position, as uniform bytes & 31 would make it.
    for (let position = 0; position < 16; position++) {
      const seen = new Set(ids.map((id) => id.at(-16 + position)));
      expect(seen.size, `position ${position}`).toBe(32);
    }
    expect(new Set(Array.from({ length: 1_000 }, newUserId)).size).toBe(1_000);
  });

  it("names the user in the API key, with 32 random bytes after it", () => {
    const user = newUserId();
    const key = newApiKey(user);
    expect(userIdOfApiKey(key)).toBe(user);
    expect(key.slice(`sk_${user}_`.length)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newApiKey(user)).not.toBe(key);
    expect(userIdOfApiKey(`${key}x`)).toBeNull();
    expect(userIdOfApiKey("sk_usr_x_y")).toBeNull();
  });

  it("makes signing secrets Standard Webhooks can use: whsec_ and base64 of 32 bytes", () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0))).toHaveLength(32);
    expect(newSigningSecret()).not.toBe(secret);
  });

  it("compares secrets by content", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});

describe("cursors", () => {
  const at = { createdAt: 1_700_000_000_000, jobId: "job_0_abc" };

  it("round-trips within its scope only", async () => {
    const cursor = await encodeCursor("secret", "user|scheduled|", at);
    expect(await decodeCursor("secret", "user|scheduled|", cursor)).toEqual(at);
    expect(await decodeCursor("secret", "user||", cursor)).toBeNull();
    expect(await decodeCursor("other-secret", "user|scheduled|", cursor)).toBeNull();
  });

  it("rejects any altered byte", async () => {
    const cursor = await encodeCursor("secret", "s", at);
    for (let i = 0; i < cursor.length; i++) {
      const c = cursor[i] === "A" ? "B" : "A";
      const altered = cursor.slice(0, i) + c + cursor.slice(i + 1);
      if (altered !== cursor) expect(await decodeCursor("secret", "s", altered)).toBeNull();
    }
  });

  it("issues keys of the usual shape whose tag holds only under the secret they were issued with", async () => {
    const user = newUserId();
    const key = await issueApiKey(user, "secret-a");
    expect(key).toMatch(/^sk_usr_[0-9a-z]{20}_[A-Za-z0-9_-]{43}$/);
    expect(userIdOfApiKey(key)).toBe(user);
    expect(await issueApiKey(user, "secret-a")).not.toBe(key);
    expect(await apiKeyTagHolds(key, "secret-a")).toBe(true);
    expect(await apiKeyTagHolds(key, "secret-b")).toBe(false);
    // Not for another user, not changed by a character, not for a key issued before tags.
    expect(await apiKeyTagHolds(key.replace(user, newUserId()), "secret-a")).toBe(false);
    const last = key.at(-1) === "A" ? "B" : "A";
    expect(await apiKeyTagHolds(`${key.slice(0, -1)}${last}`, "secret-a")).toBe(false);
    expect(await apiKeyTagHolds(newApiKey(user), "secret-a")).toBe(false);
    // Nor another spelling of the same bytes: the last character's low 2 bits are padding.
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const padded = B64[B64.indexOf(key.at(-1) ?? "A") ^ 1];
    expect(await apiKeyTagHolds(`${key.slice(0, -1)}${padded}`, "secret-a")).toBe(false);
    expect(await apiKeyTagHolds("sk_usr_x_y", "secret-a")).toBe(false);
  });
});
