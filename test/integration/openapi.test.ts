import { describe, expect, it } from "vitest";
import { createUser, request, submit } from "../helpers";

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
        "/v1/admin/users",
        "/v1/admin/users/{id}",
        "/v1/admin/users/{id}/keys",
        "/v1/admin/users/{id}/keys/{key_id}",
        "/v1/admin/users/{id}/signing-secrets",
        "/v1/health",
        "/v1/jobs",
        "/v1/jobs/batch",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/result",
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
  });

  it("describes the listing query and the Idempotency-Key header from the schemas that check them", async () => {
    const doc = (await (await request("/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: unknown }[] }>>;
    };
    const list = doc.paths["/v1/jobs"]?.get?.parameters ?? [];
    expect(list.map((p) => `${p.in}:${p.name}`)).toEqual([
      "query:status",
      "query:type",
      "query:limit",
      "query:cursor",
    ]);
    expect(list.find((p) => p.name === "status")?.schema).toMatchObject({
      enum: expect.arrayContaining(["queued"]),
    });
    expect(list.find((p) => p.name === "limit")?.schema).toMatchObject({
      type: "string",
      pattern: expect.any(String),
    });
    expect(doc.paths["/v1/jobs"]?.post?.parameters).toEqual([
      expect.objectContaining({
        name: "Idempotency-Key",
        in: "header",
        schema: expect.objectContaining({ type: "string" }),
      }),
    ]);
  });
});
