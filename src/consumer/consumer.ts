// The dispatch queue consumer. Messages are independent, so a batch runs concurrently and each
// message is acked or retried on its own. Final states go to the D1 index in one batch per
// consumer batch; the shards are then told, so they do not write the same versions again.

import { DispatchMessageSchema } from "../dispatch/message";
import type { Env } from "../env";
import { type IndexEntry, upsertJobs } from "../index-store/writer";
import { log } from "../log";
import { shardStub } from "../shard/address";
import { runAttempt } from "./run-attempt";

const RETRY_DELAY_SECONDS = 5;

export async function handleDispatchBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const written: { userId: string; shard: number; entry: IndexEntry }[] = [];
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = DispatchMessageSchema.safeParse(message.body);
      if (!parsed.success) {
        // Retrying cannot fix a malformed message; the shard's deadline recovers the job, if any.
        log("dispatch_message_malformed", { issues: parsed.error.issues });
        message.ack();
        return;
      }
      try {
        const run = await runAttempt(env, parsed.data);
        if (run.kind === "settled" && run.settled.ok) {
          written.push({ userId: parsed.data.user_id, shard: run.shard, entry: run.settled });
        }
        message.ack();
      } catch (err) {
        log("dispatch_message_failed", { ...parsed.data, error: err });
        message.retry({ delaySeconds: RETRY_DELAY_SECONDS });
      }
    }),
  );
  await indexSettled(env, written);
}

async function indexSettled(env: Env, written: { userId: string; shard: number; entry: IndexEntry }[]) {
  if (written.length === 0) return;
  try {
    await upsertJobs(
      env.INDEX_DB,
      written.map((w) => w.entry),
    );
  } catch (err) {
    // The shards still hold these versions as pending and will write them themselves.
    log("index_write_from_consumer_failed", { jobs: written.length, error: err });
    return;
  }
  const byShard = Map.groupBy(written, (w) => `${w.userId}/${w.shard}`);
  await Promise.allSettled(
    [...byShard.values()].map((group) => {
      const first = group[0];
      if (!first) return Promise.resolve();
      return shardStub(env, first.userId, first.shard).markIndexed(
        group.map((w) => ({ id: w.entry.view.id, version: w.entry.version })),
      );
    }),
  );
}
