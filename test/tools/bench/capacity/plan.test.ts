// The plan's arithmetic: counts sized from the limits, storage held at retention, which limit the 20×
// peak reaches first, and what one user can do.
import { describe, expect, it } from "vitest";
import {
  BUSY_SHARD_DO_REQUESTS_PER_JOB,
  LIMITS,
  PER_CANONICAL_JOB,
} from "../../../../tools/bench/capacity/limits";
import { plan, TARGET } from "../../../../tools/bench/capacity/plan";

describe("capacity plan", () => {
  const p = plan({ shardBytesPerJob: 400, d1BytesPerJob: 1_000 });
  const average = TARGET.jobsPerDay / 86_400;
  const at = (peak: number) => p.at_peaks.find((a) => a.peak === peak);

  it("holds a week of jobs at the default retention and sizes storage from it", () => {
    expect(p.storage_at_retention.jobs_held).toBe(700e6);
    expect(p.storage_at_retention.shard_gb).toBe(280);
    expect(p.storage_at_retention.d1_gb).toBe(700);
    // 700 GB at 70 % of 10 GB a database; 280 GB at 70 % of 10 GB an object.
    expect(p.deploy.index_databases).toBe(100);
    expect(p.deploy.shards_for_storage).toBe(40);
    expect(p.storage_at_retention.d1_share_of_account_limit).toBe(0.7);
  });

  it("sizes shards for the 20× peak and queues for the 10× one, each at the target use", () => {
    const shards = Math.ceil((average * 20 * BUSY_SHARD_DO_REQUESTS_PER_JOB) / 700);
    expect(p.deploy.shards_for_requests).toBe(shards);
    expect(p.deploy.shards).toBe(Math.max(shards, 40));
    expect(p.deploy.queues).toBe(4);
    expect(at(10)?.use.queue_messages_per_queue).toBeLessThanOrEqual(TARGET.rateUse);
    expect(at(20)?.use.do_requests_per_shard).toBeLessThanOrEqual(TARGET.rateUse);
    expect(at(10)?.over_a_limit).toBe(false);
  });

  it("names the limit the 20× peak passes first: the queues", () => {
    expect(at(20)?.over_a_limit).toBe(true);
    expect(at(20)?.first_limit).toBe("queue_messages_per_queue");
    expect(at(20)?.messages_per_s_per_queue).toBe(5_787);
    // 250 invocations × 25 messages a batch must drain 5,787 messages a second.
    expect(at(20)?.longest_consumer_batch_s_within_concurrency).toBe(1.1);
  });

  it("lets storage size the shards when jobs are big", () => {
    const big = plan({ shardBytesPerJob: 4_000, d1BytesPerJob: 1_000 });
    expect(big.deploy.shards).toBe(big.deploy.shards_for_storage);
    expect(big.deploy.shards_for_storage).toBe(Math.ceil(2.8e12 / (LIMITS.doStorageBytes * TARGET.fill)));
  });

  it("bounds one user by its shard, its home shard and its index database", () => {
    expect(p.one_user.jobs_per_s_on_one_shard).toBe(Math.round(700 / BUSY_SHARD_DO_REQUESTS_PER_JOB));
    expect(p.one_user.jobs_per_s_on_many_shards).toBe(700);
    // 7 GB over 1,000 bytes a job kept 7 days.
    expect(p.one_user.jobs_per_day_in_one_index_database).toBe(1_000_000);
  });

  it("prices a month: operations at the cost benchmark's rate plus storage beyond the inclusions", () => {
    expect(p.monthly_usd.jobs_per_month).toBe(3e9);
    expect(p.monthly_usd.operations).toBe(Math.round(3_000 * PER_CANONICAL_JOB.usdPerMillion));
    // (280 − 5) GB × $0.20 + (700 − 5) GB × $0.75
    expect(p.monthly_usd.storage).toBe(Math.round(275 * 0.2 + 695 * 0.75));
    expect(p.monthly_usd.worker_cpu_upper_bound).toBeNull();
    expect(
      plan({ shardBytesPerJob: 400, d1BytesPerJob: 1_000, cpuMsPerJob: 10 }).monthly_usd
        .worker_cpu_upper_bound,
    ).toBe(600);
  });
});
