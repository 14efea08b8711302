// The capacity plan as arithmetic: from the measured bytes per job, the operations per job (the cost
// benchmark's and the capacity run's) and Cloudflare's published limits (limits.ts), how many shards,
// queues and D1 databases 100 M jobs a day need, what the stores hold at the default retention, what
// it costs a month, how close each limit is at 1×, 10× and 20× the average rate, and what one user can
// do. Pure, so the figures in docs/capacity.md can be recomputed (`--plan-from`) and are tested.
import { PRICES_USD, STORAGE_PRICES_USD } from "../cost/prices";
import { BUSY_SHARD_DO_REQUESTS_PER_JOB, LIMITS, PER_CANONICAL_JOB } from "./limits";

export interface Measured {
  /** What a job held (finished, kept for the retention) takes in a shard's SQLite, in pages. */
  shardBytesPerJob: number;
  /** What its row takes in the D1 index, in pages. */
  d1BytesPerJob: number;
  /** Local CPU per job, all of workerd: an upper bound for billed Worker CPU. */
  cpuMsPerJob?: number;
}

export const TARGET = {
  jobsPerDay: 100e6,
  /** FINISHED_RETENTION_SECONDS' default: a finished job is held 7 days. */
  retentionSeconds: 604_800,
  /** Queues are sized for this multiple of the average rate. */
  designPeak: 10,
  /**
   * Shards are sized for this one: an idle Durable Object costs nothing, so shards are the resource
   * to provision ahead (and growing a user later only spreads new jobs).
   */
  shardPeak: 20,
  checkPeaks: [1, 10, 20],
  /** A rate limit is used to at most this share at its sizing peak: spread is never perfectly even. */
  rateUse: 0.7,
  /** A size limit is filled to at most this share at steady retention. */
  fill: 0.7,
  /** max_batch_size in wrangler.toml. */
  consumerBatch: 25,
  daysPerMonth: 30,
} as const;

const GB = 1e9;
/** Duration bills 128 MB for every active object. */
const DO_GB = 0.128;
const up = Math.ceil;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function plan(m: Measured, t = TARGET) {
  const requestsPerJob = BUSY_SHARD_DO_REQUESTS_PER_JOB;
  const average = t.jobsPerDay / 86_400;
  const held = (t.jobsPerDay * t.retentionSeconds) / 86_400;
  const shardBytes = held * m.shardBytesPerJob;
  const d1Bytes = held * m.d1BytesPerJob;
  const shardRequestBudget = LIMITS.doRequestsPerSecond * t.rateUse;

  const shardsForRequests = up((average * t.shardPeak * requestsPerJob) / shardRequestBudget);
  const shardsForStorage = up(shardBytes / (LIMITS.doStorageBytes * t.fill));
  const shards = Math.max(shardsForRequests, shardsForStorage);
  const queues = up(
    (average * t.designPeak * PER_CANONICAL_JOB.queueMessages) / (LIMITS.queueMessagesPerSecond * t.rateUse),
  );
  const databases = up(d1Bytes / (LIMITS.d1DatabaseBytes * t.fill));

  const atPeaks = t.checkPeaks.map((peak) => {
    const jobsPerS = average * peak;
    const perQueue = (jobsPerS * PER_CANONICAL_JOB.queueMessages) / queues;
    const use = {
      do_requests_per_shard: (jobsPerS * requestsPerJob) / shards / LIMITS.doRequestsPerSecond,
      queue_messages_per_queue: perQueue / LIMITS.queueMessagesPerSecond,
    };
    return {
      peak,
      jobs_per_s: Math.round(jobsPerS),
      do_requests_per_s_per_shard: Math.round((jobsPerS * requestsPerJob) / shards),
      messages_per_s_per_queue: Math.round(perQueue),
      d1_rows_written_per_s_per_database: Math.round(
        (jobsPerS * PER_CANONICAL_JOB.d1RowsWritten) / databases,
      ),
      // Consumer invocations in flight per queue = batches a second × seconds a batch takes ≤ 250.
      longest_consumer_batch_s_within_concurrency: r1(
        (LIMITS.queueConsumerConcurrency * t.consumerBatch) / perQueue,
      ),
      use: {
        do_requests_per_shard: r3(use.do_requests_per_shard),
        queue_messages_per_queue: r3(use.queue_messages_per_queue),
      },
      first_limit: Object.entries(use).sort(([, a], [, b]) => b - a)[0]?.[0] ?? null,
      over_a_limit: Object.values(use).some((u) => u >= 1),
    };
  });

  const jobsPerMonth = t.jobsPerDay * t.daysPerMonth;
  const storageUsd =
    Math.max(0, shardBytes / GB - 5) * STORAGE_PRICES_USD.doSqliteGbMonth +
    Math.max(0, d1Bytes / GB - 5) * STORAGE_PRICES_USD.d1GbMonth;
  // Every shard active all month: the upper bound of duration.
  const durationUsd = (shards * DO_GB * t.daysPerMonth * 86_400 * PRICES_USD.doGbSecondPerMillion) / 1e6;
  const cpuUsd =
    m.cpuMsPerJob === undefined
      ? null
      : (jobsPerMonth * m.cpuMsPerJob * PRICES_USD.workerCpuMsPerMillion) / 1e6;
  const operationsUsd = (jobsPerMonth / 1e6) * PER_CANONICAL_JOB.usdPerMillion;

  return {
    inputs: { ...t, measured: m, busy_shard_do_requests_per_job: requestsPerJob, limits: LIMITS },
    rates: { average_jobs_per_s: Math.round(average) },
    deploy: {
      shards,
      shards_for_requests: shardsForRequests,
      shards_for_storage: shardsForStorage,
      queues,
      index_databases: databases,
      jobs_per_s_per_shard_by_requests: Math.round(shardRequestBudget / requestsPerJob),
      average_jobs_per_s_per_shard_by_storage: r1(
        (LIMITS.doStorageBytes * t.fill) / (m.shardBytesPerJob * t.retentionSeconds),
      ),
    },
    storage_at_retention: {
      jobs_held: held,
      shard_gb: r1(shardBytes / GB),
      d1_gb: r1(d1Bytes / GB),
      per_shard_gb: r1(shardBytes / GB / shards),
      per_database_gb: r1(d1Bytes / GB / databases),
      d1_share_of_account_limit: r3(d1Bytes / LIMITS.d1AccountBytes),
    },
    at_peaks: atPeaks,
    one_user: {
      // One shard: every request of every job lands on it.
      jobs_per_s_on_one_shard: Math.round(shardRequestBudget / requestsPerJob),
      // Many shards: each job on a shard other than the home one also asks the home shard for the
      // signing secrets (one request), so the home shard bounds the user however many shards it has.
      jobs_per_s_on_many_shards: Math.round(shardRequestBudget / 1),
      // A user's jobs are indexed in one D1 database.
      jobs_per_day_in_one_index_database: Math.round(
        (LIMITS.d1DatabaseBytes * t.fill) / (m.d1BytesPerJob * (t.retentionSeconds / 86_400)),
      ),
    },
    monthly_usd: {
      jobs_per_month: jobsPerMonth,
      operations: Math.round(operationsUsd),
      storage: Math.round(storageUsd),
      do_duration_upper_bound: Math.round(durationUsd),
      worker_cpu_upper_bound: cpuUsd === null ? null : Math.round(cpuUsd),
      total: Math.round(operationsUsd + storageUsd + durationUsd + (cpuUsd ?? 0)),
    },
  };
}

export type Plan = ReturnType<typeof plan>;

export function printPlan(p: Plan): void {
  const d = p.deploy;
  const s = p.storage_at_retention;
  const u = p.one_user;
  const lines = [
    `plan for ${p.inputs.jobsPerDay / 1e6} M jobs/day (average ${p.rates.average_jobs_per_s} jobs/s):`,
    `  shards ${d.shards} (requests at ${p.inputs.shardPeak}×: ${d.shards_for_requests}, storage: ${d.shards_for_storage}), queues ${d.queues}, index databases ${d.index_databases}`,
    `  held at retention: ${s.jobs_held / 1e6} M jobs, shards ${s.shard_gb} GB (${s.per_shard_gb} each), D1 ${s.d1_gb} GB (${s.per_database_gb} each, ${Math.round(s.d1_share_of_account_limit * 100)}% of the account limit)`,
    ...p.at_peaks.map(
      (a) =>
        `  ${String(a.peak).padStart(2)}×: ${a.jobs_per_s} jobs/s, ${a.do_requests_per_s_per_shard} DO req/s a shard (${Math.round(a.use.do_requests_per_shard * 100)}%), ` +
        `${a.messages_per_s_per_queue} msg/s a queue (${Math.round(a.use.queue_messages_per_queue * 100)}%), ${a.d1_rows_written_per_s_per_database} D1 rows/s a database, ` +
        `consumer batches ≤ ${a.longest_consumer_batch_s_within_concurrency} s; first limit ${a.first_limit}${a.over_a_limit ? " (OVER)" : ""}`,
    ),
    `  one user: ${u.jobs_per_s_on_one_shard} jobs/s on one shard, ${u.jobs_per_s_on_many_shards} on many (home shard), ${u.jobs_per_day_in_one_index_database} jobs/day in one index database`,
    `  monthly: $${p.monthly_usd.total} (operations $${p.monthly_usd.operations}, storage $${p.monthly_usd.storage}, duration ≤ $${p.monthly_usd.do_duration_upper_bound}, CPU ≤ $${p.monthly_usd.worker_cpu_upper_bound})`,
  ];
  process.stderr.write(`\n${lines.join("\n")}\n`);
}
