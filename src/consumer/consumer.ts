// The dispatch queue consumer. Messages are independent, so a batch runs concurrently and each
// message is acked or retried on its own. Final states go to the D1 index in one batch per
// consumer batch; the shards are then told, so they do not write the same versions again.

import { DispatchMessageSchema } from "../dispatch/message";
import type { Env } from "../env";
import { indexDatabase } from "../index-store/databases";
import { type IndexEntry, upsertJobs } from "../index-store/writer";
import { log } from "../log";
import { shardStub } from "../shard/address";
import { runAttempt } from "./run-attempt";

const RETRY_DELAY_SECONDS = 5;

export async function handleDispatchBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const written: Written[] = [];
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
          written.push({
            userId: parsed.data.user_id,
            shard: run.shard,
            indexDb: run.settled.indexDb,
            entry: run.settled,
          });
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

type Written = { userId: string; shard: number; indexDb: number; entry: IndexEntry };

/** One D1 batch per index database the batch's users are in, then one markIndexed per shard. */
async function indexSettled(env: Env, written: Written[]) {
  const landed = await Promise.all(
    [...Map.groupBy(written, (w) => w.indexDb)].map(async ([db, group]) => {
      try {
        await upsertJobs(
          indexDatabase(env, db),
          group.map((w) => w.entry),
        );
        return group;
      } catch (err) {
        // The shards still hold these versions as pending and will write them themselves.
        log("index_write_from_consumer_failed", { jobs: group.length, error: err });
        return [];
      }
    }),
  );
  const byShard = Map.groupBy(landed.flat(), (w) => `${w.userId}/${w.shard}`);
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
