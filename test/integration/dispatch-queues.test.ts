// Several dispatch queues (issue 9): each shard sends every message to one queue, chosen by a stable
// hash of its name (src/core/queue-choice.ts), and the consumer handles any of them.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatchQueueOf } from "../../src/core/queue-choice";
import type { DispatchMessage } from "../../src/dispatch/message";
import type { Env } from "../../src/env";
import { createUser, deliver, getJob, inShard, shardOf, submit } from "../support/helpers";

const QUEUES = ["DISPATCH", "DISPATCH_1", "DISPATCH_2", "DISPATCH_3"] as const;

/** Gives the user's shard four recording queues; returns what each received and the shard's name. */
function recordQueues(userId: string) {
  const received: DispatchMessage[][] = QUEUES.map(() => []);
  return inShard(userId, (shard) => {
    const guts = shard as unknown as { env: Env; context: { dispatchQueues: number }; name: string };
    guts.context.dispatchQueues = 4;
    const queues = Object.fromEntries(
      QUEUES.map((binding, i) => [
        binding,
        {
          send: async () => {},
          sendBatch: async (batch: Iterable<MessageSendRequest>) => {
            for (const m of batch) received[i]?.push(m.body as DispatchMessage);
          },
        },
      ]),
    );
    guts.env = { ...guts.env, ...queues };
    return { received, name: guts.name };
  });
}

describe("several dispatch queues", () => {
  it("each shard sends to its own queue, always the same one, and the consumer runs any of them", async () => {
    for (let u = 0; u < 6; u++) {
      const user = await createUser();
      const { received, name } = await recordQueues(user.user_id);
      const mine = dispatchQueueOf(name, 4);
      const jobs = [];
      for (let i = 0; i < 3; i++) jobs.push((await submit(user, { type: "noop" })).body.id);
      await runDurableObjectAlarm(shardOf(user.user_id));
      expect(received[mine]?.map((m) => m.job_id).sort(), `${name} → queue ${mine}`).toEqual(jobs.sort());
      expect(received.flat()).toHaveLength(3);
      // Whichever queue carried them, the one consumer handler runs them.
      await deliver(received[mine] ?? []);
      for (const id of jobs) expect((await getJob(user, id)).status).toBe("succeeded");
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
