// Several dispatch queues (issue 9): a shard's messages take the queues in turn, starting from a stable
// hash of its name (src/core/queue-choice.ts), and the consumer handles any of them.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatchQueueOf } from "../../src/core/queue-choice";
import type { DispatchGroup, DispatchMessage } from "../../src/dispatch/message";
import type { Env } from "../../src/env";
import { createUser, deliver, getJob, inShard, setShardClock, shardOf, submit } from "../support/helpers";

const QUEUES = ["DISPATCH", "DISPATCH_1", "DISPATCH_2", "DISPATCH_3"] as const;

/** The job ids a message carries: its own, or each of its group's. */
const jobIdsOf = (m: DispatchMessage | DispatchGroup) =>
  "jobs" in m ? m.jobs.map((j) => j.job_id) : [m.job_id];

/**
 * Gives the user's shard four recording queues; returns what each received, which queue each send went
 * to in order, and the shard's name.
 */
function recordQueues(userId: string) {
  const received: (DispatchMessage | DispatchGroup)[][] = QUEUES.map(() => []);
  const sends: number[] = [];
  return inShard(userId, (shard) => {
    const guts = shard as unknown as { env: Env; context: { dispatchQueues: number }; name: string };
    guts.context.dispatchQueues = 4;
    const queues = Object.fromEntries(
      QUEUES.map((binding, i) => [
        binding,
        {
          send: async () => {},
          sendBatch: async (batch: Iterable<MessageSendRequest>) => {
            sends.push(i);
            for (const m of batch) received[i]?.push(m.body as DispatchMessage | DispatchGroup);
          },
        },
      ]),
    );
    guts.env = { ...guts.env, ...queues };
    return { received, sends, name: guts.name };
  });
}

describe("several dispatch queues", () => {
  it("a shard's messages take the queues in turn from its own, and the consumer runs any of them", async () => {
    for (let u = 0; u < 4; u++) {
      const user = await createUser();
      const { received, sends, name } = await recordQueues(user.user_id);
      const mine = dispatchQueueOf(name, 4);
      // One message a send: six jobs, each due now and sent by its own submit (or the alarm after it).
      const lone: string[] = [];
      for (let i = 0; i < 6; i++) {
        lone.push((await submit(user, { type: "noop" })).body.id);
        await runDurableObjectAlarm(shardOf(user.user_id));
      }
      expect(sends, `${name}: one send a message, each to the next queue from ${mine}`).toEqual(
        [0, 1, 2, 3, 4, 5].map((k) => (mine + k) % 4),
      );
      for (const [k, id] of lone.entries()) expect(received[(mine + k) % 4]?.flatMap(jobIdsOf)).toContain(id);
      // Whichever queue carried them, the one consumer handler runs them.
      for (const messages of received) await deliver(messages.splice(0));
      for (const id of lone) expect((await getJob(user, id)).status).toBe("succeeded");
      // Several messages in one send: twelve jobs due together go 4 to a message, three messages, to
      // the three queues next in turn, each its own send.
      const at = Date.now() + 60_000;
      const grouped: string[] = [];
      for (let i = 0; i < 12; i++)
        grouped.push((await submit(user, { type: "noop", run_at: new Date(at).toISOString() })).body.id);
      await setShardClock(user.user_id, at + 1);
      await runDurableObjectAlarm(shardOf(user.user_id));
      expect(sends.slice(6).sort(), "the three messages on three queues").toEqual(
        [6, 7, 8].map((k) => (mine + k) % 4).sort(),
      );
      expect(received.flat().flatMap(jobIdsOf).sort()).toEqual([...grouped].sort());
      expect(received.flat()).toHaveLength(3);
      for (const messages of received) await deliver(messages);
      for (const id of grouped) expect((await getJob(user, id)).status).toBe("succeeded");
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
