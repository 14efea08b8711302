// Every request schema: the routes validate with these and the OpenAPI document is generated from
// them, so the description cannot drift from what the server accepts. Each job field's own rules are in
// job-fields.ts.
import { z } from "zod";
import { MAX_SHARDS } from "../core/ids";
import { METRICS_RANGES } from "../core/metrics";
import { JOB_STATUSES } from "../core/state";
import {
  described,
  FlowKeyName,
  JobField,
  nameText,
  optional,
  PoolName,
  Rfc3339,
  unknownFields,
  withDefault,
} from "./job-fields";

export { FlowKeyName, PoolName };
/** POST /v1/jobs: the contract's table. What a schema cannot check is in job-input.ts. */
export const SubmitSchema = z.strictObject(
  {
    type: JobField.type,
    payload: described(JobField.payload.optional(), JobField.payload),
    run_at: optional(JobField.run_at),
    interval_seconds: optional(JobField.interval_seconds),
    cron: optional(JobField.cron),
    timezone: optional(JobField.timezone),
    priority: withDefault(JobField.priority, 50),
    max_retries: withDefault(JobField.max_retries, 3),
    retry_delay_seconds: withDefault(JobField.retry_delay_seconds, 30),
    timeout_seconds: withDefault(JobField.timeout_seconds, 60),
    result_location: optional(JobField.result_location),
    resources: withDefault(JobField.resources, {}),
    name: optional(JobField.name),
    labels: withDefault(JobField.labels, {}),
    callback_url: optional(JobField.callback_url),
    retry_policy: withDefault(JobField.retry_policy, "all"),
    expires_after_seconds: optional(JobField.expires_after_seconds),
    flow_control: optional(JobField.flow_control),
    debounce: optional(JobField.debounce),
    depends_on: optional(JobField.depends_on),
    on_dependency_failure: withDefault(JobField.on_dependency_failure, "fail"),
    overlap: withDefault(JobField.overlap, "skip"),
    catch_up: withDefault(JobField.catch_up, "none"),
    catch_up_window_seconds: withDefault(JobField.catch_up_window_seconds, 3600),
  },
  { error: unknownFields },
);

/** A PATCH field that may be cleared: null removes it (a recurring job becomes one-shot without both). */
const clearable = <T extends z.ZodType>(schema: T) => described(schema.nullable().optional(), schema);
/** A PATCH field that may be left out. */
const patchable = <T extends z.ZodType>(schema: T) => described(schema.optional(), schema);

/**
 * PATCH /v1/jobs/:id: any of the submit fields but type and result_location, each by its submit
 * rule, at least one. The job with the patch applied must pass the submit rules too (job-input.ts,
 * checked on the shard against the stored job).
 */
export const PatchSchema = z
  .strictObject(
    {
      run_at: patchable(JobField.run_at),
      priority: patchable(JobField.priority),
      payload: patchable(JobField.payload),
      interval_seconds: clearable(JobField.interval_seconds),
      cron: clearable(JobField.cron),
      timezone: clearable(JobField.timezone),
      max_retries: patchable(JobField.max_retries),
      retry_delay_seconds: patchable(JobField.retry_delay_seconds),
      timeout_seconds: patchable(JobField.timeout_seconds),
      name: clearable(JobField.name),
      resources: patchable(JobField.resources),
      labels: patchable(JobField.labels),
      callback_url: clearable(JobField.callback_url),
      retry_policy: patchable(JobField.retry_policy),
      expires_after_seconds: clearable(JobField.expires_after_seconds),
      flow_control: clearable(JobField.flow_control),
      overlap: patchable(JobField.overlap),
      catch_up: patchable(JobField.catch_up),
      catch_up_window_seconds: patchable(JobField.catch_up_window_seconds),
    },
    { error: unknownFields },
  )
  .refine((b) => Object.keys(b).length > 0, "name at least one field to change");

export type PatchInput = z.infer<typeof PatchSchema>;

/** Most ids one bulk filter may name. */
export const MAX_FILTER_IDS = 1000;

/** POST /v1/jobs/cancel and POST /v1/jobs/retry: which jobs; every field given must match. */
export const JobFilterSchema = z
  .strictObject({
    ids: z.array(z.string().min(1).max(64)).min(1).max(MAX_FILTER_IDS).optional(),
    status: z.enum(JOB_STATUSES).optional(),
    type: JobField.type.optional(),
    name: z.string().min(1).max(200).optional().describe("a prefix of the job's name"),
    labels: JobField.labels
      .refine((l) => Object.keys(l).length > 0, "name at least one label")
      .optional()
      .describe("every label given must match"),
    created_before: z.iso.datetime({ offset: true }).optional().describe("jobs created strictly before"),
  })
  .refine(
    (f) => Object.keys(f).length > 0,
    "name at least one of ids, status, type, name, labels, created_before",
  );

export type JobFilterInput = z.infer<typeof JobFilterSchema>;

export type SubmitInput = z.infer<typeof SubmitSchema>;

/** The Idempotency-Key header of POST /v1/jobs. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters")
  .describe("1-255 visible ASCII characters");

/**
 * The W3C Trace Context headers of a submit, as documented. Any value is taken: one the spec says to
 * ignore is ignored, never refused (src/core/trace-context.ts reads them: TraceHeadersInput).
 */
export const TraceparentHeader = z
  .string()
  .describe("W3C traceparent, e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
export const TracestateHeader = z
  .string()
  .describe("W3C tracestate, e.g. congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");

/** Most jobs one POST /v1/jobs/batch may carry. */
export const MAX_BATCH_JOBS = 1000;

const batchOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({ jobs: z.array(item).min(1).max(MAX_BATCH_JOBS) });

/** A batch item's own key: the header's rules, and null for none. */
export const BatchItemKey = IdempotencyKey.nullish().describe("this item's Idempotency-Key");

/**
 * POST /v1/jobs/batch as documented: each item is a submit body plus, optionally, its own key. The
 * route checks the envelope alone (BatchEnvelope), then each item as a single submit body, so that a
 * problem is named `jobs[i].field` and a replay compares the item as sent.
 */
export const BatchSubmitSchema = batchOf(SubmitSchema.extend({ idempotency_key: BatchItemKey }));
export const BatchEnvelope = batchOf(z.unknown());

/** A listing's page size, from the query string: 1 to 100. */
const pageLimit = (byDefault: number, what: string) =>
  z
    .string()
    .regex(/^\d{1,3}$/, "must be an integer from 1 to 100")
    .transform(Number)
    .pipe(z.int().min(1).max(100))
    .default(byDefault)
    .describe(`${what} per page, 1 to 100`);

/** A listing's opaque continuation, as a previous page's next_cursor gave it. */
const pageCursor = () => z.string().min(1).max(512).optional().describe("the previous page's next_cursor");

/** One `label=key:value` filter of GET /v1/jobs, split at its first colon. */
const LabelFilter = z
  .string()
  .max(321)
  .regex(/^[^:]+:/, "must be key:value, e.g. label=team:billing")
  .transform((s) => {
    const colon = s.indexOf(":");
    return { key: s.slice(0, colon), value: s.slice(colon + 1) };
  })
  .pipe(
    z.object({
      key: z.string().max(64, "label keys are at most 64 characters"),
      value: z.string().max(256, "label values are at most 256 characters"),
    }),
  );

/** GET /v1/jobs query (`label` may repeat: the route passes every value). */
export const ListQuery = z
  .strictObject({
    status: z.enum(JOB_STATUSES).optional().describe("only jobs in this status"),
    type: z.string().min(1).max(64).optional().describe("only jobs of this executor type"),
    name: z.string().min(1).max(200).optional().describe("only jobs whose name starts with this"),
    label: z
      .array(LabelFilter)
      .max(10, "at most 10 label filters")
      .optional()
      .describe("key:value; repeat it for more labels, all of which must match"),
    created_after: Rfc3339.optional().describe(
      "only jobs created at or after this RFC 3339 date-time (with Z or an offset)",
    ),
    created_before: Rfc3339.optional().describe("only jobs created strictly before this RFC 3339 date-time"),
    limit: pageLimit(20, "jobs"),
    cursor: pageCursor(),
  })
  .refine(
    (q) =>
      q.created_after === undefined ||
      q.created_before === undefined ||
      Date.parse(q.created_after) <= Date.parse(q.created_before),
    { path: ["created_after"], message: "must not be after created_before" },
  );

/** PUT /v1/pools/:name */
export const PoolBody = z.strictObject({
  capacity: z
    .int()
    .min(1, "capacity is at least 1")
    .max(1_000_000)
    .describe("units the pool holds, 1 to 1,000,000; shrinking preempts nothing"),
});

/** GET /v1/metrics query: an optional chart range (additive; the answer without it is unchanged). */
const MetricsRangeParam = z
  .enum(METRICS_RANGES)
  .optional()
  .describe("adds `series`: per minute over 1h, per hour over 24h or 7d (hours kept 7 days)");
export const MetricsQuery = z.strictObject({ range: MetricsRangeParam });

/** GET /v1/admin/metrics query: a page of the user directory, and the chart range. */
export const AdminMetricsQuery = z.strictObject({
  limit: pageLimit(100, "users"),
  cursor: pageCursor(),
  range: MetricsRangeParam,
});

/** POST /v1/admin/users */
export const NewUser = z.strictObject({
  name: nameText(z.string().min(1).max(200), "names").nullish().describe("for people; no control characters"),
});

/** GET /v1/admin/users query: the directory, oldest first. */
export const UserListQuery = z.strictObject({
  limit: pageLimit(50, "users"),
  cursor: pageCursor(),
});

/** PATCH /v1/admin/users/:id: any of the user's limits (at least one). */
export const ShardsBody = z
  .strictObject({
    shards: z
      .int()
      .min(1)
      .max(MAX_SHARDS)
      .optional()
      .describe("shards the user's new jobs spread over; only grows"),
    finished_retention_seconds: z
      .int()
      .min(1)
      .max(10 * 365 * 24 * 3600)
      .nullable()
      .optional()
      .describe("how long finished jobs are kept; null: the global FINISHED_RETENTION_SECONDS"),
    max_unfinished_jobs: z
      .int()
      .min(1)
      .max(10_000_000)
      .nullable()
      .optional()
      .describe("the cap on a shard's unfinished jobs for this user; null: the global MAX_UNFINISHED_JOBS"),
    shard_ceiling: z
      .int()
      .min(1)
      .max(MAX_SHARDS)
      .nullable()
      .optional()
      .describe("the most shards this user grows to when its shards run hot; null: the global SHARD_CEILING"),
    max_pools: z
      .int()
      .min(1)
      .max(100_000)
      .nullable()
      .optional()
      .describe("the most pools this user has; null: the global MAX_POOLS (100)"),
  })
  .refine(
    (b) => Object.keys(b).length > 0,
    "name at least one of shards, finished_retention_seconds, max_unfinished_jobs, shard_ceiling, max_pools",
  );

/** POST /v1/admin/users/:id/signing-secrets */
export const Rotation = z.strictObject({
  overlap_seconds: z
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(86_400)
    .describe("how long the previous secret stays valid"),
});
