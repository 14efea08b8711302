// The OpenAPI entries of the admin routes: users, their keys and signing secrets, metrics.
// Gathered with the others in src/api/operations.ts. Examples: each operation's body and answers carry one
// (Swagger UI's "Try it out" sends the body's), those shared by several routes in operation-examples.ts;
// test/integration/openapi-examples.test.ts parses each and sends the submit examples through the app.
import { ADMIN_METRICS_EXAMPLE, EXAMPLE_KEY_ID, EXAMPLE_USER } from "../operation-examples";
import { AdminMetricsQuery, UserListQuery } from "../schemas";
import { type Operation, type RouteKey, userId } from "./operation";

export const ADMIN_OPERATIONS: Record<RouteKey, Operation> = {
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
