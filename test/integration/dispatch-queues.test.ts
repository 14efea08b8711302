// Several dispatch queues (issue 9): a shard sends to its own queue, chosen by a stable hash of its name,
// and moves on to the next in turn only when the oldest of its sends still waiting for their begins has
// waited QUEUE_STUCK_MS (src/core/queue-choice.ts, issue 16); a send's messages go together; the consumer handles any queue.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatchQueueOf, QUEUE_STUCK_MS } from "../../src/core/queue-choice";
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
  it("sends to its own queue while begins come, to the next once a send waited unbegun; any queue runs", async () => {
    for (let u = 0; u < 6; u++) {
      const user = await createUser();
      const { received, sends, name } = await recordQueues(user.user_id);
      const mine = dispatchQueueOf(name, 4);
      const t0 = Date.now() + 3_600_000;
      const jobs: string[] = [];
      /** Three jobs due at `due`, then the shard's clock at `due` and its alarm: one send of the three. */
      const sendThreeAt = async (due: number) => {
        const runAt = new Date(due).toISOString();
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await submit(user, { type: "noop", run_at: runAt })).body.id);
        await setShardClock(user.user_id, due);
        await runDurableObjectAlarm(shardOf(user.user_id));
        expect(sends.at(-1)?.jobIds.sort(), `${name}: one send holds its three jobs`).toEqual(ids.sort());
        jobs.push(...ids);
        return sends.at(-1)?.messages ?? [];
      };
      const a = await sendThreeAt(t0);
      // Not begun, and QUEUE_STUCK_MS later: the next send takes the next queue.
      const b = await sendThreeAt(t0 + QUEUE_STUCK_MS);
      // Whichever queue carried them, the one consumer handler runs them (their begins reach the shard).
      await deliver([...a, ...b]);
      // Begins came: sends stay on the queue the shard is on, also two of them QUEUE_STUCK_MS - 1 apart.
      const c = await sendThreeAt(t0 + 2 * QUEUE_STUCK_MS);
      const d = await sendThreeAt(t0 + 3 * QUEUE_STUCK_MS - 1);
      await deliver([...c, ...d]);
      // A begin of one send leaves the send made after it waiting, from its own time: once that one has
      // waited QUEUE_STUCK_MS, the next send takes the next queue (a full window sends only after a begin).
      const t1 = t0 + 10 * QUEUE_STUCK_MS;
      const e = await sendThreeAt(t1);
      const f = await sendThreeAt(t1 + 10);
      await deliver(e);
      const g = await sendThreeAt(t1 + 10 + QUEUE_STUCK_MS);
      await deliver([...f, ...g]);
      expect(
        sends.map((s) => s.queue),
        `${name}: its own queue ${mine}, then the next, then the one after`,
      ).toEqual([
        mine,
        (mine + 1) % 4,
        (mine + 1) % 4,
        (mine + 1) % 4,
        (mine + 1) % 4,
        (mine + 1) % 4,
        (mine + 2) % 4,
      ]);
      expect(received.flat()).toHaveLength(21);
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
