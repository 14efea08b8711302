// Every request schema: the routes validate with these and the OpenAPI document is generated from
// them, so the description cannot drift from what the server accepts.
import { z } from "zod";
import { JOB_STATUSES } from "../core/state";
import { MAX_SHARDS } from "../shard/address";

export const PoolName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "pool names are 1-64 of A-Z a-z 0-9 _ . -");

const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/** POST /v1/jobs: the contract's table. What a schema cannot check is in job-input.ts. */
export const SubmitSchema = z.strictObject({
  type: z.string().min(1).max(64),
  payload: z.json().optional(),
  run_at: optional(z.iso.datetime({ offset: true })),
  interval_seconds: optional(z.int().min(1).max(31_536_000)),
  cron: optional(z.string().min(1).max(200)),
  timezone: optional(z.string().min(1).max(64)),
  priority: z.int().min(0).max(100).default(50),
  max_retries: z.int().min(0).max(50).default(3),
  retry_delay_seconds: z.int().min(1).max(86_400).default(30),
  timeout_seconds: z.int().min(1).max(900).default(60),
  result_location: optional(
    z
      .string()
      .max(512)
      .regex(
        /^r2:\/\/[A-Za-z0-9!\-_.*'()/]{1,500}$/,
        "must be r2://<key-prefix> (letters, digits, !-_.*'()/)",
      ),
  ),
  resources: z
    .record(PoolName, z.int().min(1, "units must be a positive integer").max(1_000_000))
    .refine((r) => Object.keys(r).length <= 16, "at most 16 pools")
    .default({}),
  name: optional(z.string().max(200)),
  labels: z
    .record(
      z.string().min(1).max(64, "label keys are at most 64 characters"),
      z.string().max(256, "label values are at most 256 characters"),
    )
    .refine((l) => Object.keys(l).length <= 10, "at most 10 labels")
    .default({})
    .describe("for filtering (label=key:value) and bulk actions"),
  callback_url: optional(
    z
      .string()
      .max(2048)
      .describe("the job object is POSTed here after each finished occurrence, signed like a webhook"),
  ),
  retry_policy: z
    .enum(["all", "transient"])
    .default("all")
    .describe("transient: retry only network errors, timeouts, 408, 425, 429 and 5xx"),
  expires_after_seconds: optional(
    z
      .int()
      .min(1)
      .max(31_536_000)
      .describe("an occurrence not started this long after its due time fails with error `expired`"),
  ),
});

export type SubmitInput = z.infer<typeof SubmitSchema>;

/** The Idempotency-Key header of POST /v1/jobs. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters");

/** Most jobs one POST /v1/jobs/batch may carry. */
export const MAX_BATCH_JOBS = 1000;

const batchOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({ jobs: z.array(item).min(1).max(MAX_BATCH_JOBS) });

/** A batch item's own key: the header's rules, and null for none. */
export const BatchItemKey = IdempotencyKey.nullish();

/**
 * POST /v1/jobs/batch as documented: each item is a submit body plus, optionally, its own key. The
 * route checks the envelope alone (BatchEnvelope), then each item as a single submit body, so that a
 * problem is named `jobs[i].field` and a replay compares the item as sent.
 */
export const BatchSubmitSchema = batchOf(SubmitSchema.extend({ idempotency_key: BatchItemKey }));
export const BatchEnvelope = batchOf(z.unknown());

/** GET /v1/jobs query. */
export const ListQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  type: z.string().min(1).max(64).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, "must be an integer from 1 to 100")
    .transform(Number)
    .pipe(z.int().min(1).max(100))
    .default(20),
  cursor: z.string().min(1).max(512).optional(),
});

/** PUT /v1/pools/:name */
export const PoolBody = z.strictObject({ capacity: z.int().min(0).max(1_000_000) });

/** POST /v1/admin/users */
export const NewUser = z.strictObject({ name: z.string().min(1).max(200).nullish() });

/** PATCH /v1/admin/users/:id */
/** PATCH /v1/admin/users/:id: any of the user's limits (at least one). */
export const ShardsBody = z
  .strictObject({
    shards: z.int().min(1).max(MAX_SHARDS).optional(),
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
    .default(86_400),
});
