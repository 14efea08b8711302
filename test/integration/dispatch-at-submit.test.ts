// Dispatch at submit (src/core/dispatch-at-submit.ts, src/shard/submitting.ts; docs/architecture.md
// "Dispatch at submit"): a submit whose new jobs are the shard's only due ones sends them itself, queued
// under attempt 1, exactly as the alarm's claim at that instant would; anything else waits for the alarm.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import type { DispatchMessage } from "../../src/dispatch/message";
import { attemptsIn, recordDispatchQueue } from "../support/callbacks";
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
  submitBatch,
  type TestUser,
} from "../support/helpers";

const DISPATCH_DEADLINE_MS = 30_000;

async function batch(user: TestUser, jobs: Record<string, unknown>[]) {
  const { status, body } = await submitBatch(user, jobs);
  expect(status).toBe(201);
  return body.results.map((r) => r.job);
}

const stored = (user: TestUser, id: string) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ status: string; attempt: number; deadline: number; created_at: number }>(
        "select status, attempt, deadline, created_at from jobs where id = ?",
        id,
      )
      .one(),
  );

describe("dispatch at submit", () => {
  it("sends a due job with its submit, queued under attempt 1 with its dispatch lease, fenced as any claim", async () => {
    const user = await createUser();
    const sent = await recordDispatchQueue(user.user_id);
    const { status, body: job } = await submit(user, { type: "noop" });
    expect(status).toBe(201);
    expect(job).toMatchObject({ status: "queued", attempts: [] });
    // Sent by the submit's own request: no alarm has run.
    expect(sent).toEqual([{ user_id: user.user_id, job_id: job.id, attempt: 1 }]);
    const row = await stored(user, job.id);
    expect(row).toMatchObject({ status: "queued", attempt: 1 });
    expect(row.deadline - row.created_at).toBe(DISPATCH_DEADLINE_MS);
    // The alarm finds nothing more to send, and the message runs the job once: a second copy is refused.
    expect(sent).toHaveLength(1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(sent).toHaveLength(1);
    const message = sent[0] as DispatchMessage;
    expect((await deliver([message])).explicitAcks).toHaveLength(1);
    expect((await deliver([message])).explicitAcks).toHaveLength(1);
    const done = await getJob(user, job.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts.map((a) => `${a.number}:${a.status}`)).toEqual(["1:succeeded"]);
  });

  it("a replayed Idempotency-Key sends nothing more", async () => {
    const user = await createUser();
    const sent = await recordDispatchQueue(user.user_id);
    const headers = { "idempotency-key": "once" };
    const first = await submit(user, { type: "noop" }, headers);
    const again = await submit(user, { type: "noop" }, headers);
    expect(again.body.id).toBe(first.body.id);
    expect(attemptsIn(sent).map((m) => m.job_id)).toEqual([first.body.id]);
  });

  it("leaves the job to the alarm while a scheduled job of the shard is due, which then claims by priority", async () => {
    const user = await createUser();
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const now = Date.now() + 60_000;
    await setShardClock(user.user_id, now);
    const at = new Date(now).toISOString();
    // A pooled job is never sent by its submit: it is due and waiting for the alarm.
    const pooled = (await submit(user, { type: "noop", run_at: at, resources: { p: 1 }, priority: 10 })).body;
    expect(pooled.status).toBe("scheduled");
    // So a higher job submitted after it is not sent ahead of the alarm's order either.
    const high = (await submit(user, { type: "noop", run_at: at, priority: 90 })).body;
    expect(high.status).toBe("scheduled");
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([high.id, pooled.id].sort());
    expect((await getJob(user, high.id)).status).toBe("queued");
  });

  it("takes a batch's due jobs in the claim's order up to the claim's room; the alarm sends the rest", async () => {
    const user = await createUser();
    const sent = await recordDispatchQueue(user.user_id);
    await inShard(user.user_id, (shard) => {
      shard.context.policy.batchSize = 2;
    });
    const jobs = await batch(user, [
      { type: "noop", priority: 10 },
      { type: "noop", priority: 90 },
      { type: "noop", run_at: "2030-06-01T00:00:00Z", priority: 99 },
      { type: "noop", priority: 50 },
      { type: "noop", priority: 70, debounce: { key: "d", delay_seconds: 1 } },
    ]);
    const [low, high, later, middle, debounced] = jobs as [JobView, JobView, JobView, JobView, JobView];
    // Highest first, two of them; a job due later, a debounced one and the one past the room wait.
    expect(attemptsIn(sent).map((m) => m.job_id)).toEqual([high.id, middle.id]);
    expect(jobs.map((j) => j.status)).toEqual(["scheduled", "queued", "scheduled", "queued", "scheduled"]);
    // The alarm takes what is due, in its own order (its window and batch as before).
    await setShardClock(user.user_id, Date.now() + 2_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(
      attemptsIn(sent)
        .slice(2)
        .map((m) => m.job_id),
    ).toEqual([debounced.id, low.id]);
    expect((await getJob(user, later.id)).status).toBe("scheduled");
  });

  it("leaves the job to the alarm when the in-flight window is full", async () => {
    const user = await createUser();
    const sent = await recordDispatchQueue(user.user_id);
    await inShard(user.user_id, (shard) => {
      shard.context.policy.window = 1;
    });
    const first = (await submit(user, { type: "noop" })).body;
    const second = (await submit(user, { type: "noop" })).body;
    expect([first.status, second.status]).toEqual(["queued", "scheduled"]);
    expect(attemptsIn(sent).map((m) => m.job_id)).toEqual([first.id]);
    // Once the first has begun, the window has room and the alarm sends the second.
    expect((await shardOf(user.user_id).begin(first.id, 1)).ok).toBe(true);
    await setShardClock(user.user_id, Date.now() + 1_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(attemptsIn(sent).map((m) => m.job_id)).toEqual([first.id, second.id]);
  });
});
