// Callback plumbing for tests: what a shard sends on its dispatch queue, and its pending callbacks.
import type { DispatchMessage, QueueMessage } from "../../src/dispatch/message";
import type { Env } from "../../src/env";
import { inShard } from "./helpers";

/** The attempts recorded messages ask for, in order: a group's one by one; callbacks left out. */
export function attemptsIn(messages: readonly QueueMessage[]): DispatchMessage[] {
  return messages.flatMap((m) => {
    if ("kind" in m) return [];
    if ("jobs" in m) return m.jobs.map((j) => ({ user_id: m.user_id, ...j }));
    return [m];
  });
}

/** Gives the user's home shard a recording dispatch queue; returns the messages it will receive. */
export function recordDispatchQueue(userId: string): Promise<QueueMessage[]> {
  const received: QueueMessage[] = [];
  return inShard(userId, (shard) => {
    const guts = shard as unknown as { env: Env };
    const queue = {
      send: async (body: QueueMessage) => {
        received.push(body);
      },
      sendBatch: async (batch: Iterable<MessageSendRequest>) => {
        for (const m of batch) received.push(m.body as QueueMessage);
      },
    };
    guts.env = { ...guts.env, DISPATCH: queue as unknown as Queue<unknown> };
    return received;
  });
}

/** Takes the callback messages out of `received` (the attempts' messages stay). */
export function takeCallbackMessages(received: QueueMessage[]): QueueMessage[] {
  const taken = received.filter((m) => "kind" in m);
  const rest = received.filter((m) => !("kind" in m));
  received.splice(0, received.length, ...rest);
  return taken;
}

export interface PendingCallback {
  job_id: string;
  occurrence: number;
  attempt: number;
  sends: number;
  deadline: number;
}

/** The shard's pending callbacks (the outbox rows), oldest deadline first. */
export function pendingCallbacks(userId: string): Promise<PendingCallback[]> {
  return inShard(userId, (_s, state) =>
    state.storage.sql
      .exec<{ job_id: string; occurrence: number; attempt: number; sends: number; deadline: number }>(
        "select job_id, occurrence, attempt, sends, deadline from callbacks order by deadline",
      )
      .toArray()
      .map((r) => ({ ...r })),
  );
}
