// Liveness of a running attempt: the shard gives up an attempt whose heartbeats stopped within the
// heartbeat timeout (30 s), whatever its timeout_seconds; heartbeats keep a live attempt running up to
// its timeout bound; heartbeats are fenced like reports. Time moves only through the shard's clock
// and the consumer's fake timer.
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runAttempt } from "../../src/consumer/run-attempt";
import type { Env } from "../../src/env";
import { FakeTimer } from "../support/fake-timer";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  inShard,
  JOB_DEADLINE,
  JOB_STATUS,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const HEARTBEAT_TIMEOUT_MS = 30_000;
const LEASE_GRACE_MS = 10_000;

afterEach(() => {
  vi.restoreAllMocks();
});

type Row = { status: string; deadline: number | null; version: number; updated_at: number };
const jobRow = (user: TestUser, id: string) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<Row>(
        `select ${JOB_STATUS} as status, ${JOB_DEADLINE} as deadline, version, updated_at from jobs where id = ?`,
        id,
      )
      .one(),
  );
const alarmOf = (user: TestUser) => inShard(user.user_id, (_s, state) => state.storage.getAlarm());

/** Submits a job and begins its first attempt at `t0` on the shard's clock, as a consumer would. */
async function begun(user: TestUser, job: Record<string, unknown>, t0: number) {
  const { body } = await submit(user, job);
  await setShardClock(user.user_id, t0);
  const [message] = await fireAlarm(user.user_id);
  if (!message) throw new Error("not dispatched");
  expect((await shardOf(user.user_id).begin(body.id, message.attempt)).ok).toBe(true);
  return { id: body.id, message };
}

async function alarmAt(user: TestUser, now: number) {
  await setShardClock(user.user_id, now);
  await runDurableObjectAlarm(shardOf(user.user_id));
}

describe("a dead consumer is noticed by its heartbeats, not its timeout", () => {
  it("an attempt with timeout_seconds = 900 whose consumer never reports is retried 30 s after begin", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const { id, message } = await begun(
      user,
      { type: "noop", timeout_seconds: 900, retry_delay_seconds: 1 },
      t0,
    );
    expect((await jobRow(user, id)).deadline).toBe(t0 + HEARTBEAT_TIMEOUT_MS);
    expect(await alarmOf(user)).toBeLessThanOrEqual(t0 + HEARTBEAT_TIMEOUT_MS);

    await alarmAt(user, t0 + HEARTBEAT_TIMEOUT_MS - 1);
    expect((await getJob(user, id)).status).toBe("running");
    await alarmAt(user, t0 + HEARTBEAT_TIMEOUT_MS);
    const given = await getJob(user, id);
    expect(given).toMatchObject({ status: "scheduled", current_retries: 1 });
    expect(given.attempts[0]).toMatchObject({
      number: 1,
      status: "timed_out",
      error: "heartbeats stopped: no report or heartbeat for 30s",
    });

    // The retry runs under the next attempt; the dead consumer's late report is refused.
    expect(await shardOf(user.user_id).finish(id, message.attempt, { outcome: { ok: true } })).toEqual({
      ok: false,
      reason: "stale",
    });
    await setShardClock(user.user_id, t0 + HEARTBEAT_TIMEOUT_MS + 2_000);
    const [retry] = await fireAlarm(user.user_id);
    expect(retry?.attempt).toBe(2);
    await deliver([retry]);
    const done = await getJob(user, id);
    expect(done.attempts.map((a) => `${a.number}:${a.status}`)).toEqual(["2:succeeded", "1:timed_out"]);
  });

  it("heartbeats keep a live attempt running past 30 s, and its timeout still ends it", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const timeoutMs = 120_000;
    const { id, message } = await begun(user, { type: "noop", timeout_seconds: 120, max_retries: 0 }, t0);
    const bound = t0 + timeoutMs + LEASE_GRACE_MS;
    const before = await jobRow(user, id);
    // A heartbeat every 20 s. Each alarm, just before the next heartbeat, is past the deadline the
    // previous heartbeat set (+30 s from it), and finds the attempt alive.
    for (let t = t0 + 20_000; t < bound; t += 20_000) {
      await setShardClock(user.user_id, t);
      expect(await shardOf(user.user_id).heartbeat(id, message.attempt)).toEqual({ ok: true });
      const row = await jobRow(user, id);
      expect(row.deadline, `deadline after the heartbeat at +${t - t0} ms`).toBe(
        Math.min(bound, t + HEARTBEAT_TIMEOUT_MS),
      );
      // Invisible: no new version, no index copy.
      expect({ version: row.version, updated_at: row.updated_at }).toEqual({
        version: before.version,
        updated_at: before.updated_at,
      });
      await alarmAt(user, Math.min(bound - 1, t + 19_999));
      expect((await getJob(user, id)).status).toBe("running");
    }
    expect((await jobRow(user, id)).deadline).toBe(bound);
    await alarmAt(user, bound);
    const ended = await getJob(user, id);
    expect(ended.status).toBe("failed");
    expect(ended.attempts[0]).toMatchObject({
      status: "timed_out",
      error: "timed out: no report within 120s",
    });
  });

  it("refuses the heartbeat of a stale, finished, cancelled or not-yet-begun attempt, changing nothing", async () => {
    const user = await createUser();
    const shard = shardOf(user.user_id);
    const t0 = Date.now() + 60_000;

    // Not begun yet: the job is queued.
    const { body: queued } = await submit(user, { type: "noop" });
    await setShardClock(user.user_id, t0);
    const [queuedMessage] = await fireAlarm(user.user_id);
    if (!queuedMessage) throw new Error("not dispatched");
    const queuedBefore = await jobRow(user, queued.id);
    expect(await shard.heartbeat(queued.id, queuedMessage.attempt)).toEqual({ ok: false, reason: "stale" });
    expect(await jobRow(user, queued.id)).toEqual(queuedBefore);
    await deliver([queuedMessage]);

    // Finished.
    expect(await shard.heartbeat(queued.id, queuedMessage.attempt)).toEqual({
      ok: false,
      reason: "finished",
    });

    // Superseded: the attempt was given up and its retry is running.
    const stale = await begun(user, { type: "noop", timeout_seconds: 900, retry_delay_seconds: 1 }, t0);
    await alarmAt(user, t0 + HEARTBEAT_TIMEOUT_MS);
    await setShardClock(user.user_id, t0 + HEARTBEAT_TIMEOUT_MS + 2_000);
    const [retry] = await fireAlarm(user.user_id);
    if (!retry) throw new Error("not retried");
    expect((await shard.begin(stale.id, retry.attempt)).ok).toBe(true);
    const running = await jobRow(user, stale.id);
    expect(await shard.heartbeat(stale.id, stale.message.attempt)).toEqual({ ok: false, reason: "stale" });
    expect(await jobRow(user, stale.id)).toEqual(running);

    // Cancelled while running.
    const cancelled = await begun(user, { type: "noop", timeout_seconds: 900 }, t0);
    await shard.cancel(cancelled.id);
    const after = await jobRow(user, cancelled.id);
    expect(await shard.heartbeat(cancelled.id, cancelled.message.attempt)).toEqual({
      ok: false,
      reason: "cancelled",
    });
    expect(await jobRow(user, cancelled.id)).toEqual(after);

    expect(await shard.heartbeat("job_0_00000000000000000000000000", 1)).toEqual({
      ok: false,
      reason: "not_found",
    });
  });
});

/** The Worker's env with a shard namespace that records every heartbeat RPC on its way through. */
function recordingHeartbeats(): { bindings: Env; beats: { jobId: string; attempt: number }[] } {
  const beats: { jobId: string; attempt: number }[] = [];
  const ns = env.TASK_SHARD;
  const namespace = {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: DurableObjectId) => {
      const real = ns.get(id);
      return {
        begin: (jobId: string, attempt: number) => real.begin(jobId, attempt),
        finishMany: (...args: Parameters<typeof real.finishMany>) => real.finishMany(...args),
        signingSecrets: () => real.signingSecrets(),
        heartbeat: (jobId: string, attempt: number) => {
          beats.push({ jobId, attempt });
          return real.heartbeat(jobId, attempt);
        },
      };
    },
  };
  return { bindings: { ...env, TASK_SHARD: namespace as unknown as Env["TASK_SHARD"] }, beats };
}

describe("the consumer heartbeats while the executor runs", () => {
  it("an attempt that finishes within the first interval makes no heartbeat RPC", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", timeout_seconds: 900 });
    const [message] = await fireAlarm(user.user_id);
    if (!message) throw new Error("not dispatched");
    const { bindings, beats } = recordingHeartbeats();
    const timer = new FakeTimer();
    const run = await runAttempt(bindings, message, { timer });
    expect(run.kind).toBe("settled");
    expect((await getJob(user, job.id)).status).toBe("succeeded");
    await timer.advance(60_000);
    expect(beats).toEqual([]);
    expect(timer.pending).toBe(0);
  });

  it("a long attempt heartbeats every interval, which moves its deadline, until it reports", async () => {
    const user = await createUser();
    let answer: (r: Response) => void = () => {};
    vi.spyOn(globalThis, "fetch").mockImplementation(() => new Promise<Response>((r) => (answer = r)));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/slow" },
      timeout_seconds: 900,
    });
    const t0 = Date.now() + 60_000;
    await setShardClock(user.user_id, t0);
    const [message] = await fireAlarm(user.user_id);
    if (!message) throw new Error("not dispatched");
    const { bindings, beats } = recordingHeartbeats();
    const timer = new FakeTimer();
    const running = runAttempt(bindings, message, { timer });
    await vi.waitFor(() => expect(globalThis.fetch).toHaveBeenCalled());
    expect((await jobRow(user, job.id)).deadline).toBe(t0 + HEARTBEAT_TIMEOUT_MS);

    // 25 s of the consumer's time: heartbeats at 10 s and 20 s (wrangler.toml's interval).
    await setShardClock(user.user_id, t0 + 20_000);
    await timer.advance(25_000);
    expect(beats).toEqual([
      { jobId: job.id, attempt: message.attempt },
      { jobId: job.id, attempt: message.attempt },
    ]);
    expect((await jobRow(user, job.id)).deadline).toBe(t0 + 20_000 + HEARTBEAT_TIMEOUT_MS);

    answer(new Response("done"));
    expect((await running).kind).toBe("settled");
    expect((await getJob(user, job.id)).status).toBe("succeeded");
    expect(timer.pending).toBe(0);
    await timer.advance(60_000);
    expect(beats).toHaveLength(2);
  });
});
