// Which shard a job id names, for the routes that act on one job (and bulk actions that name ids).
import type { Context } from "hono";
import { MAX_SHARDS, shardOfJobId } from "../core/ids";
import { type AppEnv, freshPrincipal } from "./auth";
import { NotFoundError } from "./errors";

/**
 * The shards among `ids`' that the user has, ascending. An id names its shard, so it routes there;
 * an id beyond the count this isolate cached may be on a shard added seconds ago, so then the count
 * is read from the home shard (one RPC, only right after growth) rather than answering 404. An id
 * naming no shard the user has matches nothing, and never wakes an object that holds nothing.
 */
export async function shardsOfIds(c: Context<AppEnv>, ids: readonly string[]): Promise<number[]> {
  const named = [...new Set(ids.map(shardOfJobId))].filter((s): s is number => s !== null && s < MAX_SHARDS);
  let { shards } = c.get("principal");
  if (named.some((s) => s >= shards)) ({ shards } = await freshPrincipal(c));
  return named.filter((s) => s < shards).sort((a, b) => a - b);
}

/** The shard a job id routes to, or a 404 when it names none of the user's shards. */
export async function routeJob(c: Context<AppEnv>, id: string): Promise<number> {
  const [shard] = await shardsOfIds(c, [id]);
  if (shard === undefined) throw new NotFoundError();
  return shard;
}
