// Every request schema: the routes validate with these and the OpenAPI document is generated from
// them, so the description cannot drift from what the server accepts.
import { z } from "zod";
import { MAX_SHARDS } from "../core/ids";
import { JsonValue } from "../core/job";
import { CATCH_UP_POLICIES, JOB_STATUSES, OVERLAP_POLICIES } from "../core/state";

export const PoolName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "pool names are 1-64 of A-Z a-z 0-9 _ . -");

/** A flow-control key, as the submit's flow_control.key allows and GET /v1/flow-control/:key names it. */
export const FlowKeyName = z
  .string()
  .min(1)
  .max(200)
  .describe("any string: one key per customer, tenant, endpoint…");

/** Absent or null: undefined. Keeps the field's description where the OpenAPI document shows it. */
const optional = <T extends z.ZodType>(schema: T) => {
  const lenient = schema.nullish().transform((v) => v ?? undefined);
  return schema.description ? lenient.describe(schema.description) : lenient;
};

/** Fields of an http payload that people put at the top level of a submit by mistake. */
const PAYLOAD_FIELDS = new Set(["url", "method", "headers", "body"]);

/** Fields a submit takes and a PATCH does not, and why. */
const SUBMIT_ONLY: Record<string, string> = {
  debounce: "debounce cannot be changed by PATCH: submit again with the same key to replace the pending job",
};

/** Unknown fields, with a hint where the field belongs in `payload` (or why a PATCH refuses it). */
function unknownFieldsMessage(keys: readonly string[]): string {
  return keys
    .map((k) =>
      PAYLOAD_FIELDS.has(k)
        ? `unknown field "${k}": did you mean payload.${k}? (an http job's request goes in "payload")`
        : (SUBMIT_ONLY[k] ?? `unknown field "${k}"`),
    )
    .join("; ");
}

/** A date-time without a zone is ambiguous; say so rather than "invalid". */
const Rfc3339 = z.iso.datetime({
  offset: true,
  error: (issue) =>
    typeof issue.input === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(issue.input)
      ? "a time zone is required: end it with Z (UTC) or an offset such as +01:00, e.g. 2026-11-26T10:00:00Z"
      : "must be an RFC 3339 date-time with Z or an offset, e.g. 2026-11-26T10:00:00Z",
});

/** A strict object's error for unknown fields, with the payload hint. */
const unknownFields = (issue: { code?: string; keys?: readonly string[] }) =>
  issue.code === "unrecognized_keys" && issue.keys ? unknownFieldsMessage(issue.keys) : undefined;

/** The wrapper (a default, optional, nullable) with the description of the field it wraps. */
const described = <T extends z.ZodType>(wrapper: T, field: z.ZodType): T =>
  field.description ? wrapper.describe(field.description) : wrapper;

/** Each job field's own rules, shared by the submit body and the PATCH body. */
const JobField = {
  type: z.string().min(1).max(64).describe("the executor: `http`, `noop`, or another registered one"),
  payload: JsonValue.describe(
    "input for the executor, at most 64 KiB; for `http` an HttpPayload (url, method, headers, body)",
  ),
  run_at: Rfc3339.describe(
    "first (or only) execution time; default now; in the past runs now; at most 5 years ahead",
  ),
  interval_seconds: z
    .int()
    .min(1)
    .max(31_536_000)
    .describe("recurring at a fixed rate from run_at; missed occurrences are skipped, never burst"),
  cron: z
    .string()
    .min(1)
    .max(200)
    .describe("5-field cron: recurring by calendar; exclusive with interval_seconds"),
  timezone: z.string().min(1).max(64).describe("IANA time zone of `cron`; default UTC"),
  priority: z.int().min(0).max(100).describe("higher runs first among due jobs"),
  max_retries: z.int().min(0).max(50).describe("retries of one occurrence after its first attempt"),
  retry_delay_seconds: z
    .int()
    .min(1)
    .max(86_400)
    .describe("base of exponential backoff: base × 2^(retry−1), with jitter, capped"),
  timeout_seconds: z
    .int()
    .min(1)
    .max(900)
    .describe("an attempt not finished by then is timed_out and retried"),
  result_location: z
    .string()
    .max(512)
    .regex(/^r2:\/\/[A-Za-z0-9!\-_.*'()/]{1,500}$/, "must be r2://<key-prefix> (letters, digits, !-_.*'()/)")
    .describe("r2://<key-prefix> writes each result to the results bucket; none keeps a small result inline"),
  resources: z
    .record(PoolName, z.int().min(1, "units must be a positive integer").max(1_000_000))
    .refine((r) => Object.keys(r).length <= 16, "at most 16 pools")
    .describe("pool → units, held from dispatch until the attempt ends"),
  name: z.string().max(200).describe("a label for people"),
  labels: z
    .record(
      z.string().min(1).max(64, "label keys are at most 64 characters"),
      z.string().max(256, "label values are at most 256 characters"),
    )
    .refine((l) => Object.keys(l).length <= 10, "at most 10 labels")
    .describe("for filtering (label=key:value) and bulk actions"),
  callback_url: z
    .string()
    .max(2048)
    .describe("the job object is POSTed here after each finished occurrence, signed like a webhook"),
  retry_policy: z
    .enum(["all", "transient"])
    .describe("transient: retry only network errors, timeouts, 408, 425, 429 and 5xx"),
  expires_after_seconds: z
    .int()
    .min(1)
    .max(31_536_000)
    .describe("an occurrence not started this long after its due time fails with error `expired`"),
  flow_control: z
    .strictObject({
      key: FlowKeyName,
      concurrency: z.int().min(1).max(10_000).optional().describe("at most this many attempts run at once"),
      rate: z.int().min(1).max(10_000).optional().describe("at most this many attempts start per period"),
      period_seconds: z.int().min(1).max(86_400).optional().describe("the rate's window; default 1"),
    })
    .refine((f) => f.concurrency !== undefined || f.rate !== undefined, {
      message: "give concurrency, rate or both",
      path: ["concurrency"],
    })
    .describe(
      "limits shared by all of the user's jobs with the same key (no set-up; an idle key costs nothing)",
    ),
  debounce: z
    .strictObject({
      key: z.string().min(1).max(200).describe("any string: one pending job per key"),
      delay_seconds: z.int().min(1).max(86_400).describe("the job runs this long after the latest submit"),
      max_wait_seconds: z
        .int()
        .min(1)
        .max(31_536_000)
        .optional()
        .describe("but no later than this long after the first; at least delay_seconds"),
    })
    .refine((d) => d.max_wait_seconds === undefined || d.max_wait_seconds >= d.delay_seconds, {
      message: "max_wait_seconds must be at least delay_seconds",
      path: ["max_wait_seconds"],
    })
    .describe(
      "one-shot jobs: while the job with this key has not started, a submit with the key replaces it (200, same id)",
    ),
  overlap: z
    .enum(OVERLAP_POLICIES)
    .describe(
      "recurring jobs: skip (an occurrence due while the previous one runs is skipped), buffer_one (it runs as soon as the previous one ends; at most one waits) or cancel_other (the running attempt is cancelled and the new occurrence starts)",
    ),
  catch_up: z
    .enum(CATCH_UP_POLICIES)
    .describe(
      "recurring jobs: occurrences missed while paused or down are skipped (none), run once for all (one) or each run, oldest first, within catch_up_window_seconds (all)",
    ),
  catch_up_window_seconds: z
    .int()
    .min(1)
    .max(604_800)
    .describe("catch_up all: only missed occurrences at most this old run"),
};

/** The field with a default, keeping its description. */
const withDefault = <T extends z.ZodType>(field: T, value: z.output<T>) =>
  described(field.default(value as never), field);

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
export const ListQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional().describe("only jobs in this status"),
  type: z.string().min(1).max(64).optional().describe("only jobs of this executor type"),
  name: z.string().min(1).max(200).optional().describe("only jobs whose name starts with this"),
  label: z
    .array(LabelFilter)
    .max(10, "at most 10 label filters")
    .optional()
    .describe("key:value; repeat it for more labels, all of which must match"),
  limit: pageLimit(20, "jobs"),
  cursor: pageCursor(),
});

/** PUT /v1/pools/:name */
export const PoolBody = z.strictObject({
  capacity: z.int().min(0).max(1_000_000).describe("units the pool holds; shrinking preempts nothing"),
});

/** POST /v1/admin/users */
export const NewUser = z.strictObject({ name: z.string().min(1).max(200).nullish().describe("for people") });

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
  })
  .refine(
    (b) => Object.keys(b).length > 0,
    "name at least one of shards, finished_retention_seconds, max_unfinished_jobs, shard_ceiling",
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
