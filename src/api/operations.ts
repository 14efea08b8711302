// Every route's entry in the OpenAPI document, keyed as the Hono app serves it ("METHOD /path/:param").
// Adding a route: add its entry here (and any new body or answer schema to openapi-components.ts);
// test/integration/openapi-routes.test.ts fails while a served /v1 route has no entry, or an entry
// lacks its body, query or answer schemas.
import { z } from "zod";
import type {
  RequestComponent,
  RequestExample,
  ResponseComponent,
  ResponseExample,
} from "./openapi-components";
import {
  ADMIN_METRICS_EXAMPLE,
  EXAMPLE_KEY_ID,
  EXAMPLE_USER,
  JOB_EXAMPLE,
  jobExample,
  METRICS_EXAMPLE,
  POOL_EXAMPLE,
  SCHEDULED_JOB_EXAMPLE,
  SUBMIT_EXAMPLE,
} from "./operation-examples";
import {
  AdminMetricsQuery,
  FlowKeyName,
  IdempotencyKey,
  ListQuery,
  MetricsQuery,
  PoolName,
  TraceparentHeader,
  TracestateHeader,
  UserListQuery,
} from "./schemas";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type RouteKey = `${Method} /${string}`;

/**
 * A JSON body, by component name, with its example (typed by the component's schema; the OpenAPI
 * document shows it, and Swagger UI's "Try it out" sends it).
 */
export type OperationBody = {
  [K in RequestComponent]: { schema: K; optional?: true; example: RequestExample<K> };
}[RequestComponent];

/** A successful answer: what it means, its JSON body's component and an example of it. */
export type OperationAnswer = (
  | { [K in ResponseComponent]: { schema: K; example: ResponseExample<K> } }[ResponseComponent]
  | { schema: "JsonValue"; example: RequestExample<"JsonValue"> }
) & { description: string; alsoText?: string };

export interface Operation {
  summary: string;
  description?: string;
  tag: "jobs" | "pools" | "flow-control" | "admin" | "meta";
  /** Whose bearer token the route needs. */
  auth: "user" | "admin" | "none";
  /**
   * The JSON body, by component name; "none" for a write route that reads no body. Required for POST,
   * PUT and PATCH (the routes test insists), absent for GET and DELETE.
   */
  body?: OperationBody | "none";
  /** Query parameters: one per field of the validating schema. */
  query?: z.ZodObject;
  headers?: { name: string; schema: z.ZodType; description: string }[];
  /** Path parameters' schemas, by name; a parameter not named here is a plain string. */
  params?: Record<string, z.ZodType>;
  /**
   * The answers that are not errors: status → what it means and its JSON body's component (JsonValue:
   * any JSON); `alsoText` when the route also answers text/plain (asked for with Accept).
   */
  ok: Record<number, OperationAnswer>;
  /**
   * Errors beyond those the route's auth, body and query imply (401, 400, 413, 415, 429); a 400 here
   * says what else the route refuses.
   */
  errors?: Partial<Record<400 | 404 | 409 | 426 | 503, string>>;
}

const jobId = z.string().describe("the job's id (job_<shard>_…)");

/** A submit's trace headers (W3C Trace Context): kept with each job it creates, sent on its webhook calls. */
const traceHeaders = (jobs: string): NonNullable<Operation["headers"]> => [
  {
    name: "traceparent",
    schema: TraceparentHeader,
    description:
      `W3C Trace Context: kept with ${jobs} and sent as it came on every webhook call and callback ` +
      "(version 00; a later version is read by the spec's rules and sent as 00; shown as `traceparent` " +
      "on the job; an idempotent replay answers the original job's). An invalid value is ignored, as " +
      "W3C requires of a receiver: the submit is not refused, and the job keeps no trace context.",
  },
  {
    name: "tracestate",
    schema: TracestateHeader,
    description:
      `W3C Trace Context: kept with ${jobs} and sent with its traceparent (whitespace and empty ` +
      "members dropped; over 512 characters, shortened by whole members as the spec orders). Read " +
      "only with a valid traceparent; an invalid value is ignored.",
  },
];
const userId = z.string().describe("the user's id (usr_…)");

// Examples: each operation's body and answers carry one (Swagger UI's "Try it out" sends the body's), those
// shared by several routes in operation-examples.ts. Typed by the components' schemas;
// test/integration/openapi-examples.test.ts parses each and sends the submit examples through the app (201).

export const OPERATIONS: Record<RouteKey, Operation> = {
  "GET /v1/health": {
    summary: "Liveness",
    description: "Answers even while the configuration is broken.",
    tag: "meta",
    auth: "none",
    ok: { 200: { description: "alive", schema: "Health", example: { ok: true } } },
  },
  "GET /v1/openapi.json": {
    summary: "This API description",
    tag: "meta",
    auth: "none",
    ok: {
      200: {
        description: "the OpenAPI 3.1 document",
        schema: "OpenApiDocument",
        example: { openapi: "3.1.0", info: { title: "edge-scheduler", version: "1" }, paths: {} },
      },
    },
  },
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

  "PATCH /v1/jobs/:id": {
    summary: "Change a job",
    description:
      "Any of the submit fields but `type` and `result_location` (null clears a clearable one). Applies " +
      "to the next attempt or occurrence: an attempt already queued or running keeps what it started " +
      "with. A schedule change recomputes `run_at`. The job with the change must pass the submit rules.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: { schema: "PatchJob", example: { priority: 90, labels: { team: "billing", tier: "gold" } } },
    ok: {
      200: {
        description: "the job, changed",
        schema: "Job",
        example: jobExample({
          ...SCHEDULED_JOB_EXAMPLE,
          priority: 90,
          labels: { team: "billing", tier: "gold" },
        }),
      },
    },
    errors: { 404: "no such job (or another user's)", 409: "the job has already finished" },
  },
  "POST /v1/jobs/:id/pause": {
    summary: "Pause a job",
    description:
      "Nothing is dispatched: a queued dispatch is withdrawn (its units released); a running attempt " +
      "finishes and its report is accepted; a recurring job then stays paused.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: {
      200: {
        description: "the job, paused",
        schema: "Job",
        example: jobExample({ ...SCHEDULED_JOB_EXAMPLE, status: "paused", next_run_at: null }),
      },
    },
    errors: { 404: "no such job (or another user's)", 409: "the job has already finished" },
  },
  "POST /v1/jobs/:id/resume": {
    summary: "Resume a paused job",
    description:
      "A recurring job goes to its next occurrence at or after now (missed ones are skipped, never " +
      "burst); a one-shot job to its run_at, or now if that has passed.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: { 200: { description: "the job", schema: "Job", example: SCHEDULED_JOB_EXAMPLE } },
    errors: { 404: "no such job (or another user's)", 409: "the job has already finished" },
  },
  "POST /v1/jobs/:id/run": {
    summary: "Run a job now",
    description:
      "A scheduled one-shot job moves its run_at to now; a recurring job gets one extra occurrence now " +
      "without shifting its schedule.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: { 200: { description: "the job", schema: "Job", example: SCHEDULED_JOB_EXAMPLE } },
    errors: {
      404: "no such job (or another user's)",
      409: "the job is queued, running, paused, finished, or still waits on its dependencies (blocked_by)",
    },
  },
  "POST /v1/jobs/:id/retry": {
    summary: "Retry a failed or cancelled one-shot job",
    description: "It runs again now as a new occurrence with current_retries reset; its attempts are kept.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: {
      200: {
        description: "the job, scheduled",
        schema: "Job",
        example: jobExample({ ...SCHEDULED_JOB_EXAMPLE, runs: 1, attempts: JOB_EXAMPLE.attempts }),
      },
    },
    errors: {
      404: "no such job (or another user's)",
      409: "not a failed or cancelled one-shot job, or a pool it names can no longer hold it",
    },
  },
  "POST /v1/jobs/cancel": {
    summary: "Cancel every matching job",
    description:
      "Applied on the user's shards (not the listing index), in bounded steps between which each shard " +
      "serves its other requests; answered once every matching job is cancelled. `matched` counts the " +
      "jobs this request cancelled, so repeating it matches 0.",
    tag: "jobs",
    auth: "user",
    body: { schema: "JobFilter", example: { status: "scheduled", labels: { team: "billing" } } },
    ok: { 200: { description: "how many jobs were cancelled", schema: "Matched", example: { matched: 12 } } },
  },
  "POST /v1/jobs/retry": {
    summary: "Retry every matching failed or cancelled one-shot job",
    description:
      "Applied on the user's shards (not the listing index), in bounded steps like the bulk cancel; " +
      "`matched` counts the jobs retried. A retried job is unfinished again: when the matching jobs " +
      "would take a shard past its cap on unfinished jobs (MAX_UNFINISHED_JOBS, or the user's own " +
      "max_unfinished_jobs), the request is refused with 409, the message giving the numbers, and " +
      "nothing is retried; narrow the filter (created_before, labels, ids) or wait for jobs to finish.",
    tag: "jobs",
    auth: "user",
    body: {
      schema: "JobFilter",
      example: { status: "failed", created_before: "2026-12-04T00:00:00Z", labels: { team: "billing" } },
    },
    ok: { 200: { description: "how many jobs were retried", schema: "Matched", example: { matched: 3 } } },
    errors: {
      409: "the matching jobs would take a shard past its cap on unfinished jobs; nothing was retried",
    },
  },
  "GET /v1/pools": {
    summary: "List resource pools",
    tag: "pools",
    auth: "user",
    ok: {
      200: { description: "the user's pools", schema: "PoolList", example: { pools: [POOL_EXAMPLE] } },
    },
  },
  "PUT /v1/pools/:name": {
    summary: "Create or resize a pool",
    description:
      "Capacity is at least 1. A user has at most 100 pools (MAX_POOLS, or the user's own `max_pools` " +
      "an admin set): a new pool past that is a 400 naming `name`; resizing an existing pool always works.",
    tag: "pools",
    auth: "user",
    params: { name: PoolName },
    body: { schema: "PoolCapacity", example: { capacity: 4 } },
    ok: { 200: { description: "the pool", schema: "Pool", example: POOL_EXAMPLE } },
    errors: { 400: "also a new pool past the user's cap on pools (100 unless an admin set another)" },
  },
  "DELETE /v1/pools/:name": {
    summary: "Remove a pool",
    description: "Only a pool that no unfinished job names.",
    tag: "pools",
    auth: "user",
    params: { name: PoolName },
    ok: {
      200: {
        description: "the removed pool, as it was",
        schema: "Pool",
        example: { ...POOL_EXAMPLE, in_use: 0, waiting: 0 },
      },
    },
    errors: { 404: "no such pool", 409: "unfinished jobs name the pool" },
  },
  "GET /v1/flow-control": {
    summary: "The flow-control keys in use, busiest first",
    description:
      "Keys with attempts holding a slot, due jobs waiting, or starts within their period, read from " +
      "the home shard: most `running` first, then most `waiting`, then most `started_last_period` " +
      "(ties by key), at most 100. Idle keys are not listed; GET /v1/flow-control/{key} answers any key.",
    tag: "flow-control",
    auth: "user",
    ok: {
      200: {
        description: "the keys in use",
        schema: "FlowKeyList",
        example: {
          keys: [
            { key: "customer-42", running: 2, waiting: 5, started_last_period: 7 },
            { key: "customer-7", running: 1, waiting: 0, started_last_period: 3 },
          ],
        },
      },
    },
  },
  "GET /v1/flow-control/:key": {
    summary: "How a flow-control key stands",
    description:
      "Keys need no set-up: an unknown or idle key answers zeros. `running`: attempts holding one of " +
      "the key's slots (claimed or running); `waiting`: due jobs of the key not yet claimed; " +
      "`started_last_period`: attempts that began within the key's period.",
    tag: "flow-control",
    auth: "user",
    params: { key: FlowKeyName },
    ok: {
      200: {
        description: "the key's use",
        schema: "FlowKey",
        example: { key: "customer-42", running: 2, waiting: 5, started_last_period: 7 },
      },
    },
  },
  "POST /v1/admin/users": {
    summary: "Create a user",
    tag: "admin",
    auth: "admin",
    body: { schema: "NewUser", optional: true, example: { name: "billing team" } },
    ok: {
      201: {
        description: "the user, with its API key and signing secret (shown once)",
        schema: "CreatedUser",
        example: {
          user_id: EXAMPLE_USER,
          name: "billing team",
          api_key: `sk_${EXAMPLE_USER}_Xq3vN8kP2mR7tY1wZ5bC9dF4gH6jK0lM2nP4qS6uV8x`,
          signing_secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
      },
    },
  },
  "GET /v1/admin/users": {
    summary: "List users, oldest first",
    description:
      "From the user directory (D1); each user's shard count as its home shard has it now. A walk " +
      "through the pages never misses a user created meanwhile.",
    tag: "admin",
    auth: "admin",
    query: UserListQuery,
    ok: {
      200: {
        description: "a page of users",
        schema: "UserPage",
        example: {
          users: [
            {
              user_id: EXAMPLE_USER,
              name: "billing team",
              created_at: "2026-11-02T10:15:00.000Z",
              shards: 4,
            },
          ],
          next_cursor: null,
        },
      },
    },
    errors: { 503: "the directory's database is unavailable; retry after Retry-After" },
  },
  "GET /v1/admin/metrics": {
    summary: "Every user's figures, a page of users at a time",
    description:
      "The figures of `GET /v1/metrics` over the users of one page of the directory (oldest first): JSON " +
      "merges them exactly (counts and histograms add) and lists each user's headline; the Prometheus " +
      "text (`Accept: text/plain`) has every user's series labelled `user_id` (aggregate with " +
      "`sum without (user_id)`), and the next page's cursor in `X-Next-Cursor`. A page covers at most " +
      "`limit` users and 500 shard calls (it ends early at the user that would go past them). A user " +
      "whose shards do not answer is left out and named in `unavailable`.",
    tag: "admin",
    auth: "admin",
    query: AdminMetricsQuery,
    ok: {
      200: {
        description: "the page's figures",
        schema: "AdminMetrics",
        example: ADMIN_METRICS_EXAMPLE,
        alsoText: "the Prometheus text format 0.0.4, every series labelled `user_id`",
      },
    },
    errors: { 503: "the directory's database is unavailable; retry after Retry-After" },
  },
  "PATCH /v1/admin/users/:id": {
    summary: "Change a user's shards or limits",
    tag: "admin",
    auth: "admin",
    params: { id: userId },
    body: { schema: "UserLimitsChange", example: { shards: 8, max_unfinished_jobs: 200_000 } },
    ok: {
      200: {
        description: "every limit as it now stands",
        schema: "UserLimits",
        example: {
          user_id: EXAMPLE_USER,
          shards: 8,
          finished_retention_seconds: null,
          max_unfinished_jobs: 200_000,
          shard_ceiling: null,
          max_pools: null,
          defaults: {
            finished_retention_seconds: 604_800,
            max_unfinished_jobs: 100_000,
            shard_ceiling: 16,
            max_pools: 100,
          },
        },
      },
    },
    errors: { 404: "no such user" },
  },
  "POST /v1/admin/users/:id/keys": {
    summary: "Issue another API key",
    tag: "admin",
    auth: "admin",
    params: { id: userId },
    body: "none",
    ok: {
      201: {
        description: "the key, shown once",
        schema: "IssuedKey",
        example: {
          user_id: EXAMPLE_USER,
          key_id: EXAMPLE_KEY_ID,
          api_key: `sk_${EXAMPLE_USER}_Xq3vN8kP2mR7tY1wZ5bC9dF4gH6jK0lM2nP4qS6uV8x`,
        },
      },
    },
    errors: { 404: "no such user" },
  },
  "GET /v1/admin/users/:id/keys": {
    summary: "List a user's API keys",
    tag: "admin",
    auth: "admin",
    params: { id: userId },
    ok: {
      200: {
        description: "the keys (ids and dates, never the keys)",
        schema: "ApiKeyList",
        example: {
          keys: [{ key_id: EXAMPLE_KEY_ID, created_at: "2026-11-02T10:15:00.000Z", revoked_at: null }],
        },
      },
    },
  },
  "DELETE /v1/admin/users/:id/keys/:key_id": {
    summary: "Revoke an API key",
    tag: "admin",
    auth: "admin",
    params: { id: userId },
    ok: {
      200: {
        description: "the key, revoked",
        schema: "ApiKey",
        example: {
          key_id: EXAMPLE_KEY_ID,
          created_at: "2026-11-02T10:15:00.000Z",
          revoked_at: "2026-12-04T09:30:00.000Z",
        },
      },
    },
    errors: { 404: "no such key" },
  },
  "POST /v1/admin/users/:id/signing-secrets": {
    summary: "Rotate the signing secret",
    description: "Both the old and the new secret are valid for `overlap_seconds`.",
    tag: "admin",
    auth: "admin",
    params: { id: userId },
    body: { schema: "SigningSecretRotation", optional: true, example: { overlap_seconds: 86_400 } },
    ok: {
      201: {
        description: "the new secret, shown once",
        schema: "RotatedSecret",
        example: {
          user_id: EXAMPLE_USER,
          signing_secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
          previous_valid_until: "2026-12-05T09:30:00.000Z",
        },
      },
    },
    errors: { 404: "no such user" },
  },
};
