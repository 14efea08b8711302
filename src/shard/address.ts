// Addressing: which Durable Object holds what. A user's jobs live on the shards `<user id>/<n>`.
import { shardName } from "../core/ids";
import { HOME_SHARD } from "../core/placement";
import type { Env } from "../env";
import type { TaskShardRpc } from "./rpc";

export { MAX_SHARDS } from "../core/ids";
export { HOME_SHARD } from "../core/placement";

/**
 * The stub of a user's shard, typed by the RPC contract (src/shard/rpc.ts) here, the one place that
 * addresses a shard, so the bindings (src/env.ts) need not know the shard's types.
 */
export function shardStub(env: Env, userId: string, shard: number): TaskShardRpc {
  const stub = env.TASK_SHARD.get(env.TASK_SHARD.idFromName(shardName(userId, shard)));
  return stub as unknown as TaskShardRpc;
}

export function homeStub(env: Env, userId: string): TaskShardRpc {
  return shardStub(env, userId, HOME_SHARD);
}
