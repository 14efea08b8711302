import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  ApiKey,
  ApiKeyList,
  BatchResults,
  CreatedUser,
  ErrorEnvelope,
  IssuedKey,
  JobPage,
  Matched,
  Pool,
  PoolList,
  RotatedSecret,
  UserLimits,
  UserPage,
} from "../../src/api/responses";
import { JobViewSchema } from "../../src/core/job";
import { AdminMetricsSchema, UserMetricsSchema } from "../../src/core/metrics";
import { ADMIN, createUser, request, submit } from "../support/helpers";

/** The answer's body, after checking it is exactly what the documented schema (strict objects) says. */
async function answers<S extends z.ZodType>(schema: S, res: Response, status: number): Promise<z.output<S>> {
  expect(res.status).toBe(status);
  const parsed = schema.safeParse(await res.json());
  expect(parsed.error?.issues ?? []).toEqual([]);
  return parsed.data as z.output<S>;
}

describe("GET /v1/openapi.json", () => {
  it("describes every route without authentication, from the validating schemas", async () => {
    const res = await request("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/v1/admin/metrics",
        "/v1/admin/users",
        "/v1/admin/users/{id}",
        "/v1/admin/users/{id}/keys",
        "/v1/admin/users/{id}/keys/{key_id}",
        "/v1/admin/users/{id}/signing-secrets",
        "/v1/flow-control",
        "/v1/flow-control/{key}",
        "/v1/health",
        "/v1/jobs",
        "/v1/jobs/batch",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/dependents",
        "/v1/jobs/{id}/result",
        "/v1/metrics",
        "/v1/jobs/{id}/pause",
        "/v1/jobs/{id}/resume",
        "/v1/jobs/{id}/run",
        "/v1/jobs/{id}/retry",
        "/v1/jobs/{id}/watch",
        "/v1/jobs/cancel",
        "/v1/jobs/retry",
        "/v1/openapi.json",
        "/v1/pools",
        "/v1/pools/{name}",
      ].sort(),
    );
    const submitFields = Object.keys(doc.components.schemas.SubmitJob?.properties ?? {}).sort();
    expect(submitFields).toEqual(
      [
        "type",
        "payload",
        "run_at",
        "interval_seconds",
        "cron",
        "timezone",
        "priority",
        "max_retries",
        "retry_delay_seconds",
        "timeout_seconds",
        "result_location",
        "resources",
        "name",
        "labels",
        "callback_url",
        "retry_policy",
        "expires_after_seconds",
        "flow_control",
        "debounce",
        "depends_on",
        "on_dependency_failure",
        "overlap",
        "catch_up",
        "catch_up_window_seconds",
      ].sort(),
    );
    // The Job schema names exactly the fields a real job has.
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    expect(Object.keys(doc.components.schemas.Job?.properties ?? {}).sort()).toEqual(Object.keys(job).sort());
    expect(doc.components.schemas.SubmitJob?.required).toEqual(["type"]);
    // A batch item is a submit body plus its own idempotency key; 1 to 1,000 of them.
    const batch = doc.components.schemas.SubmitBatch?.properties.jobs as {
      minItems: number;
      maxItems: number;
      items: { properties: Record<string, unknown>; additionalProperties: boolean };
    };
    expect([batch.minItems, batch.maxItems]).toEqual([1, 1000]);
    expect(Object.keys(batch.items.properties).sort()).toEqual([...submitFields, "idempotency_key"].sort());
    expect(batch.items.additionalProperties).toBe(false);
    expect(doc.paths["/v1/jobs/batch"]?.post).toBeDefined();
    expect(doc.paths["/v1/jobs/{id}/result"]?.get).toBeDefined();
    expect(doc.paths["/v1/pools/{name}"]?.delete).toBeDefined();
    // PATCH takes the submit fields but type, result_location and debounce (a debounced job is
    // changed by submitting again with its key) and the dependencies (fixed at submit); a bulk filter
    // its six fields.
    expect(doc.paths["/v1/jobs/{id}"]?.patch).toBeDefined();
    expect(Object.keys(doc.components.schemas.PatchJob?.properties ?? {}).sort()).toEqual(
      submitFields.filter(
        (f) => !["type", "result_location", "debounce", "depends_on", "on_dependency_failure"].includes(f),
      ),
    );
    expect(Object.keys(doc.components.schemas.JobFilter?.properties ?? {}).sort()).toEqual(
      ["ids", "status", "type", "name", "labels", "created_before"].sort(),
    );
  });

  it("describes the listing query and the submit's headers from the schemas that check them", async () => {
    const doc = (await (await request("/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: unknown }[] }>>;
    };
    const list = doc.paths["/v1/jobs"]?.get?.parameters ?? [];
    expect(list.map((p) => `${p.in}:${p.name}`)).toEqual([
      "query:status",
      "query:type",
      "query:name",
      "query:label",
      "query:created_after",
      "query:created_before",
      "query:limit",
      "query:cursor",
    ]);
    for (const bound of ["created_after", "created_before"])
      expect(list.find((p) => p.name === bound)?.schema, bound).toMatchObject({
        type: "string",
        format: "date-time",
      });
    expect(list.find((p) => p.name === "status")?.schema).toMatchObject({
      enum: expect.arrayContaining(["queued"]),
    });
    expect(list.find((p) => p.name === "label")?.schema).toMatchObject({
      type: "array",
      items: { type: "string", pattern: expect.any(String) },
    });
    expect(list.find((p) => p.name === "limit")?.schema).toMatchObject({
      type: "string",
      pattern: expect.any(String),
    });
    const header = (name: string) =>
      expect.objectContaining({ name, in: "header", schema: expect.objectContaining({ type: "string" }) });
    expect(doc.paths["/v1/jobs"]?.post?.parameters).toEqual([
      header("Idempotency-Key"),
      header("traceparent"),
      header("tracestate"),
    ]);
    // A batch's trace headers apply to every job of it.
    expect(doc.paths["/v1/jobs/batch"]?.post?.parameters).toEqual([
      header("traceparent"),
      header("tracestate"),
    ]);
  });

  it("is served from the origin it was asked on", async () => {
    const doc = (await (await request("https://scheduler.example/v1/openapi.json")).json()) as {
      servers: { url: string }[];
    };
    expect(doc.servers).toEqual([{ url: "https://scheduler.example", description: "this deployment" }]);
  });

  it("documents answers the routes really give (parsed with the strict schemas the document is built from)", async () => {
    const created = await answers(
      CreatedUser,
      await request("/v1/admin/users", { method: "POST", headers: ADMIN, json: { name: "doc" } }),
      201,
    );
    const auth = { authorization: `Bearer ${created.api_key}` };
    const user = { ...created, auth };
    const { body: job } = await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
    expect(JobViewSchema.strict().safeParse(job).error?.issues ?? []).toEqual([]);
    const base = `/v1/admin/users/${created.user_id}`;
    const issued = await answers(
      IssuedKey,
      await request(`${base}/keys`, { method: "POST", headers: ADMIN }),
      201,
    );
    await answers(ApiKeyList, await request(`${base}/keys`, { headers: ADMIN }), 200);
    await answers(
      ApiKey,
      await request(`${base}/keys/${issued.key_id}`, { method: "DELETE", headers: ADMIN }),
      200,
    );
    await answers(
      RotatedSecret,
      await request(`${base}/signing-secrets`, { method: "POST", headers: ADMIN, json: {} }),
      201,
    );
    await answers(
      UserLimits,
      await request(base, { method: "PATCH", headers: ADMIN, json: { max_unfinished_jobs: 10 } }),
      200,
    );
    await answers(
      Pool,
      await request("/v1/pools/api", { method: "PUT", headers: auth, json: { capacity: 2 } }),
      200,
    );
    await answers(PoolList, await request("/v1/pools", { headers: auth }), 200);
    await answers(UserMetricsSchema, await request("/v1/metrics", { headers: auth }), 200);
    await answers(UserMetricsSchema, await request("/v1/metrics?range=24h", { headers: auth }), 200);
    await answers(AdminMetricsSchema, await request("/v1/admin/metrics?limit=2", { headers: ADMIN }), 200);
    await answers(UserPage, await request("/v1/admin/users?limit=2", { headers: ADMIN }), 200);
    await answers(Pool, await request("/v1/pools/api", { method: "DELETE", headers: auth }), 200);
    await answers(JobPage, await request("/v1/jobs", { headers: auth }), 200);
    await answers(
      BatchResults,
      await request("/v1/jobs/batch", { method: "POST", headers: auth, json: { jobs: [{ type: "noop" }] } }),
      201,
    );
    await answers(ErrorEnvelope, await request(`/v1/jobs/${job.id}x`, { headers: auth }), 404);
    await answers(
      JobViewSchema,
      await request(`/v1/jobs/${job.id}`, { method: "PATCH", headers: auth, json: { priority: 7 } }),
      200,
    );
    await answers(
      JobViewSchema,
      await request(`/v1/jobs/${job.id}/pause`, { method: "POST", headers: auth }),
      200,
    );
    await answers(
      Matched,
      await request("/v1/jobs/cancel", { method: "POST", headers: auth, json: { ids: [job.id] } }),
      200,
    );
    await answers(
      ErrorEnvelope,
      await request("/v1/jobs", { method: "POST", headers: auth, json: { type: 1 } }),
      400,
    );
  });

  it("documents the limits of issue 22: 429 with Retry-After on every route with a token, the pool cap", async () => {
    type Responses = Record<string, { description: string; headers?: Record<string, unknown> }>;
    const doc = (await (await request("/v1/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { security: unknown[]; responses: Responses; description?: string }>
      >;
    };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (op.security.length === 0) continue;
        const limited = op.responses["429"];
        expect(limited, `${method} ${path}`).toBeDefined();
        expect(limited?.headers, `${method} ${path}`).toHaveProperty("Retry-After");
        expect(limited?.description, `${method} ${path}`).toMatch(
          /failed authentications|wrong admin tokens/,
        );
        expect(limited?.description).toMatch(/20 at once, then 20 a minute/);
      }
    }
    const put = doc.paths["/v1/pools/{name}"]?.put;
    expect(put?.description).toMatch(/at least 1.*at most 100 pools/s);
    expect(put?.responses["400"]?.description).toMatch(/cap on pools/);
  });
});
