// The job controls through the Worker and the real shard: pause, resume, run, retry (this file), PATCH
// and the bulk forms (job-patch.test.ts, bulk-controls.test.ts). Time moves through the shard's clock.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import {
  createUser,
  deliver,
  fireAlarm,
  getJob,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const MINUTE = 60_000;

async function control(user: TestUser, id: string, action: string) {
  const res = await request(`/v1/jobs/${id}/${action}`, { method: "POST", headers: user.auth });
  return { status: res.status, body: (await res.json()) as JobView & { error?: { code: string } } };
}

/** The job's row as stored, bypassing the API (for what the view does not show). */
function row(user: TestUser, id: string) {
  return inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ status: string; attempt: number; deadline: number | null; occurrence: number }>(
        "select status, attempt, deadline, occurrence from jobs where id = ?",
        id,
      )
      .one(),
  );
}

describe("POST /v1/jobs/:id/pause and /resume", () => {
  it("never dispatches a paused job, and resumes a one-shot job at its run_at or now", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    const paused = await control(user, job.id, "pause");
    expect(paused).toMatchObject({ status: 200, body: { status: "paused" } });
    expect(await fireAlarm(user.user_id)).toEqual([]);
    expect((await row(user, job.id)).deadline).toBeNull();
    // Pausing again is harmless.
    expect((await control(user, job.id, "pause")).body.status).toBe("paused");
    const resumed = await control(user, job.id, "resume");
    expect(resumed).toMatchObject({ status: 200, body: { status: "scheduled" } });
    // Its run_at had passed: it runs now.
    expect(Date.parse(resumed.body.run_at)).toBeGreaterThanOrEqual(Date.parse(job.run_at));
    const messages = await fireAlarm(user.user_id);
    expect(messages.map((m) => m.job_id)).toEqual([job.id]);
    await deliver(messages);
    expect((await getJob(user, job.id)).status).toBe("succeeded");
  });

  it("resumes a recurring job at its next occurrence after now, skipping missed ones (no burst)", async () => {
    const user = await createUser();
    const start = Date.now() + MINUTE;
    const { body: job } = await submit(user, {
      type: "noop",
      interval_seconds: 60,
      run_at: new Date(start).toISOString(),
    });
    await control(user, job.id, "pause");
    // Ten occurrences pass while paused.
    const later = start + 10 * MINUTE + 30_000;
    await setShardClock(user.user_id, later);
    expect(await fireAlarm(user.user_id)).toEqual([]);
    const resumed = await control(user, job.id, "resume");
    expect(resumed.body.status).toBe("scheduled");
    expect(Date.parse(resumed.body.run_at)).toBe(start + 11 * MINUTE);
    expect(await fireAlarm(user.user_id)).toEqual([]);
    await setShardClock(user.user_id, start + 11 * MINUTE);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([job.id]);
  });

  it("withdraws a queued dispatch: its message is refused and its pool units are released", async () => {
    const user = await createUser();
    await request("/v1/pools/slots", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const { body: job } = await submit(user, { type: "noop", resources: { slots: 1 } });
    const [message] = await fireAlarm(user.user_id);
    expect(message?.attempt).toBe(1);
    const pools = async () =>
      ((await (await request("/v1/pools", { headers: user.auth })).json()) as { pools: { in_use: number }[] })
        .pools;
    expect((await pools())[0]?.in_use).toBe(1);
    expect((await control(user, job.id, "pause")).body.status).toBe("paused");
    expect((await pools())[0]?.in_use).toBe(0);
    await deliver([message]);
    const after = await getJob(user, job.id);
    expect(after).toMatchObject({ status: "paused", attempts: [] });
    expect(await shardOf(user.user_id).begin(job.id, 1)).toEqual({ ok: false, reason: "stale" });
  });

  it("lets a running attempt finish and accepts its report; a recurring job then stays paused", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", interval_seconds: 3600 });
    const [message] = await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    expect((await shard.begin(job.id, message?.attempt ?? 0)).ok).toBe(true);
    expect((await control(user, job.id, "pause")).body.status).toBe("paused");
    expect(await shard.heartbeat(job.id, 1)).toEqual({ ok: true });
    const done = await shard.finish(job.id, 1, { outcome: { ok: true }, result: { n: 1 } });
    expect(done).toMatchObject({ ok: true, view: { status: "paused", runs: 1, result: { n: 1 } } });
    expect((await row(user, job.id)).deadline).toBeNull();
    expect(await fireAlarm(user.user_id)).toEqual([]);
  });

  it("ends a paused one-shot job succeeded when its running attempt succeeds", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    await shard.begin(job.id, 1);
    await control(user, job.id, "pause");
    expect(await shard.finish(job.id, 1, { outcome: { ok: true } })).toMatchObject({
      ok: true,
      view: { status: "succeeded" },
    });
  });

  it("still gives up a paused job's running attempt at its lease deadline", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", interval_seconds: 3600, max_retries: 0 });
    await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    await shard.begin(job.id, 1);
    await control(user, job.id, "pause");
    const { deadline } = await row(user, job.id);
    expect(deadline).not.toBeNull();
    const alarm = await inShard(user.user_id, (_s, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(deadline ?? 0);
    await setShardClock(user.user_id, (deadline ?? 0) + 1);
    await fireAlarm(user.user_id);
    const after = await getJob(user, job.id);
    expect(after.status).toBe("paused");
    expect(after.attempts[0]).toMatchObject({ number: 1, status: "timed_out" });
    // The late report of the given-up attempt is refused.
    expect(await shard.finish(job.id, 1, { outcome: { ok: true } })).toMatchObject({ ok: false });
  });

  it("resumes a job whose attempt still runs as running, and its report settles it", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", interval_seconds: 3600 });
    await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    await shard.begin(job.id, 1);
    await control(user, job.id, "pause");
    expect((await control(user, job.id, "resume")).body.status).toBe("running");
    const done = await shard.finish(job.id, 1, { outcome: { ok: true } });
    expect(done).toMatchObject({ ok: true, view: { status: "scheduled", runs: 1 } });
  });
});

describe("POST /v1/jobs/:id/run", () => {
  it("moves a scheduled one-shot job's run_at to now", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, {
      type: "noop",
      run_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const before = Date.now();
    const out = await control(user, job.id, "run");
    expect(out.status).toBe(200);
    expect(Date.parse(out.body.run_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(out.body.run_at)).toBeLessThanOrEqual(Date.now());
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([job.id]);
  });

  it("gives a recurring job one extra occurrence now without shifting its schedule", async () => {
    const user = await createUser();
    const nominal = Date.parse("2030-01-01T00:00:00.000Z");
    const { body: job } = await submit(user, {
      type: "noop",
      interval_seconds: 3600,
      run_at: new Date(nominal).toISOString(),
    });
    const out = await control(user, job.id, "run");
    expect(Date.parse(out.body.run_at)).toBeLessThan(nominal);
    const messages = await fireAlarm(user.user_id);
    expect(messages.map((m) => m.job_id)).toEqual([job.id]);
    await deliver(messages);
    const after = await getJob(user, job.id);
    expect(after).toMatchObject({ status: "scheduled", runs: 1, run_at: new Date(nominal).toISOString() });
    // The extra occurrence took occurrence 0; the nominal one is the next number (unique webhook ids).
    expect((await row(user, job.id)).occurrence).toBe(1);
    await setShardClock(user.user_id, nominal);
    const next = await fireAlarm(user.user_id);
    expect(next.map((m) => m.job_id)).toEqual([job.id]);
    await deliver(next);
    expect(await getJob(user, job.id)).toMatchObject({
      runs: 2,
      run_at: new Date(nominal + 3_600_000).toISOString(),
    });
  });

  it("answers 409 for a queued, running, paused or finished job, changing nothing", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    await fireAlarm(user.user_id);
    expect((await control(user, job.id, "run")).body.error?.code).toBe("conflict");
    await shardOf(user.user_id).begin(job.id, 1);
    expect((await control(user, job.id, "run")).status).toBe(409);
    await control(user, job.id, "pause");
    expect((await control(user, job.id, "run")).status).toBe(409);
    await shardOf(user.user_id).finish(job.id, 1, { outcome: { ok: true } });
    expect((await getJob(user, job.id)).status).toBe("succeeded");
    expect((await control(user, job.id, "run")).status).toBe(409);
    expect((await control(user, job.id, "pause")).status).toBe(409);
    expect((await control(user, job.id, "resume")).status).toBe(409);
    expect((await getJob(user, job.id)).status).toBe("succeeded");
  });
});

describe("POST /v1/jobs/:id/retry", () => {
  async function failedJob(user: TestUser) {
    const { body: job } = await submit(user, { type: "noop", max_retries: 0 });
    await fireAlarm(user.user_id);
    const shard = shardOf(user.user_id);
    await shard.begin(job.id, 1);
    await shard.finish(job.id, 1, { outcome: { ok: false }, error: "boom" });
    return job;
  }

  it("runs a failed one-shot job again as a new occurrence, keeping its history", async () => {
    const user = await createUser();
    const job = await failedJob(user);
    expect((await getJob(user, job.id)).status).toBe("failed");
    const out = await control(user, job.id, "retry");
    expect(out).toMatchObject({ status: 200, body: { status: "scheduled", current_retries: 0 } });
    expect(out.body.attempts).toHaveLength(1);
    expect((await row(user, job.id)).occurrence).toBe(1);
    const messages = await fireAlarm(user.user_id);
    expect(messages).toEqual([{ user_id: user.user_id, job_id: job.id, attempt: 2 }]);
    // A report of the first attempt is stale now: fencing holds across a retry.
    expect(await shardOf(user.user_id).finish(job.id, 1, { outcome: { ok: true } })).toMatchObject({
      ok: false,
      reason: "stale",
    });
    await deliver(messages);
    const done = await getJob(user, job.id);
    expect(done).toMatchObject({ status: "succeeded", runs: 2 });
    expect(done.attempts.map((a) => a.status)).toEqual(["succeeded", "failed"]);
  });

  it("retries a cancelled one-shot job", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: user.auth });
    expect((await control(user, job.id, "retry")).body.status).toBe("scheduled");
  });

  it("answers 409 for a job that is not a failed or cancelled one-shot job", async () => {
    const user = await createUser();
    const { body: scheduled } = await submit(user, { type: "noop" });
    expect((await control(user, scheduled.id, "retry")).status).toBe(409);
    const { body: recurring } = await submit(user, { type: "noop", interval_seconds: 60 });
    await request(`/v1/jobs/${recurring.id}`, { method: "DELETE", headers: user.auth });
    const refused = await control(user, recurring.id, "retry");
    expect(refused).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    expect((await getJob(user, recurring.id)).status).toBe("cancelled");
  });
});

describe("every control's 401 and 404", () => {
  it.each(["pause", "resume", "run", "retry"])(
    "%s: 401 without a key, 404 for unknown and foreign ids",
    async (action) => {
      const owner = await createUser();
      const other = await createUser();
      const { body: job } = await submit(owner, { type: "noop" });
      const anon = await request(`/v1/jobs/${job.id}/${action}`, { method: "POST" });
      expect(anon.status).toBe(401);
      expect((await control(other, job.id, action)).status).toBe(404);
      expect((await control(owner, "job_0_nope", action)).status).toBe(404);
      expect((await control(owner, "not-an-id", action)).status).toBe(404);
      expect((await getJob(owner, job.id)).status).toBe(job.status);
    },
  );
});
