// The OpenAPI document passes a standard validator (@seriousme/openapi-schema-validator: the OpenAPI
// 3.1 JSON Schema plus $ref resolution) and says what a client needs: servers, the Idempotency-Key
// header, the http payload's shape, the listing filters' values and every submit field's meaning.
// Node, not workerd: the validator compiles schemas with `new Function`, which workerd forbids.
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { LOCAL_SERVER, openApiDocument, operationObject } from "../../src/api/openapi-document";
import { JOB_STATUSES } from "../../src/core/state";

// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by key; each assertion checks the shape
type Json = Record<string, any>;

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1 with every reference resolving", async () => {
    const result = await new Validator().validate(openApiDocument());
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it("would be refused with a dangling reference (the validator checks what we rely on)", async () => {
    const broken = openApiDocument() as Json;
    broken.components.schemas.SubmitJob.properties.payload = { $ref: "#/$defs/__schema0" };
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
    expect(JSON.stringify(result.errors)).toContain("#/$defs/__schema0");
  });

  it("names its servers", () => {
    expect((openApiDocument() as Json).servers).toEqual([LOCAL_SERVER]);
    const custom = { url: "https://api.example", description: "prod" };
    expect((openApiDocument([custom]) as Json).servers).toEqual([custom]);
  });

  it("describes every submit field, listing filter and header", () => {
    const doc = openApiDocument() as Json;
    const fields = Object.entries(doc.components.schemas.SubmitJob.properties as Json);
    expect(fields.length).toBeGreaterThan(10);
    for (const [name, schema] of fields)
      expect(schema.description, `SubmitJob.${name}`).toEqual(expect.any(String));
    for (const [path, ops] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(ops as Json)) {
        for (const p of (op.parameters ?? []) as Json[]) {
          if (p.in !== "path")
            expect(p.description, `${method} ${path} ${p.in} ${p.name}`).toEqual(expect.any(String));
        }
      }
    }
  });

  it("lists the status filter's values and the Idempotency-Key header", () => {
    const doc = openApiDocument() as Json;
    const params = doc.paths["/v1/jobs"].get.parameters as Json[];
    expect(params.find((p) => p.name === "status")?.schema.enum).toEqual([...JOB_STATUSES]);
    const header = (doc.paths["/v1/jobs"].post.parameters as Json[]).find((p) => p.in === "header");
    expect(header).toMatchObject({
      name: "Idempotency-Key",
      required: false,
      schema: { type: "string", pattern: expect.any(String) },
    });
  });

  it("gives the http payload's shape and ties it to type http", () => {
    const schemas = (openApiDocument() as Json).components.schemas;
    expect(schemas.HttpPayload).toMatchObject({
      type: "object",
      required: ["url"],
      properties: {
        url: { type: "string" },
        method: { enum: ["POST", "PUT", "PATCH", "GET", "DELETE"] },
        headers: { type: "object" },
        body: { $ref: "#/components/schemas/JsonValue" },
      },
      additionalProperties: false,
    });
    expect(schemas.SubmitJob.if).toEqual({ properties: { type: { const: "http" } }, required: ["type"] });
    expect(schemas.SubmitJob.then.properties.payload).toEqual({ $ref: "#/components/schemas/HttpPayload" });
  });

  it("describes an answer that is any JSON, or plain text when asked (for routes like a metrics one)", () => {
    const op = operationObject("GET /v1/example", {
      summary: "example",
      tag: "meta",
      auth: "user",
      ok: {
        200: {
          description: "figures",
          schema: "JsonValue",
          alsoText: "the Prometheus text format",
          example: { attempts: 3 },
        },
      },
    }) as Json;
    expect(op.responses["200"].content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/JsonValue" }, example: { attempts: 3 } },
      "text/plain": { schema: { type: "string", description: "the Prometheus text format" } },
    });
    expect(Object.keys(op.responses)).toEqual(["200", "401", "429"]);
  });
});
