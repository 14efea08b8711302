// Addressing: which Durable Object holds what. A user's jobs live on the shards `<user id>/<n>`.
import { shardName } from "../core/ids";
import type { Env } from "../env";
import type { TaskShardRpc } from "./rpc";

/** The home shard holds the account (keys, signing secrets, shard count) and the pools. */
export const HOME_SHARD = 0;

export { MAX_SHARDS } from "../core/ids";

export function shardStub(env: Env, userId: string, shard: number): TaskShardRpc {
  return env.TASK_SHARD.get(env.TASK_SHARD.idFromName(shardName(userId, shard)));
}

export function homeStub(env: Env, userId: string): TaskShardRpc {
  return shardStub(env, userId, HOME_SHARD);
}
