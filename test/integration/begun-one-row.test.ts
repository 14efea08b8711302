// A begun attempt at one row written (src/shard/sql/begun.ts): begin leaves status and the lease
// deadline as the claim wrote them and keeps the liveness deadline in run_deadline. What must hold
// exactly as before: one begin per attempt (a redelivery is a duplicate), the job reads as running
// everywhere (GET, metrics, bulk filters), a lost-dispatch resend or a requeue never touches it, a
// dead consumer is given up at its liveness deadline, and pause keeps that deadline. Time moves only
// through the shard's clock.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import { inFlight } from "../../src/shard/sql/claim";
import { requeue, resendLostDispatches } from "../../src/shard/sql/dispatch";
import {
  createUser,
  fireAlarm,
  getJob,
  inShard,
  JOB_DEADLINE,
  JOB_STATUS,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const DISPATCH_DEADLINE_MS = 30_000;
const HEARTBEAT_TIMEOUT_MS = 30_000;

type Stored = { status: string; deadline: number | null; run_deadline: number | null };
const stored = (user: TestUser, id: string) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql.exec<Stored>("select status, deadline, run_deadline from jobs where id = ?", id).one(),
  );
const seen = (user: TestUser, id: string) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ status: string; deadline: number | null }>(
        `select ${JOB_STATUS} as status, ${JOB_DEADLINE} as deadline from jobs where id = ?`,
        id,
      )
      .one(),
  );

async function alarmAt(user: TestUser, now: number) {
  await setShardClock(user.user_id, now);
  await runDurableObjectAlarm(shardOf(user.user_id));
}

/**
 * Submits a job due at `claimAt` (so the alarm claims it then, not its submit), claims it at `claimAt`
 * and begins it at `beginAt` (shard clock).
 */
async function claimedAndBegun(
  user: TestUser,
  job: Record<string, unknown>,
  claimAt: number,
  beginAt: number,
) {
  const { body } = await submit(user, { run_at: new Date(claimAt).toISOString(), ...job });
  await setShardClock(user.user_id, claimAt);
  const [message] = await fireAlarm(user.user_id);
  if (!message || message.job_id !== body.id) throw new Error("not dispatched");
  await setShardClock(user.user_id, beginAt);
  resetOperationTotals();
  const begun = await shardOf(user.user_id).begin(body.id, message.attempt);
  const rows = operationTotals().begin?.sqlRowsWritten;
  return { id: body.id, attempt: message.attempt, begun, rows };
}

describe("a begun attempt in its one-row form", () => {
  it("costs one row, reads as running, and a second begin of the attempt is a duplicate", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const { id, attempt, begun, rows } = await claimedAndBegun(user, { type: "noop" }, t0, t0 + 5_000);
    expect(begun.ok).toBe(true);
    expect(rows).toBe(1);
    // Stored as the claim left it, plus the liveness deadline.
    expect(await stored(user, id)).toEqual({
      status: "queued",
      deadline: t0 + DISPATCH_DEADLINE_MS,
      run_deadline: t0 + 5_000 + HEARTBEAT_TIMEOUT_MS,
    });
    expect((await getJob(user, id)).status).toBe("running");
    expect(await shardOf(user.user_id).begin(id, attempt)).toEqual({ ok: false, reason: "duplicate" });
    // Out of the in-flight window, and never sent again as a lost dispatch, nor requeued.
    await inShard(user.user_id, (shard) => {
      const { db, timings } = shard.context;
      expect(inFlight(db)).toBe(0);
      expect(resendLostDispatches(db, t0 + DISPATCH_DEADLINE_MS + 1, timings, 100)).toEqual([]);
      requeue(db, [{ id, userId: user.user_id, attempt }], t0, t0 + 1_000, timings);
    });
    expect((await stored(user, id)).status).toBe("queued");
    expect((await getJob(user, id)).status).toBe("running");
  });

  it("counts as running in the metrics and in a bulk action's status filter", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const { id } = await claimedAndBegun(user, { type: "noop" }, t0, t0 + 1_000);
    const res = await request("/v1/metrics", { headers: user.auth });
    const metrics = (await res.json()) as { jobs: Record<string, number> };
    expect(metrics.jobs).toMatchObject({ queued: 0, running: 1 });

    const none = await request("/v1/jobs/cancel", {
      method: "POST",
      headers: user.auth,
      json: { status: "queued" },
    });
    expect(await none.json()).toEqual({ matched: 0 });
    const one = await request("/v1/jobs/cancel", {
      method: "POST",
      headers: user.auth,
      json: { status: "running" },
    });
    expect(await one.json()).toEqual({ matched: 1 });
    expect((await getJob(user, id)).status).toBe("cancelled");
  });

  it("is moved on at its lease and given up at its liveness deadline when its consumer is gone", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const { id } = await claimedAndBegun(user, { type: "noop", retry_delay_seconds: 60 }, t0, t0 + 5_000);
    const liveness = t0 + 5_000 + HEARTBEAT_TIMEOUT_MS;
    // The alarm wakes at the lease, which comes first, and moves the deadline to the liveness one.
    const alarm = await inShard(user.user_id, (_s, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(t0 + DISPATCH_DEADLINE_MS);
    await alarmAt(user, t0 + DISPATCH_DEADLINE_MS);
    expect(await stored(user, id)).toMatchObject({ status: "running", deadline: liveness });
    expect((await getJob(user, id)).status).toBe("running");
    await alarmAt(user, liveness - 1);
    expect((await getJob(user, id)).status).toBe("running");
    await alarmAt(user, liveness);
    const given = await getJob(user, id);
    expect(given).toMatchObject({ status: "scheduled", current_retries: 1 });
    expect(given.attempts[0]).toMatchObject({ number: 1, status: "timed_out" });
  });

  it("a heartbeat moves it into its running form at once", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const { id, attempt } = await claimedAndBegun(user, { type: "noop" }, t0, t0 + 1_000);
    await setShardClock(user.user_id, t0 + 11_000);
    expect(await shardOf(user.user_id).heartbeat(id, attempt)).toEqual({ ok: true });
    expect(await stored(user, id)).toMatchObject({
      status: "running",
      deadline: t0 + 11_000 + HEARTBEAT_TIMEOUT_MS,
    });
  });

  it("pause keeps its liveness deadline, and its report settles the paused job", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    const { id, attempt } = await claimedAndBegun(user, { type: "noop" }, t0, t0 + 2_000);
    const paused = await request(`/v1/jobs/${id}/pause`, { method: "POST", headers: user.auth });
    expect(paused.status).toBe(200);
    expect(await seen(user, id)).toEqual({ status: "paused", deadline: t0 + 2_000 + HEARTBEAT_TIMEOUT_MS });
    expect(
      await shardOf(user.user_id).finish(id, attempt, { outcome: { ok: true }, result: { done: 1 } }),
    ).toMatchObject({ ok: true });
    expect((await getJob(user, id)).status).toBe("succeeded");
  });

  it("takes the running form at begin when its liveness deadline would come before the lease", async () => {
    const user = await createUser();
    const t0 = Date.now() + 60_000;
    // timeout 5 s + 10 s grace: the attempt is over 15 s after begin, before the claim's 30 s lease.
    const { id, rows } = await claimedAndBegun(user, { type: "noop", timeout_seconds: 5 }, t0, t0 + 1_000);
    expect(rows).toBe(2);
    expect(await stored(user, id)).toMatchObject({ status: "running", deadline: t0 + 1_000 + 15_000 });
    await alarmAt(user, t0 + 16_000);
    expect((await getJob(user, id)).attempts[0]).toMatchObject({ status: "timed_out" });
  });
});
