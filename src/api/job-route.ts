// Which shard a job id names, for the routes that act on one job.
import { shardOfJobId } from "../core/ids";
import { NotFoundError } from "./errors";

/** The shard a job id routes to for this user, or a 404 without any RPC. */
export function routeJob(id: string, shards: number): number {
  const shard = shardOfJobId(id);
  if (shard === null || shard >= shards) throw new NotFoundError();
  return shard;
}
