// Retention (design.md "Retention", issue 9): a finished job is removed from its shard and the D1 index
// once its user's retention has run out, in bounded batches by the alarm; with ARCHIVE_FINISHED it is
// first written to the results bucket as JSON lines. Time moves with the shard's injected clock.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import type { Env } from "../../src/env";
import { removeJobs } from "../../src/shard/retention-queries";
import type { ShardDb } from "../../src/shard/view";
import {
  ADMIN,
  createUser,
  deliver,
  env,
  failingD1,
  fireAlarm,
  getJob,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const RETENTION_S = 60;

async function setRetention(user: TestUser, seconds: unknown) {
  return request(`/v1/admin/users/${user.user_id}`, {
    method: "PATCH",
    headers: ADMIN,
    json: { finished_retention_seconds: seconds },
  });
}

/** A user with a one-minute retention and one finished noop job; returns the job and its finish time. */
async function finishedJob() {
  const user = await createUser();
  expect((await setRetention(user, RETENTION_S)).status).toBe(200);
  const { body: job } = await submit(user, { type: "noop" });
  // A moment after the submit, so the job is due.
  const now = Date.now() + 1_000;
  await setShardClock(user.user_id, now);
  await deliver(await fireAlarm(user.user_id));
  expect((await getJob(user, job.id)).status).toBe("succeeded");
  // The index copy lands (the consumer wrote it; the shard flushes anything pending).
  await setShardClock(user.user_id, now + 5_000);
  await runDurableObjectAlarm(shardOf(user.user_id));
  return { user, job, finishedAt: now };
}

const indexRows = async (userId: string) =>
  (
    await env.INDEX_DB.prepare("select job_id from job_index where user_id = ?")
      .bind(userId)
      .all<{ job_id: string }>()
  ).results.map((r) => r.job_id);

const rowsOf = (userId: string, jobId: string) =>
  inShard(userId, (_s, state) => ({
    jobs: state.storage.sql.exec("select 1 from jobs where id = ?", jobId).toArray().length,
    attempts: state.storage.sql.exec("select 1 from attempts where job_id = ?", jobId).toArray().length,
  }));

function shardGuts(userId: string, change: { archiveFinished?: boolean; env?: Partial<Env> }) {
  return inShard(userId, (shard) => {
    const guts = shard as unknown as { archiveFinished: boolean; env: Env };
    if (change.archiveFinished !== undefined) guts.archiveFinished = change.archiveFinished;
    if (change.env) guts.env = { ...guts.env, ...change.env };
  });
}

async function archived(userId: string): Promise<{ key: string; jobs: JobView[] }[]> {
  const listed = await env.RESULTS.list({ prefix: `archive/${userId}/` });
  return Promise.all(
    listed.objects.map(async (o) => {
      const text = (await (await env.RESULTS.get(o.key))?.text()) ?? "";
      return {
        key: o.key,
        jobs: text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as JobView),
      };
    }),
  );
}

describe("retention", () => {
  it("keeps a finished job for its retention, then removes it from the shard and the index", async () => {
    const { user, job, finishedAt } = await finishedJob();
    expect(await indexRows(user.user_id)).toEqual([job.id]);
    // The alarm is set for the removal.
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBe(
      finishedAt + RETENTION_S * 1000,
    );

    // Not a moment early.
    await setShardClock(user.user_id, finishedAt + RETENTION_S * 1000 - 1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await getJob(user, job.id)).status).toBe("succeeded");

    await setShardClock(user.user_id, finishedAt + RETENTION_S * 1000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    expect(await rowsOf(user.user_id, job.id)).toEqual({ jobs: 0, attempts: 0 });
    expect(await indexRows(user.user_id)).toEqual([]);
    const listed = (await (await request("/v1/jobs", { headers: user.auth })).json()) as { jobs: unknown[] };
    expect(listed.jobs).toEqual([]);
    // Archiving is off by default: nothing was written.
    expect(await archived(user.user_id)).toEqual([]);
    // Nothing left to wake for.
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeNull();
  });

  it("keeps unfinished and recurring jobs, and a cancelled job only for its retention", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const hourAhead = new Date(Date.now() + 3_600_000).toISOString();
    const later = (await submit(user, { type: "noop", run_at: hourAhead })).body;
    const every = (await submit(user, { type: "noop", interval_seconds: 3600 })).body;
    const cancelled = (await submit(user, { type: "noop", run_at: hourAhead })).body;
    // A moment after the submits, so the recurring job's first occurrence is due.
    const now = Date.now() + 1_000;
    await setShardClock(user.user_id, now);
    const deleted = await request(`/v1/jobs/${cancelled.id}`, { method: "DELETE", headers: user.auth });
    expect(deleted.status).toBe(200);
    await deliver(await fireAlarm(user.user_id));
    expect((await getJob(user, every.id)).runs).toBe(1);

    await setShardClock(user.user_id, now + RETENTION_S * 1000 + 1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${cancelled.id}`, { headers: user.auth })).status).toBe(404);
    expect((await getJob(user, later.id)).status).toBe("scheduled");
    expect((await getJob(user, every.id)).status).toBe("scheduled");
  });

  it("with ARCHIVE_FINISHED, writes each removed job to the bucket as a JSON line first", async () => {
    const { user, job, finishedAt } = await finishedJob();
    const before = await getJob(user, job.id);
    await shardGuts(user.user_id, { archiveFinished: true });
    await setShardClock(user.user_id, finishedAt + RETENTION_S * 1000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    const objects = await archived(user.user_id);
    expect(objects).toHaveLength(1);
    expect(objects[0]?.key).toMatch(
      new RegExp(`^archive/${user.user_id}/0/\\d{4}-\\d{2}-\\d{2}T\\d{2}/${job.id}\\.jsonl$`),
    );
    // The whole job, attempts and all, as GET showed it.
    expect(objects[0]?.jobs).toEqual([before]);
  });

  it("a crash between archive and delete: archived at least once, deleted exactly once", async () => {
    const { user, job, finishedAt } = await finishedJob();
    await shardGuts(user.user_id, { archiveFinished: true, env: { INDEX_DB: failingD1 } });
    const removalAt = finishedAt + RETENTION_S * 1000;
    await setShardClock(user.user_id, removalAt);
    await runDurableObjectAlarm(shardOf(user.user_id));
    // The archive was written, the index could not be reached: nothing is deleted, and it is tried again.
    expect((await archived(user.user_id)).flatMap((o) => o.jobs.map((j) => j.id))).toEqual([job.id]);
    expect(await rowsOf(user.user_id, job.id)).toEqual({ jobs: 1, attempts: 1 });
    expect(await indexRows(user.user_id)).toEqual([job.id]);
    const retryAt = await inShard(user.user_id, (_s, state) => state.storage.getAlarm());
    expect(retryAt).toBe(removalAt + 60_000);

    await shardGuts(user.user_id, { env: { INDEX_DB: env.INDEX_DB } });
    await setShardClock(user.user_id, removalAt + 60_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await rowsOf(user.user_id, job.id)).toEqual({ jobs: 0, attempts: 0 });
    expect(await indexRows(user.user_id)).toEqual([]);
    // Archived again by the retry (same batch, same object), never lost.
    const lines = (await archived(user.user_id)).flatMap((o) => o.jobs.map((j) => j.id));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(new Set(lines)).toEqual(new Set([job.id]));
    // A second removal of the same ids deletes nothing.
    const again = await inShard(user.user_id, (shard) =>
      removeJobs((shard as unknown as { db: ShardDb }).db, [job.id], removalAt + 120_000),
    );
    expect(again).toEqual([]);
  });

  it("removes in bounded batches: 150 due jobs take two alarms", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const now = Date.now();
    await setShardClock(user.user_id, now);
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      const { body } = await submit(user, { type: "noop", run_at: new Date(now + 3_600_000).toISOString() });
      ids.push(body.id);
      await request(`/v1/jobs/${body.id}`, { method: "DELETE", headers: user.auth });
    }
    const remaining = () =>
      inShard(user.user_id, (_s, state) => state.storage.sql.exec("select id from jobs").toArray().length);
    await setShardClock(user.user_id, now + RETENTION_S * 1000 + 1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await remaining()).toBe(50);
    // The rest is due already: the alarm is re-armed for now, not a retention later.
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeLessThanOrEqual(
      now + RETENTION_S * 1000 + 1,
    );
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await remaining()).toBe(0);
  }, 30_000);

  it("an admin sets a user's retention; bad values are a 400 and change nothing", async () => {
    const user = await createUser();
    const set = await setRetention(user, 3600);
    expect(await set.json()).toMatchObject({ user_id: user.user_id, finished_retention_seconds: 3600 });
    for (const bad of [0, -1, 1.5, "60", 10 * 365 * 24 * 3600 + 1]) {
      const res = await setRetention(user, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const empty = await request(`/v1/admin/users/${user.user_id}`, {
      method: "PATCH",
      headers: ADMIN,
      json: {},
    });
    expect(empty.status).toBe(400);
    // Still 3600: a later job carries it.
    const { body: job } = await submit(user, { type: "noop" });
    const now = Date.now() + 1_000;
    await setShardClock(user.user_id, now);
    await deliver(await fireAlarm(user.user_id));
    const alarm = await inShard(user.user_id, async (_s, state) =>
      state.storage.sql.exec<{ deadline: number }>("select deadline from jobs where id = ?", job.id).one(),
    );
    expect(alarm.deadline).toBe(now + 3600 * 1000);
    // null goes back to the global default (7 days).
    expect(await (await setRetention(user, null)).json()).toMatchObject({ finished_retention_seconds: null });
    expect(
      (
        await request("/v1/admin/users/usr_nope", {
          method: "PATCH",
          headers: ADMIN,
          json: { finished_retention_seconds: 60 },
        })
      ).status,
    ).toBe(404);
  });
});
