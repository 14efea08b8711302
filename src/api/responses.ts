// What the routes answer, as zod schemas: the OpenAPI document's response components come from here,
// and test/integration/openapi.test.ts parses real answers with them, so neither can drift.
import { z } from "zod";
import { JobViewSchema } from "../core/job";

const Instant = z.iso.datetime();

/** The contract's error envelope: every 4xx and 5xx. */
export const ErrorEnvelope = z.strictObject({
  error: z.strictObject({
    code: z
      .string()
      .describe(
        "invalid_request, unauthorized, not_found, conflict, payload_too_large, unsupported_media_type, rate_limited, unavailable or internal",
      ),
    message: z.string().describe("for people; may change"),
    details: z
      .array(
        z.strictObject({
          path: z.string().describe("the field, e.g. `priority` or `jobs[12].priority`"),
          message: z.string(),
        }),
      )
      .optional()
      .describe("validation problems, one per field"),
  }),
});

export const Health = z.strictObject({ ok: z.literal(true) });

/** POST /v1/jobs/cancel and POST /v1/jobs/retry. */
export const Matched = z.strictObject({
  matched: z.int().min(0).describe("the jobs this request moved (a repeated cancel matches 0)"),
});

export const JobPage = z.strictObject({
  jobs: z.array(JobViewSchema).describe("newest first; each carries only its latest attempt"),
  next_cursor: z.string().nullable().describe("pass as `cursor` for the next page; null on the last"),
});

export const BatchResults = z.strictObject({
  results: z
    .array(
      z.union([
        z.strictObject({
          status: z
            .union([z.literal(200), z.literal(201)])
            .describe(
              "201 created, 200 an idempotent replay or a debounced submit that replaced its key's pending job",
            ),
          job: JobViewSchema,
        }),
        z.strictObject({
          status: z.union([z.literal(409), z.literal(429)]),
          error: ErrorEnvelope.shape.error,
        }),
      ]),
    )
    .describe("one entry per submitted job, in order"),
});

export const Pool = z.strictObject({
  name: z.string(),
  capacity: z.int().describe("units the pool holds"),
  in_use: z.int().describe("units held by dispatched attempts"),
  waiting: z.int().describe("due jobs waiting for this pool's units"),
});

export const FlowKey = z.strictObject({
  key: z.string(),
  running: z.int().describe("attempts of the key claimed or running now"),
  waiting: z.int().describe("due jobs of the key not yet claimed"),
  started_last_period: z.int().describe("attempts of the key that began within its period"),
});

export const FlowKeyList = z.strictObject({
  keys: z
    .array(FlowKey)
    .max(100)
    .describe(
      "keys with jobs running or waiting or a start within their period, busiest first (at most 100)",
    ),
});

export const PoolList = z.strictObject({ pools: z.array(Pool) });

export const Dependents = z.strictObject({
  dependents: z
    .array(z.string())
    .describe("ids of your jobs that named this one in depends_on (at most 1,000), in id order"),
});

export const CreatedUser = z.strictObject({
  user_id: z.string(),
  name: z.string().nullable(),
  api_key: z.string().describe("shown once; only its SHA-256 is stored"),
  signing_secret: z.string().describe("Standard Webhooks secret (whsec_…), shown once"),
});

export const UserPage = z.strictObject({
  users: z
    .array(
      z.strictObject({
        user_id: z.string(),
        name: z.string().nullable(),
        created_at: z.iso.datetime(),
        shards: z.int().min(1).describe("the user's shard count now"),
      }),
    )
    .describe("oldest first"),
  next_cursor: z.string().nullable().describe("pass as `cursor` for the next page; null on the last"),
});

const limit = (what: string) => z.int().nullable().describe(`${what}; null: the global default applies`);

export const UserLimits = z.strictObject({
  user_id: z.string(),
  shards: z.int().describe("shards the user's new jobs spread over"),
  finished_retention_seconds: limit("how long finished jobs are kept"),
  max_unfinished_jobs: limit("the cap on a shard's unfinished jobs"),
  shard_ceiling: limit("the most shards the user grows to when hot"),
  max_pools: limit("the most pools the user has"),
  defaults: z.strictObject({
    finished_retention_seconds: z.int(),
    max_unfinished_jobs: z.int(),
    shard_ceiling: z.int(),
    max_pools: z.int(),
  }),
});

export const IssuedKey = z.strictObject({
  user_id: z.string(),
  key_id: z.string(),
  api_key: z.string().describe("shown once"),
});

export const ApiKey = z.strictObject({
  key_id: z.string(),
  created_at: Instant,
  revoked_at: Instant.nullable(),
});

export const ApiKeyList = z.strictObject({ keys: z.array(ApiKey) });

export const RotatedSecret = z.strictObject({
  user_id: z.string(),
  signing_secret: z.string().describe("the new secret, shown once"),
  previous_valid_until: Instant.describe("the old secret still verifies until then"),
});

/** The OpenAPI document itself (described loosely: it is this document). */
export const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  paths: z.record(z.string(), z.unknown()),
});
