// The committed generated types are what `npm run client:types` writes now: a change to a route or a
// schema fails here until the types are regenerated.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { SCHEMA_FILE, schemaTypes } from "../../../client/codegen/generate";

describe("client/src/schema.d.ts", () => {
  it("is up to date with the OpenAPI document (run `npm run client:types` when this fails)", async () => {
    const committed = await readFile(SCHEMA_FILE, "utf8");
    expect(committed).toBe(await schemaTypes());
  });

  it("changes when the document does (the comparison can fail)", async () => {
    const fresh = await schemaTypes();
    const { openApiDocument } = await import("../../../src/api/openapi-document");
    const doc = openApiDocument() as { paths: Record<string, unknown> };
    doc.paths["/v1/extra"] = { get: { responses: { 200: { description: "x" } } } };
    expect(await schemaTypes(doc)).not.toBe(fresh);
  });
});
