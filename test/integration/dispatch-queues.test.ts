// Several dispatch queues (issue 9): a shard's first send goes to its own queue, chosen by a stable hash
// of its name, and each later send to the next queue in turn, a send's messages together
// (src/core/queue-choice.ts, issue 16); the consumer handles any of them.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatchQueueOf } from "../../src/core/queue-choice";
import type { DispatchGroup, DispatchMessage } from "../../src/dispatch/message";
import type { Env } from "../../src/env";
import { createUser, deliver, getJob, inShard, setShardClock, shardOf, submit } from "../support/helpers";

const QUEUES = ["DISPATCH", "DISPATCH_1", "DISPATCH_2", "DISPATCH_3"] as const;

/**
 * Gives the user's shard four recording queues; returns what each received, each send in the order
 * made (the queue it went to and its messages), and the shard's name.
 */
function recordQueues(userId: string) {
  const received: DispatchMessage[][] = QUEUES.map(() => []);
  const sends: { queue: number; jobIds: string[]; messages: DispatchMessage[] }[] = [];
  return inShard(userId, (shard) => {
    const guts = shard as unknown as { env: Env; context: { dispatchQueues: number }; name: string };
    guts.context.dispatchQueues = 4;
    const queues = Object.fromEntries(
      QUEUES.map((binding, i) => [
        binding,
        {
          send: async () => {},
          sendBatch: async (batch: Iterable<MessageSendRequest>) => {
            const bodies = [...batch].map((m) => m.body as DispatchMessage | DispatchGroup);
            const messages = bodies.flatMap((b) =>
              "jobs" in b ? b.jobs.map((j) => ({ user_id: b.user_id, ...j })) : [b],
            );
            received[i]?.push(...messages);
            sends.push({ queue: i, jobIds: messages.map((m) => m.job_id), messages });
          },
        },
      ]),
    );
    guts.env = { ...guts.env, ...queues };
    return { received, sends, name: guts.name };
  });
}

describe("several dispatch queues", () => {
  it("a shard's first send goes to its own queue, each later one to the next in turn; the consumer runs any", async () => {
    for (let u = 0; u < 6; u++) {
      const user = await createUser();
      const { received, sends, name } = await recordQueues(user.user_id);
      const mine = dispatchQueueOf(name, 4);
      const start = Date.now();
      const jobs: string[] = [];
      // Six sends of three jobs each: the jobs due an hour after the shard's clock, then the clock moved
      // past them and the alarm run, which claims and sends the three in one send; whichever queue
      // carried them, the one consumer handler runs them.
      for (let round = 0; round < 6; round++) {
        const due = start + 3_600_000 * (round + 1);
        const runAt = new Date(due).toISOString();
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await submit(user, { type: "noop", run_at: runAt })).body.id);
        await setShardClock(user.user_id, due + 1_000);
        await runDurableObjectAlarm(shardOf(user.user_id));
        jobs.push(...ids);
        const sent = sends.at(-1);
        expect(sent?.jobIds.sort(), `${name}: send ${round} holds its three jobs`).toEqual(ids.sort());
        await deliver(sent?.messages ?? []);
        for (const id of ids) expect((await getJob(user, id)).status).toBe("succeeded");
      }
      expect(
        sends.map((s) => s.queue),
        `${name}: from queue ${mine}, in turn`,
      ).toEqual([0, 1, 2, 3, 4, 5].map((k) => (mine + k) % 4));
      expect(received.flat()).toHaveLength(18);
    }
  });

  it("a queue with no binding fails the send loudly and puts the claim back", async () => {
    // A user whose shard hashes to a queue other than 0 (three in four do; bounded search).
    let user = await createUser();
    let name = "";
    for (let tries = 0; tries < 40; tries++) {
      name = await inShard(user.user_id, (shard) => (shard as unknown as { name: string }).name);
      if (dispatchQueueOf(name, 4) !== 0) break;
      user = await createUser();
    }
    expect(dispatchQueueOf(name, 4)).not.toBe(0);
    await inShard(user.user_id, (shard) => {
      const guts = shard as unknown as { env: Env; context: { dispatchQueues: number } };
      guts.context.dispatchQueues = 4;
      const { DISPATCH_1: _1, DISPATCH_2: _2, DISPATCH_3: _3, ...rest } = guts.env;
      guts.env = rest as Env;
    });
    const { body: job } = await submit(user, { type: "noop" });
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect((await getJob(user, job.id)).status).toBe("scheduled");
  });
});
