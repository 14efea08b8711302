// Cloudflare's published prices for the Workers Paid plan, as read on 2026-11-29 from
// developers.cloudflare.com (workers/platform/pricing, durable-objects/platform/pricing,
// queues/platform/pricing, d1/platform/pricing). Overage rates only: the plan's monthly inclusions
// (10 M Worker requests, 1 M DO requests, 25 B rows read, 50 M rows written, 1 M queue operations…)
// are a fixed discount that does not change the marginal cost of a job at 100 M jobs a day.
export const PRICES_USD = {
  workerRequestPerMillion: 0.3,
  workerCpuMsPerMillion: 0.02,
  doRequestPerMillion: 0.15,
  doGbSecondPerMillion: 12.5,
  sqlRowReadPerMillion: 0.001,
  sqlRowWrittenPerMillion: 1.0,
  /** Each 64 KB written, read or deleted is one operation: a small message costs three. */
  queueOperationPerMillion: 0.4,
  d1RowReadPerMillion: 0.001,
  d1RowWrittenPerMillion: 1.0,
} as const;

export const QUEUE_OPERATIONS_PER_MESSAGE = 3;

/**
 * Stored data per GB-month (1 GB = 10^9 bytes) beyond the plan's 5 GB inclusion each, from the same
 * pages (read 2026-11-29): SQLite-backed Durable Object storage and D1 storage (tables and indexes).
 */
export const STORAGE_PRICES_USD = {
  doSqliteGbMonth: 0.2,
  d1GbMonth: 0.75,
} as const;
