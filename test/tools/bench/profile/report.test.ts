// The table `npm run bench -- profile` prints: the figure issue 16 targets, the CPU from /proc beside
// it, the areas and the top functions, each from the report's numbers.
import { describe, expect, it } from "vitest";
import { formatReport, type ProfileReport } from "../../../../tools/bench/profile/report";
import type { ProfileSummary } from "../../../../tools/bench/profile/summary";

const isolate: ProfileSummary = {
  window_ms: 10_000,
  samples: 30_000,
  median_interval_us: 250,
  gap_cap_us: 500,
  sampled_ms: 7_600,
  unsampled_ms: 2_400,
  idle_ms: 100,
  program_ms: 500,
  gc_ms: 400,
  functions_ms: 6_600,
  busy_ms: 7_500,
  busy_share_of_window: 0.75,
  jobs: 3_000,
  busy_ms_per_job: 2.5,
  busy_ms_per_job_uncapped: 3.1,
  areas: [
    { area: "drizzle-orm", ms: 3_000, pct: 40 },
    { area: "src/shard/sql", ms: 1_500, pct: 20 },
  ],
  top: [
    {
      function: "is",
      location: "node_modules/drizzle-orm/src/entity.ts:12",
      area: "drizzle-orm",
      self_ms: 900,
      pct: 12,
    },
  ],
};

const report: ProfileReport = {
  started_at: "2026-12-03T00:00:00.000Z",
  command: "npm run bench -- profile",
  commit: "827e151b738de44a59bc36db4e71f3a270a4b845",
  dirty: true,
  load1_before: 0.5,
  load1_after: 1.5,
  isolate: {
    target: "Cloudflare Worker",
    targets_listed: 1,
    bundle: ".wrangler/tmp/dev-x/index.js",
    sampling_interval_us: 200,
  },
  submit: {
    jobs: 3_000,
    accepted: 3_000,
    batches: 3,
    ms: 1_200,
    lead_ms: 8_000,
    finished_before_due: true,
    isolate: { ...isolate, busy_ms_per_job: 0.4 },
    cpu: {
      workerd_thread: { tid: 42, name: "workerd", ms: 6_000, ms_per_job: 2, share_of_core: 0.5 },
      workerd_process_ms: 6_600,
      workerd_threads: [{ tid: 42, name: "workerd", ms: 6_000 }],
      process_group_ms: 15_000,
      process_group_ms_per_job: 5,
      harness_ms: 5_400,
    },
  },
  herd: {
    jobs: 3_000,
    received: 3_000,
    due_to_first_ms: 150,
    window_ms: 10_000,
    received_per_s: 300,
    isolate,
    cpu: {
      workerd_thread: { tid: 42, name: "workerd", ms: 9_000, ms_per_job: 3, share_of_core: 0.9 },
      workerd_process_ms: 9_900,
      workerd_threads: [
        { tid: 42, name: "workerd", ms: 9_000 },
        { tid: 43, name: "v8:ProfEvntProc", ms: 900 },
      ],
      process_group_ms: 15_000,
      process_group_ms_per_job: 5,
      harness_ms: 800,
    },
  },
  cpuprofile: "docs/results/profile/2026-12-03-827e151+dirty-herd.cpuprofile.gz",
  cpuprofile_bytes: 2_048_000,
};

describe("formatReport", () => {
  const text = formatReport(report);

  it("leads with the herd, the window and the busy time per job", () => {
    expect(text).toContain("herd of 3,000 http jobs (one user, one shard) on 827e151+dirty");
    expect(text).toContain("first receipt → last receipt 10,000 ms, 3,000 received (300.0/s)");
    expect(text).toContain(
      "BUSY PER JOB 2.50 ms (issue 16: ≤ 2 ms; upper bound, each sample until the next: 3.10 ms)",
    );
    expect(text).toContain("busy 7,500 ms (75 % of the window)");
  });

  it("puts the CPU from /proc beside it", () => {
    expect(text).toContain("workerd thread 42 (workerd): 9,000 ms = 3.00 ms/job, 90 % of a core");
    expect(text).toContain(
      "workerd process, all threads: 9,900 ms = 3.30 ms/job (workerd 9,000, v8:ProfEvntProc 900)",
    );
    expect(text).toContain("process group (wrangler, both workerds, esbuild): 15,000 ms = 5.00 ms/job");
  });

  it("has a row per area with its ms per job, and the top functions with their location", () => {
    expect(text).toMatch(/drizzle-orm\s+3,000\s+40\.0\s+1\.000/);
    expect(text).toMatch(/src\/shard\/sql\s+1,500\s+20\.0\s+0\.500/);
    expect(text).toMatch(/900\s+12\.0\s+is\s+node_modules\/drizzle-orm\/src\/entity\.ts:12\s+drizzle-orm/);
    expect(text).toContain(
      "isolate busy 0.40 ms/job, workerd thread 2.00 ms/job (50 % of a core), process group 5.00 ms/job, " +
        "load driver 1.80 ms/job",
    );
    expect(text).toContain(
      "profile: docs/results/profile/2026-12-03-827e151+dirty-herd.cpuprofile.gz (2,000 KiB)",
    );
  });
});
