// The D1 copy of a job is scheduled INDEX_FLUSH_DELAY_MS (2 s) after its first change that D1 has not
// seen (on the delay's half-second grid: src/core/index-copy-time.ts, so the test's clock starts on a
// whole second), and a later change while that copy is pending keeps its time (touch, src/shard/sql/touch.ts):
// the copy takes the row as it is when it runs, so it carries every change made until then.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  copyDueAt,
  createUser,
  deliver,
  env,
  fireAlarm,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
} from "../support/helpers";

const FLUSH_MS = 2000;

/** When the job's pending copy goes: index_due_at, or its time by the index watermark (a new job). */
const dueAt = (userId: string, jobId: string) =>
  inShard(userId, (_s, state) => copyDueAt(state.storage.sql, jobId));

const indexed = (jobId: string) =>
  env.INDEX_DB.prepare("select status, doc from job_index where job_id = ?")
    .bind(jobId)
    .first<{ status: string; doc: string }>();

describe("index copies", () => {
  it("keeps a pending copy's time through later changes, and the copy carries them", async () => {
    const user = await createUser();
    // A minute ahead of the wall clock, so the runtime never fires the copies by itself mid-test.
    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
    await setShardClock(user.user_id, t0);
    const { body: job } = await submit(user, { type: "noop", run_at: new Date(t0).toISOString() });
    const { body: later } = await submit(user, {
      type: "noop",
      run_at: new Date(t0 + 3_600_000).toISOString(),
    });
    expect(await dueAt(user.user_id, job.id)).toBe(t0 + FLUSH_MS);

    // Run and finish the first job, and patch the second, before their submits' copies went.
    await setShardClock(user.user_id, t0 + 500);
    await deliver(await fireAlarm(user.user_id));
    const patched = await request(`/v1/jobs/${later.id}`, {
      method: "PATCH",
      headers: user.auth,
      json: { priority: 9 },
    });
    expect(patched.status).toBe(200);
    expect(await dueAt(user.user_id, job.id)).toBe(t0 + FLUSH_MS);
    expect(await dueAt(user.user_id, later.id)).toBe(t0 + FLUSH_MS);
    expect(await indexed(job.id)).toBeNull();

    // One copy each, at the first change's flush time, with every change made until then.
    await setShardClock(user.user_id, t0 + FLUSH_MS);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await indexed(job.id))?.status).toBe("succeeded");
    expect(JSON.parse((await indexed(later.id))?.doc ?? "{}")).toMatchObject({ priority: 9 });
    expect(await dueAt(user.user_id, job.id)).toBeNull();

    // With no copy pending, a change schedules its own, a flush delay after it.
    await setShardClock(user.user_id, t0 + 5000);
    const cancelled = await request(`/v1/jobs/${later.id}`, { method: "DELETE", headers: user.auth });
    expect(cancelled.status).toBe(200);
    expect(await dueAt(user.user_id, later.id)).toBe(t0 + 5000 + FLUSH_MS);
    await setShardClock(user.user_id, t0 + 5000 + FLUSH_MS);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await indexed(later.id))?.status).toBe("cancelled");
  });
});
