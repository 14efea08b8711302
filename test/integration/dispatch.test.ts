// The dispatch pipeline through the real shard, alarm and queue handler: submit → alarm claims →
// consumer begins, executes, reports → shard settles. Time moves through the shard's clock.
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { removalTime } from "../../src/core/removal-time";
import {
  createUser,
  deliver,
  fireAlarm,
  getJob,
  inShard,
  setShardClock,
  shardOf,
  submit,
} from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

const HOOK = "https://hooks.example.com/run";

function mockTarget(respond: () => Response) {
  return vi.spyOn(globalThis, "fetch").mockImplementation(async () => respond());
}

describe("dispatch", () => {
  it("runs a due job once, from submit to succeeded", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    const messages = await fireAlarm(user.user_id);
    expect(messages).toEqual([{ user_id: user.user_id, job_id: job.id, attempt: 1 }]);
    expect((await getJob(user, job.id)).status).toBe("queued");

    const result = await deliver(messages);
    expect(result.explicitAcks).toHaveLength(1);
    const done = await getJob(user, job.id);
    expect(done.status).toBe("succeeded");
    expect(done.runs).toBe(1);
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]).toMatchObject({ number: 1, status: "succeeded", error: null });
    expect(done.attempts[0]?.lateness_ms).toBeGreaterThanOrEqual(0);
    expect(done.last_run_at).toBe(done.attempts[0]?.started_at);
  });

  it("does not dispatch a job before its run_at", async () => {
    const user = await createUser();
    const runAt = new Date(Date.now() + 60_000).toISOString();
    const { body: job } = await submit(user, { type: "noop", run_at: runAt });
    expect(await fireAlarm(user.user_id)).toEqual([]);
    expect(await shardOf(user.user_id).get(job.id)).toMatchObject({
      ok: true,
      view: { status: "scheduled", run_at: runAt },
    });
    const alarm = await inShard(user.user_id, (_s, state) => state.storage.getAlarm());
    // Armed for the job (or earlier, for its pending index copy); never later than its run_at.
    expect(alarm).not.toBeNull();
    expect(alarm).toBeLessThanOrEqual(Date.parse(runAt));
  });

  it("runs a redelivered message once", async () => {
    const user = await createUser();
    const target = mockTarget(() => new Response("ok"));
    const { body: job } = await submit(user, { type: "http", payload: { url: HOOK } });
    const [message] = await fireAlarm(user.user_id);
    await deliver([message]);
    const again = await deliver([message, message]);
    expect(again.explicitAcks).toHaveLength(2);
    expect(target).toHaveBeenCalledTimes(1);
    const done = await getJob(user, job.id);
    expect(done.attempts).toHaveLength(1);
    expect(done.runs).toBe(1);
  });

  it("signs each request with a webhook id stable across retries of one occurrence", async () => {
    const user = await createUser();
    const ids: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => {
      ids.push(new Headers(init?.headers).get("webhook-id") ?? "");
      return new Response("no", { status: 500 });
    });
    const { body: job } = await submit(user, { type: "http", payload: { url: HOOK }, max_retries: 1 });
    await deliver(await fireAlarm(user.user_id));
    await setShardClock(user.user_id, Date.now() + 3_600_000);
    await deliver(await fireAlarm(user.user_id));
    expect(ids).toEqual([`${job.id}:0`, `${job.id}:0`]);
  });

  it("retries a failing job with backoff, then fails it", async () => {
    const user = await createUser();
    mockTarget(() => new Response("boom", { status: 500 }));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: HOOK },
      max_retries: 2,
      retry_delay_seconds: 10,
    });
    let now = Date.now();
    await setShardClock(user.user_id, now);
    await deliver(await fireAlarm(user.user_id));
    const first = await getJob(user, job.id);
    expect(first).toMatchObject({ status: "scheduled", current_retries: 1 });
    expect(first.last_error).toMatch(/HTTP 500/);
    // Retry 1 waits base × 2^0 = 10 s, jittered into [5 s, 10 s].
    const wait1 = Date.parse(first.run_at) - now;
    expect(wait1).toBeGreaterThanOrEqual(5_000);
    expect(wait1).toBeLessThanOrEqual(10_000);
    expect(await fireAlarm(user.user_id)).toEqual([]);

    now = Date.parse(first.run_at);
    await setShardClock(user.user_id, now);
    await deliver(await fireAlarm(user.user_id));
    const second = await getJob(user, job.id);
    const wait2 = Date.parse(second.run_at) - now;
    expect(second.current_retries).toBe(2);
    expect(wait2).toBeGreaterThanOrEqual(10_000);
    expect(wait2).toBeLessThanOrEqual(20_000);

    await setShardClock(user.user_id, Date.parse(second.run_at));
    await deliver(await fireAlarm(user.user_id));
    const failed = await getJob(user, job.id);
    expect(failed.status).toBe("failed");
    expect(failed.attempts.map((a) => a.status)).toEqual(["failed", "failed", "failed"]);
    expect(failed.attempts.map((a) => a.number)).toEqual([3, 2, 1]);
    // Finished: the shard copies the final state to D1 at its flush time (INDEX_FLUSH_DELAY_MS, 2 s),
    // and then nothing is left to wake for but the job's removal when its retention (7 days) runs out
    // (on the retention's grid: src/core/removal-time.ts).
    await setShardClock(user.user_id, Date.parse(second.run_at) + 2_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBe(
      removalTime(Date.parse(second.run_at), 7 * 24 * 3600),
    );
    expect(
      await inShard(user.user_id, (_s, state) =>
        state.storage.sql.exec("select * from jobs where index_due_at is not null").toArray(),
      ),
    ).toEqual([]);
  });

  it("honours Retry-After beyond the backoff", async () => {
    const user = await createUser();
    mockTarget(() => new Response("busy", { status: 429, headers: { "retry-after": "600" } }));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: HOOK },
      retry_delay_seconds: 1,
    });
    const now = Date.now();
    await setShardClock(user.user_id, now);
    await deliver(await fireAlarm(user.user_id));
    const view = await getJob(user, job.id);
    expect(Date.parse(view.run_at) - now).toBeGreaterThanOrEqual(600_000);
  });

  it("keeps a recurring interval job on its grid and skips missed slots", async () => {
    const user = await createUser();
    const start = Date.now() + 1_000;
    const { body: job } = await submit(user, {
      type: "noop",
      interval_seconds: 60,
      run_at: new Date(start).toISOString(),
    });
    await setShardClock(user.user_id, start);
    await deliver(await fireAlarm(user.user_id));
    const after1 = await getJob(user, job.id);
    expect(after1).toMatchObject({ status: "scheduled", runs: 1, current_retries: 0 });
    expect(Date.parse(after1.run_at)).toBe(start + 60_000);

    // The shard wakes 3.5 intervals late: the missed slots are skipped, not burst.
    await setShardClock(user.user_id, start + 60_000 * 4.5);
    await deliver(await fireAlarm(user.user_id));
    const after2 = await getJob(user, job.id);
    expect(after2.runs).toBe(2);
    expect(Date.parse(after2.run_at)).toBe(start + 60_000 * 5);
    expect(after2.attempts[0]?.lateness_ms).toBe(60_000 * 3.5);
  });

  it("treats a run_at in the past, even before 1970, as now", async () => {
    const user = await createUser();
    const before = Date.now();
    for (const run_at of [
      "1970-01-01T00:00:00Z",
      "0001-01-01T00:00:00Z",
      new Date(before - 3_600_000).toISOString(),
    ]) {
      const { status, body } = await submit(user, { type: "noop", run_at });
      expect(status).toBe(201);
      expect(Date.parse(body.run_at)).toBeGreaterThanOrEqual(before);
    }
    const messages = await fireAlarm(user.user_id);
    expect(messages).toHaveLength(3);
    await deliver(messages);
    const late = await getJob(user, messages[0]?.job_id ?? "");
    expect(late.attempts[0]?.lateness_ms).toBeLessThan(60_000);
  });

  it("does not start a cancelled queued job and ignores a cancelled attempt's report", async () => {
    const user = await createUser();
    const a = (await submit(user, { type: "noop" })).body;
    const b = (await submit(user, { type: "noop", interval_seconds: 30 })).body;
    const messages = await fireAlarm(user.user_id);
    const stub = shardOf(user.user_id);
    const byJob = new Map(messages.map((m) => [m.job_id, m]));
    const mb = byJob.get(b.id);
    if (!mb) throw new Error("b was not dispatched");
    expect((await stub.begin(b.id, mb.attempt)).ok).toBe(true);

    expect((await stub.cancel(a.id)).ok).toBe(true);
    expect((await stub.cancel(b.id)).ok).toBe(true);
    expect(await stub.begin(a.id, byJob.get(a.id)?.attempt ?? 0)).toEqual({ ok: false, reason: "cancelled" });
    expect(await stub.finish(b.id, mb.attempt, { outcome: { ok: true } })).toEqual({
      ok: false,
      reason: "cancelled",
    });
    const cancelled = await getJob(user, b.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.attempts[0]?.status).toBe("cancelled");
    // No further occurrence: once the index copy is written, nothing is left to wake for but the
    // removal of the finished jobs when their retention (7 days) runs out.
    await setShardClock(user.user_id, Date.now() + 60_000);
    await runDurableObjectAlarm(stub);
    const [alarm, removal] = await inShard(user.user_id, async (_s, state) => [
      await state.storage.getAlarm(),
      state.storage.sql.exec<{ at: number }>("select min(deadline) as at from jobs").one().at,
    ]);
    expect(alarm).toBe(removal);
    expect(removal).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
  });
});
