// Which shard a job id names, for the routes that act on one job.
import { MAX_SHARDS, shardOfJobId } from "../core/ids";
import { NotFoundError } from "./errors";

/**
 * The shard a job id routes to, or a 404 without any RPC when the id cannot name one. Not bounded by
 * the user's shard count as this isolate last saw it: that count may be seconds old after growth, and
 * the shard itself answers 404 for an id it does not hold (another user's ids name other objects).
 */
export function routeJob(id: string): number {
  const shard = shardOfJobId(id);
  if (shard === null || shard >= MAX_SHARDS) throw new NotFoundError();
  return shard;
}
