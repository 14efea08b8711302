// Every /v1 route the Hono app serves is in the OpenAPI document, with the schemas of what it takes and
// what it answers. The routes come from the app itself (app.routes), so a route added without its
// entry in src/api/operations.ts fails here. Pages outside /v1 (/docs) are not API routes.
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { openApiDocument, openApiPath, splitRouteKey } from "../../src/api/openapi-document";
import { OPERATIONS, type RouteKey } from "../../src/api/operations";

interface OperationDoc {
  requestBody?: { content: { "application/json": { schema: { $ref?: string } } } };
  parameters?: { name: string; in: string; schema: unknown }[];
  responses: Record<string, { content?: { "application/json"?: { schema?: { $ref?: string } } } }>;
}

const doc = openApiDocument() as {
  paths: Record<string, Record<string, OperationDoc>>;
  components: { schemas: Record<string, unknown> };
};

/** Method and path of every route the app answers, as OpenAPI writes them. */
function servedRoutes(): string[] {
  const served = app.routes
    .filter((r) => r.method !== "ALL" && r.path.startsWith("/v1/"))
    .map((r) => `${r.method} ${openApiPath(r.path.replace(/\/$/, ""))}`);
  return [...new Set(served)].sort();
}

function documentedRoutes(): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

const schemaRef = (content?: { "application/json"?: { schema?: { $ref?: string } } }) =>
  content?.["application/json"]?.schema?.$ref;

describe("the OpenAPI document covers the app's routes", () => {
  it("documents exactly the /v1 routes the app serves", () => {
    const served = servedRoutes();
    // Guards the enumeration itself: the app's own routes are seen, mounted sub-apps included.
    expect(served).toEqual(
      expect.arrayContaining([
        "GET /v1/health",
        "POST /v1/jobs",
        "GET /v1/jobs/{id}",
        "PUT /v1/pools/{name}",
      ]),
    );
    expect(documentedRoutes()).toEqual(served);
  });

  it("gives every write route a declared body and every route a JSON answer and the error envelope", () => {
    for (const [key, op] of Object.entries(OPERATIONS) as [RouteKey, (typeof OPERATIONS)[RouteKey]][]) {
      const { method, route } = splitRouteKey(key);
      const documented = doc.paths[openApiPath(route)]?.[method.toLowerCase()];
      expect(documented, key).toBeDefined();
      if (!documented) continue;
      if (["POST", "PUT", "PATCH"].includes(method)) {
        // Either a body schema or an explicit "none": a write route cannot forget its body.
        expect(op.body, `${key}: body (a schema, or "none")`).toBeDefined();
        if (op.body !== "none") {
          expect(schemaRef(documented.requestBody?.content), `${key} request body`).toMatch(
            /^#\/components\/schemas\//,
          );
        }
      } else {
        expect(op.body, `${key} takes no body`).toBeUndefined();
      }
      for (const name of Object.keys(op.query?.shape ?? {})) {
        expect(documented.parameters, `${key} query ${name}`).toContainEqual(
          expect.objectContaining({ name, in: "query" }),
        );
      }
      for (const [, param] of route.matchAll(/:([A-Za-z0-9_]+)/g)) {
        expect(documented.parameters, `${key} path ${param}`).toContainEqual(
          expect.objectContaining({ name: param, in: "path", required: true }),
        );
      }
      const statuses = Object.keys(documented.responses);
      // A success is a 2xx, or the 101 of a WebSocket upgrade (GET /v1/jobs/:id/watch).
      const ok = statuses.filter((s) => s.startsWith("2") || s === "101");
      expect(ok.length, `${key} success answers`).toBeGreaterThan(0);
      for (const s of ok) expect(schemaRef(documented.responses[s]?.content), `${key} ${s}`).toBeDefined();
      const errors = statuses.filter((s) => /^[45]/.test(s));
      if (op.auth !== "none") expect(errors, key).toContain("401");
      for (const s of errors) {
        expect(schemaRef(documented.responses[s]?.content), `${key} ${s}`).toBe("#/components/schemas/Error");
      }
    }
  });

  it("resolves every reference to a component that exists", () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of new Set(refs)) {
      const target = ref.slice('"$ref":"'.length, -1);
      expect(target, "no $defs or shared definitions").toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
      expect(doc.components.schemas, target).toHaveProperty(target.split("/").pop() as string);
    }
  });
});
