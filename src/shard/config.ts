// The shard's settings, derived from the parsed configuration (src/config.ts).
import type { Config } from "../config";
import type { ShardTimings } from "./db";

export function shardTimings(config: Config): ShardTimings {
  return {
    dispatchDeadlineMs: config.DISPATCH_DEADLINE_SECONDS * 1000,
    leaseGraceMs: config.LEASE_GRACE_SECONDS * 1000,
    heartbeatTimeoutMs: config.HEARTBEAT_TIMEOUT_SECONDS * 1000,
    indexFlushDelayMs: config.INDEX_FLUSH_DELAY_MS,
  };
}

export interface DispatchPolicy {
  batchSize: number;
  /** Most claimed-but-not-begun jobs one shard keeps in the shared queue (fairness between users). */
  window: number;
  agingSeconds: number;
  /** Hard cap on a shard's unfinished jobs; a submit past it is a 429. */
  maxUnfinished: number;
}

/** A fresh object per shard: tests lower a running shard's cap on it. */
export function dispatchPolicy(config: Config): DispatchPolicy {
  return {
    batchSize: config.DISPATCH_BATCH_SIZE,
    window: config.DISPATCH_WINDOW,
    agingSeconds: config.PRIORITY_AGING_SECONDS,
    maxUnfinished: config.MAX_UNFINISHED_JOBS,
  };
}
