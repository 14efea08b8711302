// How the consumer works through a batch's messages of one kind: grouped by the shard they concern,
// one begin request per shard for the whole group (its messages start together anyway, so grouping
// holds no pool unit longer), then each message on its own, acked when done or retried later. A
// shard that cannot be reached retries its whole group; one message's failure retries it alone.
import type { Env } from "../env";
import { log } from "../log";
import { shardStub } from "../shard/address";
import type { TaskShardRpc } from "../shard/rpc";

const RETRY_DELAY_SECONDS = 5;

export interface ShardItem<M extends { user_id: string }> {
  /** How the item's message is settled: the message, or its share of a group's (shared-settlement.ts). */
  message: Pick<Message<unknown>, "ack" | "retry">;
  msg: M;
  shard: number;
}

export async function perShard<M extends { user_id: string }, Begun>(
  env: Env,
  items: ShardItem<M>[],
  beginGroup: (stub: TaskShardRpc, msgs: M[]) => Promise<Begun[]>,
  runOne: (stub: TaskShardRpc, item: ShardItem<M>, begun: Begun | undefined) => Promise<void>,
): Promise<void> {
  const byShard = Map.groupBy(items, (i) => `${i.msg.user_id}/${i.shard}`);
  await Promise.all(
    [...byShard.values()].map(async (group) => {
      const first = group[0];
      if (!first) return;
      const stub = shardStub(env, first.msg.user_id, first.shard);
      let begun: Begun[];
      try {
        begun = await beginGroup(
          stub,
          group.map((g) => g.msg),
        );
      } catch (err) {
        for (const g of group) retryLater(g, err);
        return;
      }
      await Promise.all(
        group.map(async (g, i) => {
          try {
            await runOne(stub, g, begun[i]);
            g.message.ack();
          } catch (err) {
            retryLater(g, err);
          }
        }),
      );
    }),
  );
}

function retryLater(item: ShardItem<{ user_id: string }>, err: unknown): void {
  log("dispatch_message_failed", { ...item.msg, error: err });
  item.message.retry({ delaySeconds: RETRY_DELAY_SECONDS });
}
