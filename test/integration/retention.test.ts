// Retention (docs/design.md "Retention", issue 9): a finished job is removed from its shard and the D1 index
// once its user's retention has run out, in bounded batches by the alarm; with ARCHIVE_FINISHED it is
// first written to the results bucket as JSON lines. Time moves with the shard's injected clock.

import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { JobView } from "../../src/core/job";
import { removalTime } from "../../src/core/removal-time";
import type { Env } from "../../src/env";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import { shardStub } from "../../src/shard/address";
import type { ShardDb } from "../../src/shard/db";
import { removeJobs } from "../../src/shard/sql/retention";
import {
  ADMIN,
  ALL_ATTEMPTS,
  adminPatchUser,
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
import { expectLogged } from "../support/log-capture";

const RETENTION_S = 60;
/** When a job of RETENTION_S finishing at `at` is removed: on the retention's grid (6 s). */
const removalAt = (at: number) => removalTime(at, RETENTION_S);

afterEach(() => {
  vi.restoreAllMocks();
});

const setRetention = (user: TestUser, seconds: unknown) =>
  adminPatchUser(user, { finished_retention_seconds: seconds });

/** A user with a one-minute retention and one finished noop job; returns the job and its finish time. */
const HOUR_MS = 3_600_000;

async function finishedJob() {
  const user = await createUser();
  expect((await setRetention(user, RETENTION_S)).status).toBe(200);
  const { body: job } = await submit(user, { type: "noop" });
  // After the submit, so the job is due, and early in an hour: its removal and the removal's retry a
  // minute later then archive under the same hour (the archive's key names it: src/shard/archive.ts).
  const now = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS + 1_000;
  await setShardClock(user.user_id, now);
  await deliver(await fireAlarm(user.user_id));
  expect((await getJob(user, job.id)).status).toBe("succeeded");
  // The index copy lands (the consumer wrote it; the shard flushes anything pending).
  await setShardClock(user.user_id, now + 5_000);
  await runDurableObjectAlarm(shardOf(user.user_id));
  return { user, job, finishedAt: now };
}

/** As finishedJob, but an http job whose result went to the results bucket (result_location). */
async function finishedWithResult() {
  const user = await createUser();
  expect((await setRetention(user, RETENTION_S)).status).toBe(200);
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("report"));
  const { body: job } = await submit(user, {
    type: "http",
    payload: { url: "https://example.com/report" },
    result_location: "r2://reports/daily",
  });
  const now = Date.now() + 1_000;
  await setShardClock(user.user_id, now);
  await deliver(await fireAlarm(user.user_id));
  expect((await getJob(user, job.id)).status).toBe("succeeded");
  await setShardClock(user.user_id, now + 5_000);
  await runDurableObjectAlarm(shardOf(user.user_id));
  return { user, job, finishedAt: now };
}

/** Where the job's attempt `n` of occurrence `o` wrote its result: under its user's root. */
const resultAt = (user: TestUser, jobId: string, o = 0, n = 1) =>
  `results/${user.user_id}/reports/daily/${jobId}/${o}-${n}.json`;

const indexRows = async (userId: string) =>
  (
    await env.INDEX_DB.prepare("select job_id from job_index where user_id = ?")
      .bind(userId)
      .all<{ job_id: string }>()
  ).results.map((r) => r.job_id);

const rowsOf = (userId: string, jobId: string) =>
  inShard(userId, (_s, state) => ({
    jobs: state.storage.sql.exec("select 1 from jobs where id = ?", jobId).toArray().length,
    attempts: state.storage.sql.exec(`select 1 from ${ALL_ATTEMPTS} where job_id = ?`, jobId).toArray()
      .length,
  }));

function shardGuts(userId: string, change: { archiveFinished?: boolean; env?: Partial<Env> }) {
  return inShard(userId, (shard) => {
    const guts = shard as unknown as { context: { archiveFinished: boolean }; env: Env };
    if (change.archiveFinished !== undefined) guts.context.archiveFinished = change.archiveFinished;
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
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBe(removalAt(finishedAt));

    // Not a moment early.
    await setShardClock(user.user_id, removalAt(finishedAt) - 1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await getJob(user, job.id)).status).toBe("succeeded");

    await setShardClock(user.user_id, removalAt(finishedAt));
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

    await setShardClock(user.user_id, removalAt(now));
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${cancelled.id}`, { headers: user.auth })).status).toBe(404);
    expect((await getJob(user, later.id)).status).toBe("scheduled");
    expect((await getJob(user, every.id)).status).toBe("scheduled");
  });

  it("a bulk cancel puts each job's removal on its own retention's grid, as a single cancel does", async () => {
    const user = await createUser();
    const hourAhead = new Date(Date.now() + 3_600_000).toISOString();
    // A job carries its user's retention from its submit: 15 s (a 1 s grid), then an hour (60 s).
    await setRetention(user, 15);
    const brief = (await submit(user, { type: "noop", run_at: hourAhead })).body;
    const single = (await submit(user, { type: "noop", run_at: hourAhead })).body;
    await setRetention(user, 3600);
    const long = (await submit(user, { type: "noop", run_at: hourAhead })).body;
    // Off every grid, so rounding up shows.
    const now = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000 + 1_234;
    await setShardClock(user.user_id, now);
    expect((await request(`/v1/jobs/${single.id}`, { method: "DELETE", headers: user.auth })).status).toBe(
      200,
    );
    const bulk = await request("/v1/jobs/cancel", {
      method: "POST",
      headers: { ...user.auth, "content-type": "application/json" },
      body: JSON.stringify({ ids: [brief.id, long.id] }),
    });
    expect(bulk.status).toBe(200);
    const deadlines = await inShard(user.user_id, (_s, state) =>
      Object.fromEntries(
        state.storage.sql
          .exec<{ id: string; deadline: number }>("select id, deadline from jobs")
          .toArray()
          .map((r) => [r.id, r.deadline]),
      ),
    );
    expect(deadlines).toEqual({
      [brief.id]: removalTime(now, 15),
      [single.id]: removalTime(now, 15),
      [long.id]: removalTime(now, 3600),
    });
    expect(removalTime(now, 15)).toBe(now - 1_234 + 17_000);
    expect(removalTime(now, 3600)).toBe(now - 1_234 + 3_660_000);
  });

  it("with ARCHIVE_FINISHED, writes each removed job to the bucket as a JSON line first", async () => {
    const { user, job, finishedAt } = await finishedJob();
    const before = await getJob(user, job.id);
    await shardGuts(user.user_id, { archiveFinished: true });
    await setShardClock(user.user_id, removalAt(finishedAt));
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    const objects = await archived(user.user_id);
    expect(objects).toHaveLength(1);
    expect(objects[0]?.key).toMatch(
      new RegExp(`^archive/${user.user_id}/0/\\d{4}-\\d{2}-\\d{2}T\\d{2}/${job.id}-[0-9a-f]{32}\\.jsonl$`),
    );
    // The whole job, attempts and all, as GET showed it.
    expect(objects[0]?.jobs).toEqual([before]);
  });

  it("a crash between archive and delete: archived at least once, deleted exactly once", async () => {
    const { user, job, finishedAt } = await finishedJob();
    await shardGuts(user.user_id, { archiveFinished: true, env: { INDEX_DB: failingD1 } });
    const removal = removalAt(finishedAt);
    await setShardClock(user.user_id, removal);
    await runDurableObjectAlarm(shardOf(user.user_id));
    // The archive was written, the index could not be reached: nothing is deleted, and it is tried again.
    expect((await archived(user.user_id)).flatMap((o) => o.jobs.map((j) => j.id))).toEqual([job.id]);
    expect(await rowsOf(user.user_id, job.id)).toEqual({ jobs: 1, attempts: 1 });
    expect(await indexRows(user.user_id)).toEqual([job.id]);
    const retryAt = await inShard(user.user_id, (_s, state) => state.storage.getAlarm());
    expect(retryAt).toBe(removal + 60_000);
    expectLogged("removal_failed", { shard: `${user.user_id}/0`, jobs: 1, error: { message: "D1 is down" } });

    await shardGuts(user.user_id, { env: { INDEX_DB: env.INDEX_DB } });
    await setShardClock(user.user_id, removal + 60_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await rowsOf(user.user_id, job.id)).toEqual({ jobs: 0, attempts: 0 });
    expect(await indexRows(user.user_id)).toEqual([]);
    // Archived again by the retry: the same batch, the same lines, so the same object, rewritten.
    const objects = await archived(user.user_id);
    expect(objects.map((o) => o.jobs.map((j) => j.id))).toEqual([[job.id]]);
    // A second removal of the same ids deletes nothing.
    const again = await inShard(user.user_id, (shard) =>
      removeJobs((shard as unknown as { db: ShardDb }).db, [job.id], removal + 120_000),
    );
    expect(again).toEqual([]);
  });

  it("two removal batches that start with the same job in the same hour are two archive objects", async () => {
    // A batch [A, B] is archived; while its removal awaits D1, A is retried (so only B is removed).
    // A runs again and is removed within the hour, alone: a key derived from the first id alone
    // would overwrite the first object and lose B's record.
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const hour = 3_600_000;
    // Early in an hour a day ahead of the wall clock: the runtime never fires an alarm by itself.
    const t0 = Math.ceil(Date.now() / hour) * hour + 24 * hour + 1_000;
    await setShardClock(user.user_id, t0);
    const runAt = new Date(t0 + hour).toISOString();
    const a = (await submit(user, { type: "noop", run_at: runAt })).body;
    const b = (await submit(user, { type: "noop", run_at: runAt })).body;
    await request(`/v1/jobs/${a.id}`, { method: "DELETE", headers: user.auth });
    await setShardClock(user.user_id, t0 + 1);
    await request(`/v1/jobs/${b.id}`, { method: "DELETE", headers: user.auth });

    await inShard(user.user_id, (shard) => {
      const guts = shard as unknown as { context: { archiveFinished: boolean }; env: Env };
      guts.context.archiveFinished = true;
      const real = guts.env.RESULTS;
      let first = true;
      const results = {
        put: async (...args: Parameters<R2Bucket["put"]>) => {
          const put = await real.put(...args);
          // The user retries A while the removal is under way (a request between two of its awaits).
          if (first) {
            first = false;
            const self = shardStub(guts.env, user.user_id, 0);
            expect((await self.retry(a.id)).ok).toBe(true);
          }
          return put;
        },
        get: (...args: Parameters<R2Bucket["get"]>) => real.get(...args),
        list: (...args: Parameters<R2Bucket["list"]>) => real.list(...args),
        delete: (...args: Parameters<R2Bucket["delete"]>) => real.delete(...args),
      } as unknown as R2Bucket;
      guts.env = { ...guts.env, RESULTS: results };
    });
    await setShardClock(user.user_id, removalAt(t0 + 1));
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${b.id}`, { headers: user.auth })).status).toBe(404);
    expect((await getJob(user, a.id)).status).toBe("scheduled");

    // A runs again, finishes, and is removed alone, in the same hour.
    await deliver(await fireAlarm(user.user_id));
    expect((await getJob(user, a.id)).status).toBe("succeeded");
    await setShardClock(user.user_id, removalAt(removalAt(t0 + 1)));
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${a.id}`, { headers: user.auth })).status).toBe(404);

    const objects = await archived(user.user_id);
    expect(objects).toHaveLength(2);
    for (const o of objects) expect(o.key).toContain(`/${new Date(t0).toISOString().slice(0, 13)}/`);
    const lines = objects.flatMap((o) => o.jobs.map((j) => `${j.id}:${j.status}`)).sort();
    // B's only record survives; A is there as it was in each batch.
    expect(lines).toEqual([`${a.id}:cancelled`, `${a.id}:succeeded`, `${b.id}:cancelled`].sort());
  });

  it("a job removed while a slow job of its consumer batch runs never comes back in the listing", async () => {
    // One consumer batch: a slow http call and a fast noop. The noop finishes at once and, with a one
    // second retention, is removed while the http call still runs. When the batch ends, nothing may
    // write the removed job's index row again.
    const user = await createUser();
    let called: () => void = () => {};
    const calling = new Promise<void>((r) => (called = r));
    let answer: (r: Response) => void = () => {};
    vi.spyOn(globalThis, "fetch").mockImplementation(() => {
      called();
      return new Promise<Response>((r) => (answer = r));
    });
    // A job carries its user's retention from its submit: an hour for the slow one, a second for the fast.
    expect((await setRetention(user, 3600)).status).toBe(200);
    const slow = (await submit(user, { type: "http", payload: { url: "https://example.com/slow" } })).body;
    expect((await setRetention(user, 1)).status).toBe(200);
    const fast = (await submit(user, { type: "noop" })).body;
    const t0 = Date.now() + 1_000;
    await setShardClock(user.user_id, t0);
    const messages = await fireAlarm(user.user_id);
    expect(messages).toHaveLength(2);
    // Each report at once (no linger: REPORT_LINGER_MS), so the fast one is not held for the slow one;
    // the polls below are calls within this isolate, between which its timers need not get a turn.
    const batch = deliver(messages, { ...env, REPORT_LINGER_MS: "0" });
    await calling;
    // The fast attempt's report reaches the shard while the slow call is still out.
    for (let i = 0; (await getJob(user, fast.id)).status !== "succeeded"; i++)
      expect(i, "the fast job finishes").toBeLessThan(1_000);
    expect((await getJob(user, slow.id)).status).toBe("running");

    // Retention passes for the fast job (its index copy is written first, then removed with it).
    await setShardClock(user.user_id, t0 + 5_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${fast.id}`, { headers: user.auth })).status).toBe(404);
    expect(await indexRows(user.user_id)).not.toContain(fast.id);

    // The slow call ends and the batch with it; the slow job's copy reaches the index, the fast one's never.
    answer(new Response("done"));
    await batch;
    expect((await getJob(user, slow.id)).status).toBe("succeeded");
    await setShardClock(user.user_id, t0 + 10_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await indexRows(user.user_id)).toEqual([slow.id]);
    const listed = (await (await request("/v1/jobs", { headers: user.auth })).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((j) => [j.id, j.status])).toEqual([[slow.id, "succeeded"]]);
  });

  it("removes the result objects a job wrote under result_location with it, and counts the deletes", async () => {
    const { user, job, finishedAt } = await finishedWithResult();
    const key = resultAt(user, job.id);
    expect(await env.RESULTS.head(key)).not.toBeNull();
    await setShardClock(user.user_id, removalAt(finishedAt));
    resetOperationTotals();
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    expect(await env.RESULTS.head(key)).toBeNull();
    // Removal is billed as its own phase: the index row, the shard's rows and the R2 delete.
    const removal = operationTotals().retention;
    expect(removal?.r2Deletes).toBe(1);
    expect(removal?.d1RowsWritten).toBe(1);
    expect(removal?.sqlRowsWritten).toBeGreaterThan(0);
  });

  it("removes a job's results written before they were scoped: under the bare prefix and its root", async () => {
    const { user, job, finishedAt } = await finishedWithResult();
    // A job row from before shard migration 0019 (results_scoped false): its first attempt wrote under
    // the bare prefix, its second (after the upgrade) under the user's root.
    const legacy = `reports/daily/${job.id}/0-1.json`;
    await env.RESULTS.put(legacy, (await (await env.RESULTS.get(resultAt(user, job.id)))?.text()) ?? "");
    await env.RESULTS.delete(resultAt(user, job.id));
    await env.RESULTS.put(resultAt(user, job.id, 1, 2), "{}");
    await inShard(user.user_id, (_s, state) => {
      state.storage.sql.exec(
        "insert into attempts (job_id, number, occurrence, status, scheduled_at, started_at, finished_at, lateness_ms) values (?, 1, 0, 'succeeded', 0, 0, 0, 0)",
        job.id,
      );
      state.storage.sql.exec(
        "update jobs set results_scoped = 0, last_attempt_number = 2, last_attempt_occurrence = 1, result = ? where id = ?",
        JSON.stringify({ location: `r2://${resultAt(user, job.id, 1, 2)}` }),
        job.id,
      );
    });
    await setShardClock(user.user_id, removalAt(finishedAt));
    resetOperationTotals();
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    expect(await env.RESULTS.head(legacy)).toBeNull();
    expect(await env.RESULTS.head(resultAt(user, job.id, 1, 2))).toBeNull();
    // Both names of each of its two attempts.
    expect(operationTotals().retention?.r2Deletes).toBe(4);
  });

  it("with ARCHIVE_FINISHED, keeps the result objects (the archive points at them)", async () => {
    const { user, job, finishedAt } = await finishedWithResult();
    await shardGuts(user.user_id, { archiveFinished: true });
    await setShardClock(user.user_id, removalAt(finishedAt));
    resetOperationTotals();
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    expect(await env.RESULTS.head(resultAt(user, job.id))).not.toBeNull();
    expect(operationTotals().retention?.r2Deletes ?? 0).toBe(0);
    const [archivedJob] = (await archived(user.user_id)).flatMap((o) => o.jobs);
    expect(archivedJob?.result).toEqual({ location: `r2://${resultAt(user, job.id)}` });
  });

  it("a failed result delete keeps that job and retries it a minute later; the other jobs go", async () => {
    const { user, job, finishedAt } = await finishedWithResult();
    // A job without results, due in the same step.
    const plain = (
      await submit(user, { type: "noop", run_at: new Date(finishedAt + 3_600_000).toISOString() })
    ).body;
    await setShardClock(user.user_id, finishedAt);
    await request(`/v1/jobs/${plain.id}`, { method: "DELETE", headers: user.auth });
    const key = resultAt(user, job.id);
    await inShard(user.user_id, (shard) => {
      const guts = shard as unknown as { env: Env };
      const real = guts.env.RESULTS;
      const broken = {
        delete: async () => {
          throw new Error("R2 is down");
        },
        put: (...args: Parameters<R2Bucket["put"]>) => real.put(...args),
      } as unknown as R2Bucket;
      guts.env = { ...guts.env, RESULTS: broken };
    });
    const removal = removalAt(finishedAt);
    await setShardClock(user.user_id, removal);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${plain.id}`, { headers: user.auth })).status).toBe(404);
    expect((await getJob(user, job.id)).status).toBe("succeeded");
    expect(await env.RESULTS.head(key)).not.toBeNull();
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBe(removal + 60_000);
    expectLogged("result_removal_failed", { jobs: 1, error: { message: "R2 is down" } });

    await shardGuts(user.user_id, { env: { RESULTS: env.RESULTS } });
    await setShardClock(user.user_id, removal + 60_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    expect(await env.RESULTS.head(key)).toBeNull();
  });

  it("deletes a long-lived job's results a bounded number per alarm, then the job", async () => {
    const { user, job, finishedAt } = await finishedWithResult();
    // A recurring job's life in short: 1,100 more attempts, each with its result object. As begin
    // keeps them: every attempt but the latest is an attempts row, the latest is in the job's row.
    const extra = 1_100;
    await inShard(user.user_id, (_s, state) => {
      for (let n = 1; n <= extra; n++)
        state.storage.sql.exec(
          "insert into attempts (job_id, number, occurrence, status, scheduled_at, started_at, finished_at, lateness_ms) values (?, ?, ?, 'succeeded', 0, 0, 0, 0)",
          job.id,
          n,
          n - 1,
        );
      state.storage.sql.exec(
        "update jobs set last_attempt_number = ?, last_attempt_occurrence = ? where id = ?",
        extra + 1,
        extra,
        job.id,
      );
    });
    const keys = [resultAt(user, job.id)];
    for (let n = 2; n <= extra + 1; n++) keys.push(resultAt(user, job.id, n - 1, n));
    for (let i = 1; i < keys.length; i += 100)
      await Promise.all(keys.slice(i, i + 100).map((k) => env.RESULTS.put(k, "{}")));
    const left = async () => {
      let count = 0;
      let cursor: string | undefined;
      do {
        const page = await env.RESULTS.list({
          prefix: `results/${user.user_id}/reports/daily/${job.id}/`,
          cursor,
        });
        count += page.objects.length;
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return count;
    };
    expect(await left()).toBe(extra + 1);

    const removal = removalAt(finishedAt);
    await setShardClock(user.user_id, removal);
    await runDurableObjectAlarm(shardOf(user.user_id));
    // One step deletes at most 1,000 objects; the job waits for the rest, and the alarm comes back at once.
    expect(await left()).toBe(extra + 1 - 1_000);
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(200);
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeLessThanOrEqual(removal);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await left()).toBe(0);
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);
    expect(await rowsOf(user.user_id, job.id)).toEqual({ jobs: 0, attempts: 0 });
  }, 60_000);

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
    await setShardClock(user.user_id, removalAt(now));
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await remaining()).toBe(50);
    // The rest is due already: the alarm is re-armed for now, not a retention later.
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeLessThanOrEqual(
      removalAt(now),
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
    expect(alarm.deadline).toBe(removalTime(now, 3600));
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
