// GET /v1/admin/users (issue 11): the user directory in D1, written before each account is created,
// listed oldest first with signed keyset cursors; each user's shard count comes from its home shard.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { encodeCursor } from "../../src/index-store/cursor";
import { registerUser } from "../../src/index-store/user-directory";
import { ADMIN, createUser, env, failingD1, request } from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

interface Listed {
  user_id: string;
  name: string | null;
  created_at: string;
  shards: number;
}
interface Page {
  users: Listed[];
  next_cursor: string | null;
}

async function page(query = "", bindings?: Env): Promise<Page> {
  const res = await request(`/v1/admin/users${query}`, { headers: ADMIN }, bindings);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Every listed user, following next_cursor `limit` at a time. */
async function walk(limit: number): Promise<{ users: Listed[]; pages: number }> {
  const users: Listed[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const p: Page = await page(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(p.users.length).toBeLessThanOrEqual(limit);
    users.push(...p.users);
    cursor = p.next_cursor;
    pages++;
  } while (cursor);
  return { users, pages };
}

describe("GET /v1/admin/users", () => {
  it("lists every user once, oldest first, with name, created_at and the shard count as it is now", async () => {
    const made = [await createUser("ada"), await createUser("bob"), await createUser("cy")];
    const grown = await request(`/v1/admin/users/${made[1]?.user_id}`, {
      method: "PATCH",
      headers: ADMIN,
      json: { shards: 3 },
    });
    expect(grown.status).toBe(200);
    const { users, pages } = await walk(2);
    expect(pages).toBeGreaterThanOrEqual(2);
    const ids = users.map((u) => u.user_id);
    expect(new Set(ids).size).toBe(ids.length);
    const ours = users.filter((u) => made.some((m) => m.user_id === u.user_id));
    expect(ours.map((u) => [u.user_id, u.name, u.shards])).toEqual([
      [made[0]?.user_id, "ada", 1],
      [made[1]?.user_id, "bob", 3],
      [made[2]?.user_id, "cy", 1],
    ]);
    const times = users.map((u) => Date.parse(u.created_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(ours.every((u) => Math.abs(Date.parse(u.created_at) - Date.now()) < 60_000)).toBe(true);
  });

  it("leaves out an entry whose account was never created (creation failed after its listing)", async () => {
    await registerUser(env.INDEX_DB, { userId: "usr_neverfinished000000", name: "ghost", createdAt: 1 });
    const real = await createUser("real");
    const { users } = await walk(100);
    expect(users.some((u) => u.user_id === "usr_neverfinished000000")).toBe(false);
    expect(users.some((u) => u.user_id === real.user_id)).toBe(true);
  });

  it("refuses a tampered, foreign or malformed cursor and a bad limit with 400", async () => {
    await createUser();
    await createUser();
    const first = await page("?limit=1");
    const cursor = first.next_cursor ?? "";
    expect(cursor).not.toBe("");
    const [body, mac] = cursor.split(".");
    // A job listing's cursor, signed with the same secret for a user's job listing.
    const user = await createUser();
    const foreign = await encodeCursor("test-cursor-secret", `${user.user_id}||`, {
      createdAt: Date.now(),
      jobId: user.user_id,
    });
    for (const bad of [
      foreign,
      `${body}x.${mac}`,
      `${body}.${mac?.slice(1)}A`,
      "garbage",
      `${cursor}.extra`,
    ]) {
      const res = await request(`/v1/admin/users?cursor=${encodeURIComponent(bad)}`, { headers: ADMIN });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    for (const q of ["?limit=0", "?limit=101", "?limit=x", "?cursor=", "?other=1"]) {
      expect((await request(`/v1/admin/users${q}`, { headers: ADMIN })).status).toBe(400);
    }
  });

  it("needs the admin token: a user's key or none is a 401", async () => {
    const user = await createUser();
    for (const headers of [user.auth, {}, { authorization: "Bearer wrong" }]) {
      const res = await request("/v1/admin/users", { headers });
      expect(res.status).toBe(401);
    }
  });

  it("answers 503 while the directory's database is down, for listing and for creating a user", async () => {
    const down = { ...env, INDEX_DB: failingD1 } as unknown as Env;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const listed = await request("/v1/admin/users", { headers: ADMIN }, down);
    expect(listed.status).toBe(503);
    expect(listed.headers.get("retry-after")).toBe("5");
    const created = await request(
      "/v1/admin/users",
      { method: "POST", headers: ADMIN, json: { name: "x" } },
      down,
    );
    expect(created.status).toBe(503);
    expect(((await created.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('"event":"user_directory_failed"'));
  });
});
