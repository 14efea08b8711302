// Listing from the D1 index: newest first, keyset pages, filters, tamper-evident cursors, and an
// index that converges to the shard whatever order its writes arrive in.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import { upsertJobs } from "../../src/index-store/writer";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  inShard,
  lastCopyDueAt,
  request,
  setShardClock,
  submit,
  type TestUser,
} from "../support/helpers";

type Page = { jobs: JobView[]; next_cursor: string | null };

async function list(user: TestUser, query = ""): Promise<{ status: number; body: Page }> {
  const res = await request(`/v1/jobs${query}`, { headers: user.auth });
  return { status: res.status, body: (await res.json()) as Page };
}

/** Lets the shard's alarm copy pending changes to D1 (their flush delay has passed). */
async function flushIndex(user: TestUser) {
  const due = await inShard(user.user_id, (_s, state) => lastCopyDueAt(state.storage.sql));
  await setShardClock(user.user_id, Math.max(Date.now(), due ?? 0) + 1);
  await fireAlarm(user.user_id);
}

describe("GET /v1/jobs", () => {
  it("pages newest first without gaps or repeats, and filters by status and type", async () => {
    const user = await createUser();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const type = i % 2 === 0 ? "noop" : "http";
      const payload = type === "http" ? { url: "https://example.com/hook" } : undefined;
      ids.push((await submit(user, { type, payload, run_at: "2030-01-01T00:00:00Z" })).body.id);
    }
    await flushIndex(user);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const { status, body }: { status: number; body: Page } = await list(
        user,
        `?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(status).toBe(200);
      expect(body.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...body.jobs.map((j) => j.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const noops = await list(user, "?type=noop");
    expect(noops.body.jobs.map((j) => j.id)).toEqual([ids[6], ids[4], ids[2], ids[0]]);
    await request(`/v1/jobs/${ids[3]}`, { method: "DELETE", headers: user.auth });
    await flushIndex(user);
    const cancelled = await list(user, "?status=cancelled");
    expect(cancelled.body.jobs.map((j) => j.id)).toEqual([ids[3]]);
    expect(cancelled.body.jobs[0]?.status).toBe("cancelled");
  });

  it("shows only the caller's jobs", async () => {
    const alice = await createUser();
    const bob = await createUser();
    await submit(alice, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    await flushIndex(alice);
    expect((await list(bob)).body).toEqual({ jobs: [], next_cursor: null });
    expect((await list(alice)).body.jobs).toHaveLength(1);
  });

  it("rejects tampered, foreign and malformed cursors, and bad limits", async () => {
    const user = await createUser();
    const other = await createUser();
    for (let i = 0; i < 3; i++) await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    await flushIndex(user);
    const cursor = (await list(user, "?limit=1")).body.next_cursor ?? "";
    expect(cursor).not.toBe("");
    const [body, mac] = cursor.split(".");
    const flipped = `${body?.slice(0, -1)}${body?.endsWith("A") ? "B" : "A"}.${mac}`;
    for (const bad of [flipped, `${cursor}x`, "garbage", `${body}.`, ".x"]) {
      expect((await list(user, `?cursor=${encodeURIComponent(bad)}`)).status).toBe(400);
    }
    // A cursor is bound to the user and the filters it was issued for.
    expect((await list(other, `?cursor=${cursor}`)).status).toBe(400);
    expect((await list(user, `?status=scheduled&cursor=${cursor}`)).status).toBe(400);
    for (const q of ["?limit=0", "?limit=101", "?limit=abc", "?limit=1.5", "?status=done", "?page=2"]) {
      expect((await list(user, q)).status).toBe(400);
    }
  });

  it("converges to the newest version whatever order writes arrive in", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    await deliver(await fireAlarm(user.user_id));
    await flushIndex(user);
    const newest = (await list(user)).body.jobs[0];
    expect(newest?.status).toBe("succeeded");
    // A late, older write (e.g. a slow flush of the submitted state) cannot regress the row.
    await upsertJobs(env.INDEX_DB, [{ view: { ...job, status: "scheduled" }, version: 1 }]);
    await flushIndex(user);
    expect((await list(user)).body.jobs[0]?.status).toBe("succeeded");
  });

  it("shows issue 18's fields with their defaults on a copy written before they existed", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    await flushIndex(user);
    // The D1 copy as a shard before migration 0017 wrote it: without the new fields.
    const {
      flow_control: _f,
      debounce: _d,
      overlap: _o,
      catch_up: _c,
      catch_up_window_seconds: _w,
      ...old
    } = job;
    await env.INDEX_DB.prepare("update job_index set doc = ? where job_id = ?")
      .bind(JSON.stringify(old), job.id)
      .run();
    const listed = (await list(user)).body.jobs[0];
    expect(listed).toMatchObject({
      id: job.id,
      flow_control: null,
      debounce: null,
      overlap: "skip",
      catch_up: "none",
      catch_up_window_seconds: 3600,
    });
  });
});
