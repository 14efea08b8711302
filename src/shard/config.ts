import type { Env } from "../env";
import type { ShardTimings } from "./dispatch-queries";

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function timingsFrom(env: Env): ShardTimings {
  return {
    dispatchDeadlineMs: positive(env.DISPATCH_DEADLINE_SECONDS, 30) * 1000,
    leaseGraceMs: positive(env.LEASE_GRACE_SECONDS, 10) * 1000,
    indexFlushDelayMs: positive(env.INDEX_FLUSH_DELAY_MS, 2000),
  };
}

export function dispatchBatchSize(env: Env): number {
  return Math.max(1, Math.floor(positive(env.DISPATCH_BATCH_SIZE, 100)));
}

export interface DispatchPolicy {
  batchSize: number;
  /** Most claimed-but-not-begun jobs one shard keeps in the shared queue (fairness between users). */
  window: number;
  agingSeconds: number;
  /** Hard cap on a shard's unfinished jobs; a submit past it is a 429. */
  maxUnfinished: number;
}

export function dispatchPolicy(env: Env): DispatchPolicy {
  return {
    batchSize: dispatchBatchSize(env),
    window: Math.max(1, Math.floor(positive(env.DISPATCH_WINDOW, 50))),
    agingSeconds: positive(env.PRIORITY_AGING_SECONDS, 1),
    maxUnfinished: Math.max(1, Math.floor(positive(env.MAX_UNFINISHED_JOBS, 100_000))),
  };
}
