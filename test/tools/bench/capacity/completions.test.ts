// The capacity benchmark's completions, read from the consumer's `attempts_reported` lines: one per
// consumer batch per shard, each accepted attempt a completion with its lateness; the per-attempt
// `attempt_finished` lines (LOG_ATTEMPTS=true) are not counted again.
import { describe, expect, it } from "vitest";
import { Completions, perShard } from "../../../../tools/bench/capacity/completions";

const batchLine = (fields: Record<string, unknown>) =>
  JSON.stringify({
    event: "attempts_reported",
    user_id: "usr_a",
    shard: 0,
    attempts: 0,
    accepted: 0,
    refused: 0,
    unreported: 0,
    outcomes: { succeeded: 0, failed: 0, timed_out: 0 },
    lateness_ms: [],
    duration_ms_max: 0,
    ...fields,
  });

describe("Completions", () => {
  it("counts each accepted attempt of a batch line, on its shard, at the line's time", () => {
    const c = new Completions();
    c.add(batchLine({ shard: 0, attempts: 3, accepted: 2, refused: 1, lateness_ms: [5, 120] }), 1_000);
    c.add(batchLine({ user_id: "usr_b", shard: 3, attempts: 1, accepted: 1, lateness_ms: [40] }), 2_000);
    expect(c.all).toEqual([
      { at: 1_000, shard: "usr_a/0", latenessMs: 5 },
      { at: 1_000, shard: "usr_a/0", latenessMs: 120 },
      { at: 2_000, shard: "usr_b/3", latenessMs: 40 },
    ]);
    expect(c.count).toBe(3);
    expect(c.refused).toBe(1);
    expect(c.between(1_500, 2_001).map((x) => x.latenessMs)).toEqual([40]);
    expect(perShard(c.all, 2, 1)).toEqual({
      shards_seen: 2,
      mean_jobs_per_s: 1.5,
      min_jobs_per_s: 1,
      max_jobs_per_s: 2,
    });
  });

  it("ignores per-attempt lines, other events and other output, so LOG_ATTEMPTS=true counts the same", () => {
    const c = new Completions();
    const perAttempt = JSON.stringify({
      event: "attempt_finished",
      job_id: "job_0_x",
      user_id: "usr_a",
      attempt: 1,
      outcome: "succeeded",
      lateness_ms: 5,
      duration_ms: 1,
      report: "accepted",
    });
    c.add(perAttempt, 1_000);
    c.add(batchLine({ attempts: 1, accepted: 1, lateness_ms: [5] }), 1_000);
    c.add('{"event":"operations","phase":"finish","attempts_reported":1}', 1_000);
    c.add("[wrangler:info] attempts_reported is not JSON here", 1_000);
    expect(c.all).toEqual([{ at: 1_000, shard: "usr_a/0", latenessMs: 5 }]);
    expect(c.refused).toBe(0);
  });
});
