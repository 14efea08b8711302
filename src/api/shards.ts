// Addressing: which Durable Object holds what.
import { shardName } from "../core/ids";
import type { Env } from "../env";
import type { TaskShard } from "../shard/task-shard";

export const HOME_SHARD = 0;

/**
 * The shard's RPC surface with its declared types. Every value crossing it is plain data, so the
 * runtime's stub typing (which loses literal discriminants in unions) adds nothing but noise.
 */
export type ShardApi = Pick<
  TaskShard,
  | "createAccount"
  | "authenticate"
  | "signingSecrets"
  | "submit"
  | "get"
  | "cancel"
  | "begin"
  | "finish"
  | "markIndexed"
  | "setShards"
  | "addKey"
  | "listKeys"
  | "revokeKey"
  | "rotateSigningSecret"
  | "putPool"
  | "listPools"
>;

export function shardStub(env: Env, userId: string, shard: number): ShardApi {
  return env.TASK_SHARD.get(env.TASK_SHARD.idFromName(shardName(userId, shard))) as unknown as ShardApi;
}

/** The home shard holds the account: keys, signing secrets, shard count. */
export function homeStub(env: Env, userId: string): ShardApi {
  return shardStub(env, userId, HOME_SHARD);
}
