// The plan's arithmetic: counts sized for the design peak, storage held at retention, and which limit
// the 20× peak reaches first.
import { describe, expect, it } from "vitest";
import { LIMITS, PER_CANONICAL_JOB } from "./limits";
import { plan, TARGET } from "./plan";

describe("capacity plan", () => {
  const measured = { shardBytesPerJob: 400, d1BytesPerJob: 1_000 };
  const p = plan(measured);

  it("holds a week of jobs at the default retention and sizes storage from it", () => {
    expect(p.storage_at_retention.jobs_held).toBe(700e6);
    expect(p.storage_at_retention.shard_gb).toBe(280);
    expect(p.storage_at_retention.d1_gb).toBe(700);
    // 700 GB at 70 % of 10 GB a database.
    expect(p.deploy.index_databases).toBe(100);
    expect(p.storage_at_retention.d1_share_of_account_limit).toBe(0.7);
  });

  it("sizes shards and queues for the 10× peak at the target use", () => {
    const design = (TARGET.jobsPerDay / 86_400) * TARGET.designPeak;
    expect(p.deploy.shards_for_requests).toBe(Math.ceil((design * PER_CANONICAL_JOB.doRequests) / 700));
    expect(p.deploy.shards_for_storage).toBe(40);
    expect(p.deploy.shards).toBe(Math.max(p.deploy.shards_for_requests, 40));
    expect(p.deploy.queues).toBe(4);
    const ten = p.at_peaks.find((a) => a.peak === 10);
    expect(ten?.use.queue_messages_per_queue).toBeLessThanOrEqual(TARGET.rateUse);
    expect(ten?.over_a_limit).toBe(false);
  });

  it("names the limit the 20× peak passes first", () => {
    const twenty = p.at_peaks.find((a) => a.peak === 20);
    expect(twenty?.over_a_limit).toBe(true);
    // Shards sized by requests run at 2 × 70 % = 140 %; four queues at 116 %.
    expect(twenty?.first_limit).toBe("do_requests_per_shard");
    expect(twenty?.messages_per_s_per_queue).toBe(5_787);
  });

  it("lets storage size the shards when jobs are big, which takes the request limit out of reach", () => {
    const big = plan({ shardBytesPerJob: 4_000, d1BytesPerJob: 1_000 });
    expect(big.deploy.shards).toBe(big.deploy.shards_for_storage);
    const twenty = big.at_peaks.find((a) => a.peak === 20);
    expect(twenty?.first_limit).toBe("queue_messages_per_queue");
    expect(twenty?.use.do_requests_per_shard).toBeLessThan(1);
    // 4 KB a job: 2.8 TB over 400 shards.
    expect(big.deploy.shards_for_storage).toBe(Math.ceil(2.8e12 / (LIMITS.doStorageBytes * TARGET.fill)));
  });

  it("prices a month: operations at the cost benchmark's rate plus storage beyond the inclusions", () => {
    expect(p.monthly_usd.jobs_per_month).toBe(3e9);
    expect(p.monthly_usd.operations).toBe(Math.round(3_000 * PER_CANONICAL_JOB.usdPerMillion));
    // (280 − 5) GB × $0.20 + (700 − 5) GB × $0.75
    expect(p.monthly_usd.storage).toBe(Math.round(275 * 0.2 + 695 * 0.75));
    expect(p.monthly_usd.worker_cpu_upper_bound).toBeNull();
  });
});
