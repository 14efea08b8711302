// The OpenAPI entries of the job routes: submit (one, a batch), list, view, watch, dependents, result,
// cancel, and the user's metrics.
// Gathered with the others in src/api/operations.ts. Examples: each operation's body and answers carry one
// (Swagger UI's "Try it out" sends the body's), those shared by several routes in operation-examples.ts;
// test/integration/openapi-examples.test.ts parses each and sends the submit examples through the app.
import {
  JOB_EXAMPLE,
  jobExample,
  METRICS_EXAMPLE,
  SCHEDULED_JOB_EXAMPLE,
  SUBMIT_EXAMPLE,
} from "../operation-examples";
import { IdempotencyKey, ListQuery, MetricsQuery } from "../schemas";
import { jobId, type Operation, type RouteKey, traceHeaders } from "./operation";

export const JOB_OPERATIONS: Record<RouteKey, Operation> = {
  "POST /v1/jobs": {
    summary: "Submit a job",
    description:
      "One-shot at `run_at`, or recurring by `interval_seconds` or `cron` (+ `timezone`). The same " +
      "Idempotency-Key with the same body within 24 h answers 200 with the original job.",
    tag: "jobs",
    auth: "user",
    body: { schema: "SubmitJob", example: SUBMIT_EXAMPLE },
    headers: [
      {
        name: "Idempotency-Key",
        schema: IdempotencyKey,
        description: "makes the submit safe to retry: same key and body within 24 h → the original job (200)",
      },
      ...traceHeaders("the job"),
    ],
    ok: {
      201: { description: "created", schema: "Job", example: SCHEDULED_JOB_EXAMPLE },
      200: {
        description:
          "an idempotent replay (the job this key created), or a debounced submit that replaced its key's pending job (same id, the new body)",
        schema: "Job",
        example: SCHEDULED_JOB_EXAMPLE,
      },
    },
    errors: { 409: "the Idempotency-Key was used with another body" },
  },
  "POST /v1/jobs/batch": {
    summary: "Submit up to 1,000 jobs",
    description:
      "Validation is all or nothing (a 400 names `jobs[i].field`); then one result per job, in order.",
    tag: "jobs",
    auth: "user",
    body: {
      schema: "SubmitBatch",
      example: {
        jobs: [
          { ...SUBMIT_EXAMPLE, idempotency_key: "report-2026-12-04" },
          {
            type: "http",
            name: "warm-cache",
            payload: { url: "https://example.com/cache/warm", method: "GET" },
            priority: 80,
          },
        ],
      },
    },
    headers: traceHeaders("every job of the batch"),
    ok: {
      201: {
        description: "one result per job, in order",
        schema: "BatchResults",
        example: {
          results: [
            { status: 201, job: SCHEDULED_JOB_EXAMPLE },
            {
              status: 429,
              error: {
                code: "rate_limited",
                message:
                  "the shard holds 100000 unfinished jobs (MAX_UNFINISHED_JOBS); wait for some to finish",
              },
            },
          ],
        },
      },
    },
  },
  "GET /v1/jobs": {
    summary: "List jobs, newest first",
    description: "Reads the listing index, which follows the shards within about two seconds.",
    tag: "jobs",
    auth: "user",
    query: ListQuery,
    ok: {
      200: {
        description: "a page of jobs",
        schema: "JobPage",
        example: { jobs: [JOB_EXAMPLE], next_cursor: null },
      },
    },
    errors: { 503: "the listing index is unavailable; retry after Retry-After" },
  },
  "GET /v1/jobs/:id": {
    summary: "View a job",
    description: "Reads the job's shard directly, with its latest 20 attempts.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    ok: { 200: { description: "the job", schema: "Job", example: JOB_EXAMPLE } },
    errors: { 404: "no such job (or another user's)" },
  },
  "GET /v1/jobs/:id/watch": {
    summary: "Watch a job over a WebSocket",
    description:
      "Upgrades to a WebSocket (send `Upgrade: websocket`). The API key goes in the `Authorization` " +
      "header or, for browsers, as the subprotocol `bearer.<api key>` (the answer selects it). Each " +
      "message is the job object as JSON text: one at once, then one each time the job changes, until " +
      "it is finished (succeeded, failed, cancelled), when the server closes the socket (1000). The " +
      "user and the job are checked before the upgrade. At most 10 watchers per job and 200 per shard " +
      "of a user: past that a 429. An idle watcher costs nothing on the server (Durable Object " +
      "WebSocket hibernation).",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    ok: {
      101: {
        description: "switching to a WebSocket; each message is a Job",
        schema: "Job",
        example: JOB_EXAMPLE,
      },
    },
    errors: { 404: "no such job", 426: "not a WebSocket upgrade" },
  },
  "GET /v1/jobs/:id/dependents": {
    summary: "The jobs that depend on a job",
    description:
      "Your jobs that named this one in `depends_on` (at most 1,000), whether they still wait on it or " +
      "not. A job's own dependencies are its `depends_on`, and those it still waits on its `blocked_by`.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    ok: {
      200: {
        description: "its dependents",
        schema: "Dependents",
        example: { dependents: ["job_0_01kbq3m9a7c2e4g6j8k0m2p4rt"] },
      },
    },
    errors: { 404: "no such job" },
  },
  "GET /v1/jobs/:id/result": {
    summary: "The latest occurrence's result",
    description:
      "As stored: inline as the job shows it, or, with `result_location`, the object read back from the " +
      "results bucket byte for byte (with the content type it was written with).",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    ok: {
      200: {
        description: "the result",
        schema: "JsonValue",
        example: { status: 200, body: '{"ok":true}', truncated: false },
      },
    },
    errors: {
      404: "no such job, no result yet (or an executor that returns none), or the stored object is gone",
    },
  },
  "DELETE /v1/jobs/:id": {
    summary: "Cancel a job",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    ok: {
      200: {
        description: "the job, cancelled",
        schema: "Job",
        example: jobExample({ ...SCHEDULED_JOB_EXAMPLE, status: "cancelled", next_run_at: null }),
      },
    },
    errors: { 404: "no such job", 409: "the job has already finished" },
  },
  "GET /v1/metrics": {
    summary: "The user's figures: the last hour, totals since each shard started, charts",
    description:
      "Jobs in each unfinished status now; jobs finished, attempts by outcome and failures within the " +
      "last hour; lateness p50/p99 (log-scale buckets: at least the true value, at most 1.5 times it) and " +
      "max; due jobs not yet dispatched; pools; a per-minute series of the hour; `totals`: everything " +
      "counted since each shard started (only grows), with the cumulative lateness histogram; and with " +
      "`range`, a chart series (per minute over 1h, per hour over 24h or 7d). With a preferred " +
      "`Accept: text/plain`, the Prometheus text format 0.0.4: counters `scheduler_attempts_total`, " +
      "`scheduler_jobs_finished_total`, the histogram `scheduler_lateness_seconds` and gauges.",
    tag: "jobs",
    auth: "user",
    query: MetricsQuery,
    ok: {
      200: {
        description: "the figures",
        schema: "Metrics",
        example: METRICS_EXAMPLE,
        alsoText:
          "the Prometheus text format 0.0.4 (counters `…_total`, lateness as a histogram, gauges for what holds now)",
      },
    },
  },
};
