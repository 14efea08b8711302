// The OpenAPI document's examples (src/api/operations.ts names one per body and success answer), each
// typed by its component's schema, so a renamed or misspelled field does not compile.
import type { RequestExample, ResponseExample } from "./openapi-components";

export const EXAMPLE_USER = "usr_7k2m9q4x8w1c3v5b6n0p";
export const EXAMPLE_JOB_ID = "job_0_01kbq3m8r4z2x7c9v5n6b1d3fg";

/** POST /v1/jobs: an http job that runs now (no run_at), so the example is valid whenever it is sent. */
export const SUBMIT_EXAMPLE = {
  type: "http",
  name: "nightly-report",
  payload: {
    url: "https://example.com/hooks/report",
    method: "POST",
    headers: { "content-type": "application/json" },
    body: { report: "daily", format: "csv" },
  },
  priority: 50,
  max_retries: 3,
  retry_delay_seconds: 30,
  timeout_seconds: 60,
  labels: { team: "billing" },
} satisfies RequestExample<"SubmitJob">;

/** A job as the API shows it: the submit example, finished after one attempt. */
export const JOB_EXAMPLE = {
  id: EXAMPLE_JOB_ID,
  user_id: EXAMPLE_USER,
  name: SUBMIT_EXAMPLE.name,
  type: SUBMIT_EXAMPLE.type,
  status: "succeeded",
  priority: 50,
  payload: SUBMIT_EXAMPLE.payload,
  run_at: "2026-12-04T09:00:00.000Z",
  next_run_at: null,
  interval_seconds: null,
  cron: null,
  timezone: null,
  max_retries: 3,
  current_retries: 0,
  retry_delay_seconds: 30,
  timeout_seconds: 60,
  result_location: null,
  result: { status: 200, body: '{"ok":true}', truncated: false },
  last_error: null,
  resources: {},
  runs: 1,
  last_run_at: "2026-12-04T09:00:00.412Z",
  labels: { team: "billing" },
  callback_url: null,
  retry_policy: "all",
  expires_after_seconds: null,
  debounce: null,
  flow_control: null,
  overlap: "skip",
  catch_up: "none",
  catch_up_window_seconds: 3600,
  depends_on: [],
  on_dependency_failure: "fail",
  blocked_by: [],
  traceparent: null,
  tracestate: null,
  created_at: "2026-12-04T09:00:00.000Z",
  updated_at: "2026-12-04T09:00:00.731Z",
  attempts: [
    {
      number: 1,
      status: "succeeded",
      scheduled_at: "2026-12-04T09:00:00.000Z",
      started_at: "2026-12-04T09:00:00.412Z",
      finished_at: "2026-12-04T09:00:00.731Z",
      lateness_ms: 412,
      error: null,
      resources: {},
    },
  ],
} satisfies ResponseExample<"Job">;

/** The job as a control leaves it: scheduled again, waiting, or cancelled. */
export const jobExample = (change: Partial<ResponseExample<"Job">>): ResponseExample<"Job"> => ({
  ...JOB_EXAMPLE,
  ...change,
});
export const SCHEDULED_JOB_EXAMPLE = jobExample({
  status: "scheduled",
  next_run_at: JOB_EXAMPLE.run_at,
  result: null,
  runs: 0,
  last_run_at: null,
  updated_at: JOB_EXAMPLE.created_at,
  attempts: [],
});

export const POOL_EXAMPLE = {
  name: "gpu",
  capacity: 4,
  in_use: 1,
  waiting: 2,
} satisfies ResponseExample<"Pool">;
export const EXAMPLE_KEY_ID = "3f9c2a7b1e4d8c60";

export const LATENESS_EXAMPLE = { count: 40, sum: 9_800, p50: 180, p99: 1_400, max: 1_310 };
/** GET /v1/metrics (the real per_minute has one entry per minute of the window; one shown). */
export const METRICS_EXAMPLE = {
  as_of: "2026-12-04T09:59:30.000Z",
  window_seconds: 3600,
  jobs: { scheduled: 120, queued: 3, running: 2, paused: 1 },
  jobs_finished: { succeeded: 38, failed: 1, cancelled: 0 },
  attempts: { succeeded: 38, failed: 2, timed_out: 0, cancelled: 0, expired: 0, total: 40 },
  failures: 2,
  lateness_ms: LATENESS_EXAMPLE,
  due_not_dispatched: 0,
  pools: [POOL_EXAMPLE],
  per_minute: [
    {
      minute: "2026-12-04T09:59:00.000Z",
      attempts: { succeeded: 1, failed: 0, timed_out: 0, cancelled: 0, expired: 0 },
      lateness_ms: { count: 1, sum: 170, p50: 170, p99: 170, max: 170 },
    },
  ],
  totals: {
    attempts: { succeeded: 912, failed: 14, timed_out: 1, cancelled: 3, expired: 0 },
    jobs_finished: { succeeded: 880, failed: 9, cancelled: 4 },
    lateness_ms: {
      count: 930,
      sum: 158_100,
      buckets: [
        { le: 0, count: 12 },
        { le: 127, count: 401 },
        { le: 255, count: 905 },
        { le: 511, count: 930 },
      ],
    },
  },
} satisfies ResponseExample<"Metrics">;

/** GET /v1/admin/metrics: one user's figures as a page of one. */
export const ADMIN_METRICS_EXAMPLE = {
  ...METRICS_EXAMPLE,
  pools: [{ user_id: EXAMPLE_USER, ...POOL_EXAMPLE }],
  users: [
    {
      user_id: EXAMPLE_USER,
      name: "billing team",
      shards: 4,
      jobs: METRICS_EXAMPLE.jobs,
      due_not_dispatched: 0,
      attempts: METRICS_EXAMPLE.attempts,
      failures: 2,
      lateness_ms: LATENESS_EXAMPLE,
    },
  ],
  unavailable: [],
  next_cursor: null,
} satisfies ResponseExample<"AdminMetrics">;
