// The OpenAPI document's examples (src/api/operations.ts): every request body and every successful
// answer has one, in the document where Swagger UI takes it (the media type's `example`); each passes
// the zod schema its route validates with, or its answer's schema; and the submit examples, sent as
// "Try it out" sends them, are accepted (201).
import { describe, expect, it } from "vitest";
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from "../../src/api/openapi-components";
import { openApiDocument, openApiPath, splitRouteKey } from "../../src/api/openapi-document";
import { OPERATIONS, type Operation, type RouteKey } from "../../src/api/operations";
import { JsonValue } from "../../src/core/job";
import { createUser, getJob, request } from "../support/helpers";

const operations = Object.entries(OPERATIONS) as [RouteKey, Operation][];

interface MediaType {
  schema?: { $ref?: string };
  example?: unknown;
}
interface OperationDoc {
  requestBody?: { content: { "application/json": MediaType } };
  responses: Record<string, { content?: { "application/json"?: MediaType } }>;
}
const doc = openApiDocument() as { paths: Record<string, Record<string, OperationDoc>> };

function documented(key: RouteKey): OperationDoc {
  const { method, route } = splitRouteKey(key);
  const op = doc.paths[openApiPath(route)]?.[method.toLowerCase()];
  if (!op) throw new Error(`${key} is not in the document`);
  return op;
}

/** The body example the document gives an operation (what Swagger UI's "Try it out" fills in). */
function bodyExample(key: RouteKey): unknown {
  const example = documented(key).requestBody?.content["application/json"].example;
  if (example === undefined) throw new Error(`${key} has no body example`);
  return structuredClone(example);
}

describe("the OpenAPI document's examples", () => {
  it("give every request body an example that its route's schema accepts", () => {
    let bodies = 0;
    for (const [key, op] of operations) {
      if (op.body === undefined || op.body === "none") continue;
      bodies++;
      const media = documented(key).requestBody?.content["application/json"];
      expect(media?.example, `${key}: body example in the document`).toEqual(op.body.example);
      const parsed = REQUEST_SCHEMAS[op.body.schema].safeParse(op.body.example);
      expect(parsed.error?.issues, `${key}: body example`).toBeUndefined();
    }
    expect(bodies).toBeGreaterThanOrEqual(8);
  });

  it("give every successful answer an example that its schema accepts, keeping every field", () => {
    let answers = 0;
    for (const [key, op] of operations) {
      for (const [status, answer] of Object.entries(op.ok)) {
        answers++;
        const media = documented(key).responses[status]?.content?.["application/json"];
        expect(media?.example, `${key} ${status}: example in the document`).toEqual(answer.example);
        const schema = answer.schema === "JsonValue" ? JsonValue : RESPONSE_SCHEMAS[answer.schema];
        const parsed = schema.safeParse(answer.example);
        expect(parsed.error?.issues, `${key} ${status}: answer example`).toBeUndefined();
        // A non-strict object drops unknown fields: an example with a misspelled field would not round-trip.
        expect(parsed.data, `${key} ${status}: no field the schema does not know`).toEqual(answer.example);
      }
    }
    expect(answers).toBe(operations.reduce((n, [, op]) => n + Object.keys(op.ok).length, 0));
  });

  it("submit a valid http job as Try it out sends it: POST /v1/jobs answers 201", async () => {
    const user = await createUser("try-it-out");
    const example = bodyExample("POST /v1/jobs") as { type: string; payload: { url: string } };
    expect(example.type).toBe("http");
    expect(example.payload.url).toMatch(/^https:\/\/example\.com\//);
    const res = await request("/v1/jobs", { method: "POST", headers: user.auth, json: example });
    const body = (await res.json()) as { id: string; status: string; error?: unknown };
    expect(body.error).toBeUndefined();
    expect(res.status).toBe(201);
    // Due at once and decided by nothing but the claim: it went out with its submit.
    expect(body.status).toBe("queued");
    expect((await getJob(user, body.id)).payload).toEqual(example.payload);
  });

  it("submit the batch example: POST /v1/jobs/batch answers 201 with every job created", async () => {
    const user = await createUser("try-it-out-batch");
    const example = bodyExample("POST /v1/jobs/batch") as { jobs: unknown[] };
    const res = await request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: example });
    expect(res.status).toBe(201);
    const { results } = (await res.json()) as { results: { status: number }[] };
    expect(results.map((r) => r.status)).toEqual(example.jobs.map(() => 201));
  });

  it("resize a pool with the PUT example, and the other write examples of a user's jobs are accepted", async () => {
    const user = await createUser("try-it-out-writes");
    const put = await request("/v1/pools/gpu", {
      method: "PUT",
      headers: user.auth,
      json: bodyExample("PUT /v1/pools/:name"),
    });
    expect(put.status).toBe(200);
    const created = (await (
      await request("/v1/jobs", { method: "POST", headers: user.auth, json: bodyExample("POST /v1/jobs") })
    ).json()) as { id: string };
    const patch = await request(`/v1/jobs/${created.id}`, {
      method: "PATCH",
      headers: user.auth,
      json: bodyExample("PATCH /v1/jobs/:id"),
    });
    expect(patch.status).toBe(200);
    for (const key of ["POST /v1/jobs/cancel", "POST /v1/jobs/retry"] as const) {
      const { route } = splitRouteKey(key);
      const res = await request(route, { method: "POST", headers: user.auth, json: bodyExample(key) });
      expect(res.status, key).toBe(200);
    }
  });
});
