// A hot shard asks for more shards: each shard counts the jobs it takes in (submits) and sends out
// (claims) in fixed windows (src/core/hot-shard.ts); a window that runs hot asks the user's home shard
// to grow the user's shard count. A failed ask is logged and never fails the request that noticed.
import type { LoadWindow } from "../core/hot-shard";
import { log } from "../log";
import { homeStub } from "./address";
import type { ShardContext } from "./context";

export async function noteLoad(
  s: Pick<ShardContext, "env" | "name">,
  load: LoadWindow,
  kind: "submitted" | "dispatched",
  jobs: number,
  userId: string,
  now: number,
): Promise<void> {
  if (!load.record(kind, jobs, now)) return;
  try {
    const out = await homeStub(s.env, userId).growShards();
    log("shard_hot", { shard: s.name, kind, shards: out.ok ? out.shards : null, grown: out.ok && out.grown });
  } catch (err) {
    log("shard_growth_failed", { shard: s.name, error: err });
  }
}
