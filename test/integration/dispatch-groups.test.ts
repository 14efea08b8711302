// Claimed attempts travel JOBS_PER_MESSAGE to a queue message (src/shard/dispatch-sender.ts): one
// message, three billed queue operations, for several jobs. Each attempt in a group is fenced as if it
// had come alone, and the message is acked or retried once (src/consumer/shared-settlement.ts).
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newJobId } from "../../src/core/ids";
import { JOBS_PER_MESSAGE, type QueueMessage } from "../../src/dispatch/message";
import type { Env } from "../../src/env";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import { attemptsIn, recordDispatchQueue } from "../support/callbacks";
import {
  createUser,
  deliver,
  getJob,
  inShard,
  setShardClock,
  shardOf,
  submitBatch,
  type TestUser,
  unreachableShards,
} from "../support/helpers";
import { newJobs } from "../support/new-job";

/** `n` noop jobs due in a minute (so the alarm, not their submit, sends them), in one batch request. */
async function dueTogether(user: TestUser, n: number, dueAt: number) {
  const jobs = Array.from({ length: n }, () => ({ type: "noop", run_at: new Date(dueAt).toISOString() }));
  const { status, body } = await submitBatch(user, jobs);
  expect(status).toBe(201);
  return body.results.map((r) => r.job.id);
}

describe("dispatch groups", () => {
  it("sends an alarm's claims JOBS_PER_MESSAGE a message, and each job runs once", async () => {
    const user = await createUser();
    const sent = await recordDispatchQueue(user.user_id);
    const dueAt = Date.now() + 60_000;
    const ids = await dueTogether(user, 2 * JOBS_PER_MESSAGE + 1, dueAt);
    await setShardClock(user.user_id, dueAt);
    resetOperationTotals();
    await runDurableObjectAlarm(shardOf(user.user_id));
    // Three messages: two full groups and a lone attempt; counted as three queue messages.
    expect(sent.map((m) => ("jobs" in m ? m.jobs.length : 1))).toEqual([
      JOBS_PER_MESSAGE,
      JOBS_PER_MESSAGE,
      1,
    ]);
    expect(operationTotals().claim?.queueMessages).toBe(3);
    expect(new Set(attemptsIn(sent).map((m) => m.job_id))).toEqual(new Set(ids));

    const result = await deliver(sent);
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toEqual([]);
    for (const id of ids)
      expect((await getJob(user, id)).attempts.map((a) => a.status)).toEqual(["succeeded"]);
    // The same messages again: every attempt is refused by its fence, and each message acked.
    const again = await deliver(sent);
    expect(again.explicitAcks).toHaveLength(3);
    for (const id of ids) expect((await getJob(user, id)).attempts).toHaveLength(1);
  });

  it("retries a group whose shard cannot be reached, and acks a group naming a foreign id", async () => {
    const user = await createUser();
    const sent = await recordDispatchQueue(user.user_id);
    const dueAt = Date.now() + 60_000;
    await dueTogether(user, 2, dueAt);
    await setShardClock(user.user_id, dueAt);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(sent).toHaveLength(1);
    const unreachable = await deliver(sent, unreachableShards("beginMany"));
    expect(unreachable.retryMessages).toHaveLength(1);
    expect(unreachable.explicitAcks).toEqual([]);
    // Delivered again, it runs both: none of them had begun.
    const retried = await deliver(sent);
    expect(retried.explicitAcks).toHaveLength(1);
    for (const m of attemptsIn(sent)) expect((await getJob(user, m.job_id)).status).toBe("succeeded");
    // A group with an id that names no shard is malformed: acked, nothing run.
    const bad = await deliver([{ user_id: user.user_id, jobs: [{ job_id: "not-a-job", attempt: 1 }] }]);
    expect(bad.explicitAcks).toHaveLength(1);
  });
});

describe("submit sends, group-committed", () => {
  it("sends the jobs of submits that arrive while a send is in flight together, and each runs once", async () => {
    const user = await createUser();
    const sent: QueueMessage[] = [];
    const sends: number[] = [];
    const ids = await inShard(user.user_id, async (shard) => {
      // The first send is held until the test lets it go; the later ones go at once.
      let started!: () => void;
      const inFlight = new Promise<void>((resolve) => {
        started = resolve;
      });
      let letGo!: () => void;
      const gate = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      const guts = shard as unknown as { env: Env };
      guts.env = {
        ...guts.env,
        DISPATCH: {
          sendBatch: async (batch: Iterable<MessageSendRequest>) => {
            const bodies = [...batch].map((m) => m.body as QueueMessage);
            sends.push(bodies.length);
            if (sends.length === 1) {
              started();
              await gate;
            }
            sent.push(...bodies);
          },
        } as unknown as Queue<unknown>,
      };
      const now = shard.context.now();
      const job = newJobs(user.user_id, now);
      const [a, b, c] = [0, 1, 2].map(() => newJobId(0, now));
      const first = shard.submit(job(a as string));
      await inFlight;
      // Two submits while the first one's send is held: they go in one message, after it.
      const later = [shard.submit(job(b as string)), shard.submit(job(c as string))];
      letGo();
      const answers = await Promise.all([first, ...later]);
      for (const answer of answers) expect(answer.ok && answer.view.status).toBe("queued");
      return [a, b, c] as string[];
    });
    expect(sends).toEqual([1, 1]);
    expect(sent).toEqual([
      { user_id: user.user_id, job_id: ids[0], attempt: 1 },
      {
        user_id: user.user_id,
        jobs: [
          { job_id: ids[1], attempt: 1 },
          { job_id: ids[2], attempt: 1 },
        ],
      },
    ]);
    const result = await deliver(sent);
    expect(result.explicitAcks).toHaveLength(2);
    for (const id of ids)
      expect((await getJob(user, id)).attempts.map((a) => a.status)).toEqual(["succeeded"]);
  });
});
