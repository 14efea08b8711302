// Cloudflare's published limits the capacity plan is sized against (Workers Paid), read on 2026-11-29
// from developers.cloudflare.com: durable-objects/platform/limits ("How much work can a single Durable
// Object do?"), queues/platform/limits, d1/platform/limits (last updated 2026-04-21). docs/capacity.md
// quotes each one with its page.
export const LIMITS = {
  /** "An individual Object has a soft limit of 1,000 requests per second." Past it: `overloaded`. */
  doRequestsPerSecond: 1_000,
  /** Storage per SQLite-backed Durable Object. */
  doStorageBytes: 10e9,
  /** Per-queue message throughput; past it send() and sendBatch() throw Too Many Requests. */
  queueMessagesPerSecond: 5_000,
  /** Concurrent consumer invocations per queue (push consumers). */
  queueConsumerConcurrency: 250,
  /** Maximum D1 database size; "cannot be further increased". */
  d1DatabaseBytes: 10e9,
  /** Maximum D1 storage per account (can be raised by request). */
  d1AccountBytes: 1e12,
  /** D1 databases per account (can be raised by request). */
  d1Databases: 50_000,
} as const;

/**
 * Operations per canonical job (one-shot http, succeeds at once), from `npm run bench:cost` after
 * grouped begins (docs/results/bench/2026-11-29-2c03de9-cost.json, docs/cost.md): what a job costs the
 * platform's limits and the bill. A batch-submitted job needs fewer Durable Object requests (1.13)
 * and costs $16.46; this is the single-submit figure, the higher one.
 */
export const PER_CANONICAL_JOB = {
  doRequests: 2.3,
  sqlRowsWritten: 14.01,
  d1RowsWritten: 1.01,
  queueMessages: 1,
  workerInvocations: 1.06,
  usdPerMillion: 17.0,
} as const;

/**
 * Durable Object requests per job on a busy shard, measured by `npm run bench:capacity -- --users 1
 * --shards 1 --rates 40,80 --operations` (docs/results/bench/2026-11-29-ada60b2-capacity-operations-one-shard.json):
 * one shard at 40-80 jobs/s, batch-submitted, so the submit, the claim, the consumer's grouped begin
 * and the index flush are shared by many jobs and only finish (1) is per job. The per-shard request
 * limit only matters for busy shards, so this is the figure that sizes them. Thin shards (8 users × 4
 * shards at ~1 job/s each) took 5.89, the home shard's signing secrets included
 * (…-capacity-operations.json).
 */
export const BUSY_SHARD_DO_REQUESTS_PER_JOB = 1.27;
