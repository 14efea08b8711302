// GET /v1/openapi.json: the API description, generated from the same zod schemas that validate
// requests (zod's own JSON Schema export), so it cannot drift from what the server accepts.
import { Hono } from "hono";
import { z } from "zod";
import { JobViewSchema } from "../core/job";
import type { AppEnv } from "./auth";
import {
  BatchSubmitSchema,
  IdempotencyKey,
  ListQuery,
  NewUser,
  PoolBody,
  PoolName,
  Rotation,
  ShardsBody,
  SubmitSchema,
} from "./schemas";

const schema = (s: z.ZodType, io: "input" | "output" = "input") => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};
const json = (s: Record<string, unknown>) => ({ content: { "application/json": { schema: s } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { "4XX": { description: "error envelope", ...json(ref("Error")) } };
const op = (
  summary: string,
  ok: Record<string, unknown>,
  body?: Record<string, unknown>,
  auth = "apiKey",
) => ({
  summary,
  security: auth ? [{ [auth]: [] }] : [],
  ...(body ? { requestBody: { required: true, ...json(body) } } : {}),
  responses: { ...ok, ...errors },
});
const jobParam = [{ name: "id", in: "path", required: true, schema: { type: "string" } }];
const poolParam = [{ name: "name", in: "path", required: true, schema: schema(PoolName) }];
const userParam = [{ name: "id", in: "path", required: true, schema: { type: "string" } }];

const document = {
  openapi: "3.1.0",
  info: { title: "edge-scheduler", version: "1" },
  components: {
    securitySchemes: {
      apiKey: { type: "http", scheme: "bearer" },
      admin: { type: "http", scheme: "bearer" },
    },
    schemas: {
      Job: schema(JobViewSchema, "output"),
      SubmitJob: schema(SubmitSchema),
      SubmitBatch: schema(BatchSubmitSchema),
      BatchResults: {
        type: "object",
        required: ["results"],
        properties: {
          results: {
            type: "array",
            description: "one entry per submitted job, in order",
            items: {
              oneOf: [
                {
                  type: "object",
                  required: ["status", "job"],
                  properties: { status: { enum: [200, 201] }, job: ref("Job") },
                },
                {
                  type: "object",
                  required: ["status", "error"],
                  properties: {
                    status: { enum: [409, 429] },
                    error: { $ref: "#/components/schemas/Error/properties/error" },
                  },
                },
              ],
            },
          },
        },
      },
      Error: schema(
        z.object({
          error: z.object({
            code: z.string(),
            message: z.string(),
            details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
          }),
        }),
      ),
    },
  },
  paths: {
    "/v1/health": { get: op("liveness", { 200: { description: "ok" } }, undefined, "") },
    "/v1/jobs": {
      post: {
        ...op("submit a job", { 201: { description: "created", ...json(ref("Job")) } }, ref("SubmitJob")),
        parameters: [
          { name: "Idempotency-Key", in: "header", required: false, schema: schema(IdempotencyKey) },
        ],
      },
      get: {
        ...op("list jobs, newest first", { 200: { description: "a page of jobs" } }),
        parameters: Object.entries(ListQuery.shape).map(([name, s]) => ({
          name,
          in: "query",
          required: false,
          schema: schema(s),
        })),
      },
    },
    "/v1/jobs/batch": {
      post: op(
        "submit up to 1,000 jobs; all or nothing on bad input, then a result per job",
        { 201: { description: "results in order", ...json(ref("BatchResults")) } },
        ref("SubmitBatch"),
      ),
    },
    "/v1/jobs/{id}": {
      get: {
        ...op("view a job", { 200: { description: "the job", ...json(ref("Job")) } }),
        parameters: jobParam,
      },
      delete: {
        ...op("cancel a job", { 200: { description: "cancelled", ...json(ref("Job")) } }),
        parameters: jobParam,
      },
    },
    "/v1/jobs/{id}/result": {
      get: {
        ...op("the latest occurrence's result as stored (inline, or read back from the results bucket)", {
          200: { description: "the result", ...json({}) },
        }),
        parameters: jobParam,
      },
    },
    "/v1/pools": { get: op("list resource pools", { 200: { description: "pools" } }) },
    "/v1/pools/{name}": {
      put: {
        ...op("create or resize a pool", { 200: { description: "the pool" } }, schema(PoolBody)),
        parameters: poolParam,
      },
      delete: {
        ...op("remove a pool that no unfinished job names (409 otherwise)", {
          200: { description: "the removed pool, as it was" },
        }),
        parameters: poolParam,
      },
    },
    "/v1/admin/users": {
      post: op("create a user", { 201: { description: "key shown once" } }, schema(NewUser), "admin"),
    },
    "/v1/admin/users/{id}": {
      patch: {
        ...op("grow a user's shards", { 200: { description: "ok" } }, schema(ShardsBody), "admin"),
        parameters: userParam,
      },
    },
    "/v1/admin/users/{id}/keys": {
      post: {
        ...op("issue another API key", { 201: { description: "key shown once" } }, undefined, "admin"),
        parameters: userParam,
      },
      get: {
        ...op("list API keys", { 200: { description: "keys" } }, undefined, "admin"),
        parameters: userParam,
      },
    },
    "/v1/admin/users/{id}/keys/{key_id}": {
      delete: {
        ...op("revoke an API key", { 200: { description: "revoked" } }, undefined, "admin"),
        parameters: [
          ...userParam,
          { name: "key_id", in: "path", required: true, schema: { type: "string" } },
        ],
      },
    },
    "/v1/admin/users/{id}/signing-secrets": {
      post: {
        ...op(
          "rotate the signing secret",
          { 201: { description: "secret shown once" } },
          schema(Rotation),
          "admin",
        ),
        parameters: userParam,
      },
    },
  },
};

export const openapi = new Hono<AppEnv>();
openapi.get("/", (c) => c.json(document));
