// expires_after_seconds: an occurrence not started within that long after its due time is failed with
// error `expired` where the shard would otherwise claim it; a recurring job moves to its next
// occurrence. Time moves with the shard's injected clock.
import { describe, expect, it } from "vitest";
import { recordDispatchQueue, takeCallbackMessages } from "../support/callbacks";
import {
  createUser,
  deliver,
  fireAlarm,
  getJob,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const HOUR = 3_600_000;

/** A job due an hour from now (the API checks run_at against the real clock), and its due time. */
async function submitDue(user: TestUser, job: Record<string, unknown>) {
  const due = Math.ceil((Date.now() + HOUR) / 1000) * 1000;
  const { status, body } = await submit(user, { type: "noop", run_at: new Date(due).toISOString(), ...job });
  expect(status, JSON.stringify(body)).toBe(201);
  return { id: body.id, due };
}

describe("expires_after_seconds", () => {
  it("fails a one-shot occurrence not started in time with error `expired`, and sends nothing", async () => {
    const user = await createUser();
    const { id, due } = await submitDue(user, { expires_after_seconds: 60, max_retries: 3 });
    await setShardClock(user.user_id, due + 60_001);
    expect(await fireAlarm(user.user_id)).toEqual([]);
    const job = await getJob(user, id);
    expect(job).toMatchObject({
      status: "failed",
      last_error: "expired",
      runs: 1,
      current_retries: 0,
      next_run_at: null,
      attempts: [],
    });
  });

  it("still dispatches a job exactly expires_after_seconds late", async () => {
    const user = await createUser();
    const { id, due } = await submitDue(user, { expires_after_seconds: 60 });
    await setShardClock(user.user_id, due + 60_000);
    const messages = await fireAlarm(user.user_id);
    expect(messages.map((m) => m.job_id)).toEqual([id]);
    // Claimed in time: a message that begins later still runs (expiry is judged at claim).
    await setShardClock(user.user_id, due + 600_000);
    await deliver(messages);
    expect(await getJob(user, id)).toMatchObject({ status: "succeeded", last_error: null, runs: 1 });
  });

  it("moves a recurring job to its next occurrence after now, without a burst", async () => {
    const user = await createUser();
    const { id, due } = await submitDue(user, { interval_seconds: 300, expires_after_seconds: 60 });
    // Four occurrences missed; the one due at +20 min expired 50 s ago.
    const now = due + 20 * 60_000 + 110_000;
    await setShardClock(user.user_id, now);
    expect(await fireAlarm(user.user_id)).toEqual([]);
    const job = await getJob(user, id);
    const next = due + 25 * 60_000;
    expect(job).toMatchObject({
      status: "scheduled",
      last_error: "expired",
      runs: 1,
      run_at: new Date(next).toISOString(),
      next_run_at: new Date(next).toISOString(),
      attempts: [],
    });
    // The next occurrence, started in time, runs normally and clears the error.
    await setShardClock(user.user_id, next + 1_000);
    const messages = await fireAlarm(user.user_id);
    expect(messages.map((m) => m.job_id)).toEqual([id]);
    await deliver(messages);
    expect(await getJob(user, id)).toMatchObject({ status: "scheduled", last_error: null, runs: 2 });
  });

  it("dispatches in the same cycle a next occurrence that falls exactly on now", async () => {
    const user = await createUser();
    const { id, due } = await submitDue(user, { interval_seconds: 300, expires_after_seconds: 60 });
    await setShardClock(user.user_id, due + 20 * 60_000);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([id]);
    expect(await getJob(user, id)).toMatchObject({
      status: "queued",
      last_error: "expired",
      runs: 1,
      run_at: new Date(due + 20 * 60_000).toISOString(),
    });
  });

  it("expires in one cycle an extra occurrence's retry and the overdue nominal occurrence it returns to", async () => {
    const user = await createUser();
    const { id, due } = await submitDue(user, {
      interval_seconds: 3600,
      expires_after_seconds: 60,
      retry_delay_seconds: 60,
    });
    // run now, a second before the nominal occurrence: an extra occurrence, which fails once and
    // is retried after the nominal time, so its retry sorts after the nominal occurrence.
    await setShardClock(user.user_id, due - 1_000);
    const run = await request(`/v1/jobs/${id}/run`, { method: "POST", headers: user.auth });
    expect(run.status).toBe(200);
    const shard = shardOf(user.user_id);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([id]);
    await shard.begin(id, 1);
    await shard.finish(id, 1, { outcome: { ok: false }, error: "boom" });
    const retry = await getJob(user, id);
    expect(Date.parse(retry.run_at)).toBeGreaterThan(due);
    // Both are late now: the retry expires and returns the job to its nominal occurrence, which
    // sorts before the retry in claim order and is expired in the same cycle, not left overdue.
    await setShardClock(user.user_id, due + 300_000);
    expect(await fireAlarm(user.user_id)).toEqual([]);
    expect(await getJob(user, id)).toMatchObject({
      status: "scheduled",
      last_error: "expired",
      runs: 2,
      run_at: new Date(due + 3_600_000).toISOString(),
    });
  });

  it("fails an expired job waiting behind a full pool instead of leaving it there", async () => {
    const user = await createUser();
    const pool = await request("/v1/pools/one", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    expect(pool.status).toBe(200);
    const holder = await submitDue(user, { resources: { one: 1 }, priority: 90 });
    const waiter = await submitDue(user, { resources: { one: 1 }, expires_after_seconds: 10 });
    await setShardClock(user.user_id, holder.due);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([holder.id]);
    expect((await getJob(user, waiter.id)).status).toBe("scheduled");
    await setShardClock(user.user_id, waiter.due + 10_001);
    expect(await fireAlarm(user.user_id)).toEqual([{ user_id: user.user_id, job_id: holder.id, attempt: 1 }]);
    expect(await getJob(user, waiter.id)).toMatchObject({ status: "failed", last_error: "expired" });
  });

  it("sends the callback of an expired occurrence, which is a finished one", async () => {
    const user = await createUser();
    const received = await recordDispatchQueue(user.user_id);
    const { id, due } = await submitDue(user, {
      expires_after_seconds: 5,
      callback_url: "http://127.0.0.1:9/callback",
    });
    await setShardClock(user.user_id, due + 5_001);
    await fireAlarm(user.user_id);
    const callbacks = takeCallbackMessages(received);
    expect(callbacks).toEqual([expect.objectContaining({ kind: "callback", job_id: id, occurrence: 0 })]);
    expect(received, "no attempt was dispatched").toEqual([]);
  });

  it("does not expire a job without expires_after_seconds, however late", async () => {
    const user = await createUser();
    const { id, due } = await submitDue(user, {});
    await setShardClock(user.user_id, due + 30 * 24 * HOUR);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([id]);
  });
});
