// The dispatch queue consumer. Messages are independent, so a batch runs concurrently (begun together,
// one request per shard) and each message is acked or retried on its own. It writes nothing to the D1
// index: a finish leaves the job's copy pending on its shard, whose alarm is the only writer of the
// shard's index rows and removes them too, so a copy can never land after its job was removed
// (docs/architecture.md, "The D1 index"). Callback messages (kind "callback") ride the same queues
// and go to callback.ts.

import { configOf } from "../config";
import { shardOfJobId } from "../core/ids";
import { type DispatchMessage, type QueueMessage, QueueMessageSchema } from "../dispatch/message";
import type { Env } from "../env";
import { log } from "../log";
import type { TaskShardRpc } from "../shard/rpc";
import { AttemptTally } from "./attempt-tally";
import { type CallbackItem, handleCallbacks } from "./callback";
import { perShard, type ShardItem } from "./per-shard";
import { REPORT_TRIES, ReportBatcher } from "./report-batcher";
import { runBegun } from "./run-attempt";
import { BatchSecrets } from "./secrets";
import { SharedSettlement } from "./shared-settlement";

export async function handleDispatchBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const startedAt = Date.now();
  const valid: ShardItem<DispatchMessage>[] = [];
  /** Per shard (`user/shard`): the longest its messages waited in the queue, sent to this batch. */
  const queueWait = new Map<string, number>();
  const callbacks: CallbackItem[] = [];
  for (const message of batch.messages) {
    const parsed = QueueMessageSchema.safeParse(message.body);
    const msgs = parsed.success ? attemptsOf(parsed.data) : [];
    const shards = msgs.map((m) => shardOfJobId(m.job_id));
    if (!parsed.success || shards.some((shard) => shard === null)) {
      // Retrying cannot fix a malformed message; the shard's deadline recovers the job, if any.
      log(
        "dispatch_message_malformed",
        parsed.success ? { ...parsed.data } : { issues: parsed.error.issues },
      );
      message.ack();
      continue;
    }
    const msg = parsed.data;
    if ("kind" in msg) callbacks.push({ message, msg, shard: shards[0] ?? 0 });
    else {
      // A group's attempts each run as if they had come alone; the message is settled once all have.
      const settle = msgs.length === 1 ? message : new SharedSettlement(message, msgs.length);
      const waited = Math.max(0, startedAt - message.timestamp.getTime());
      for (const [i, m] of msgs.entries()) {
        const shard = shards[i] ?? 0;
        valid.push({ message: settle, msg: m, shard });
        const key = `${m.user_id}/${shard}`;
        queueWait.set(key, Math.max(queueWait.get(key) ?? 0, waited));
      }
    }
  }
  // One begin request per shard for all its messages in this batch: they start together anyway, so
  // grouping holds no pool units longer. Each attempt then runs on its own, and its report joins its
  // shard's (group commit: src/consumer/report-batcher.ts).
  // Signing secrets: asked of a user's home shard at most once for the whole batch.
  const secrets = new BatchSecrets(env);
  // What a shard's attempts in this batch share: their group commit of reports and their log line.
  const shards = new Map<string, { reports: ReportBatcher; tally: AttemptTally }>();
  const sharedBy = (stub: TaskShardRpc, msg: DispatchMessage, shard: number) => {
    const key = `${msg.user_id}/${shard}`;
    let found = shards.get(key);
    if (!found) {
      const tally = new AttemptTally(msg.user_id, shard, configOf(env).LOG_ATTEMPTS, queueWait.get(key));
      found = { reports: new ReportBatcher(stub, REPORT_TRIES, configOf(env).REPORT_LINGER_MS), tally };
      shards.set(key, found);
    }
    return found;
  };
  const attempts = perShard(
    env,
    valid,
    (stub, msgs) => stub.beginMany(msgs.map((m) => ({ jobId: m.job_id, attempt: m.attempt }))),
    async (stub, { msg, shard }, answer) => {
      const begun = answer ?? { ok: false, reason: "not_found" as const };
      await runBegun(env, msg, shard, stub, begun, { secrets, ...sharedBy(stub, msg, shard) });
    },
  ).finally(() => {
    // One line per shard for the batch's attempts (each attempt's own only with LOG_ATTEMPTS).
    for (const { tally } of shards.values()) tally.log();
  });
  await Promise.all([attempts, handleCallbacks(env, callbacks, secrets)]);
}

/** The attempts a message asks for (a callback's job, for its shard): one, or each of a group's. */
function attemptsOf(msg: QueueMessage): { user_id: string; job_id: string; attempt: number }[] {
  if ("jobs" in msg) return msg.jobs.map((j) => ({ user_id: msg.user_id, ...j }));
  return [{ user_id: msg.user_id, job_id: msg.job_id, attempt: msg.attempt }];
}
