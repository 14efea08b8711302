// A partitioned index (issue 9): users are assigned one of INDEX_DATABASES D1 databases at creation,
// the assignment lives on the home shard, every write of a user's jobs goes there, and listing,
// filters and cursors work unchanged for users in different databases.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import { assignIndexDatabase } from "../../src/index-store/databases";
import {
  ADMIN,
  deliver,
  env,
  fireAlarm,
  inShard,
  request,
  setShardClock,
  submit,
  type TestUser,
} from "../support/helpers";

type Page = { jobs: JobView[]; next_cursor: string | null };
const DATABASES = ["INDEX_DB", "INDEX_DB_1", "INDEX_DB_2", "INDEX_DB_3"] as const;
const d1 = (n: number) =>
  (env as unknown as Record<string, D1Database>)[DATABASES[n] ?? "INDEX_DB"] as D1Database;

/** A user created while four index databases take new users. */
async function createUserOverFour(): Promise<TestUser & { db: number }> {
  const res = await request(
    "/v1/admin/users",
    { method: "POST", headers: ADMIN, json: { name: "partitioned" } },
    { ...env, INDEX_DATABASES: "4" },
  );
  const body = (await res.json()) as Omit<TestUser, "auth">;
  return {
    ...body,
    auth: { authorization: `Bearer ${body.api_key}` },
    db: assignIndexDatabase(body.user_id, 4),
  };
}

async function listAll(user: TestUser, query: string): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res = await request(`/v1/jobs?limit=2${query}${cursor ? `&cursor=${cursor}` : ""}`, {
      headers: user.auth,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Page;
    seen.push(...body.jobs.map((j) => j.id));
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return seen;
}

const rowsIn = async (db: number, userId: string) =>
  (
    await d1(db)
      .prepare("select job_id from job_index where user_id = ?")
      .bind(userId)
      .all<{ job_id: string }>()
  ).results.length;

describe("index databases", () => {
  it("spreads new users by a stable hash; the assignment is stored and kept", async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(assignIndexDatabase(`usr_${i.toString(36).padStart(20, "0")}`, 4));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    const user = await createUserOverFour();
    const stored = await inShard(user.user_id, (_s, state) =>
      state.storage.sql.exec<{ index_db: number }>("select index_db from account").one(),
    );
    expect(stored.index_db).toBe(user.db);
  });

  it("two users in different databases list correctly, with filters and cursors", async () => {
    const users = [await createUserOverFour()];
    // A second user in another database (three in four are; bounded search).
    for (let tries = 0; tries < 40 && users.length < 2; tries++) {
      const other = await createUserOverFour();
      if (other.db !== users[0]?.db) users.push(other);
    }
    expect(users).toHaveLength(2);

    const made = new Map<string, { noop: string[]; http: string[]; done: string[] }>();
    for (const user of users) {
      const noop: string[] = [];
      const http: string[] = [];
      for (let i = 0; i < 5; i++) {
        const type = i % 2 === 0 ? "noop" : "http";
        const payload = type === "http" ? { url: "https://example.com/hook" } : undefined;
        const run_at = i < 2 ? undefined : "2030-01-01T00:00:00Z";
        const id = (await submit(user, { type, payload, run_at })).body.id;
        (type === "noop" ? noop : http).push(id);
      }
      // The due noop runs; every job's copy reaches D1 from the shard's flush (its only writer).
      const now = Date.now() + 1_000;
      await setShardClock(user.user_id, now);
      const sent = await fireAlarm(user.user_id);
      await deliver(sent.filter((m) => noop.includes(m.job_id)));
      await setShardClock(user.user_id, now + 5_000);
      await fireAlarm(user.user_id);
      made.set(user.user_id, {
        noop,
        http,
        done: sent.filter((m) => noop.includes(m.job_id)).map((m) => m.job_id),
      });
    }

    for (const user of users) {
      const mine = made.get(user.user_id);
      if (!mine) throw new Error("no jobs");
      // Every row in the user's own database, none elsewhere.
      for (let db = 0; db < 4; db++)
        expect(await rowsIn(db, user.user_id), `db ${db}`).toBe(db === user.db ? 5 : 0);
      const all = await listAll(user, "");
      expect(new Set(all)).toEqual(new Set([...mine.noop, ...mine.http]));
      expect(all).toHaveLength(5);
      expect(new Set(await listAll(user, "&type=noop"))).toEqual(new Set(mine.noop));
      expect(new Set(await listAll(user, "&status=succeeded"))).toEqual(new Set(mine.done));
      expect(mine.done.length).toBeGreaterThan(0);
    }
    // A cursor is the user's own: another user's cursor is refused even across databases.
    const [a, b] = users;
    if (!a || !b) throw new Error("two users");
    const first = (await (await request("/v1/jobs?limit=1", { headers: a.auth })).json()) as Page;
    expect(first.next_cursor).not.toBeNull();
    const foreign = await request(`/v1/jobs?limit=1&cursor=${first.next_cursor}`, { headers: b.auth });
    expect(foreign.status).toBe(400);
  });
});
