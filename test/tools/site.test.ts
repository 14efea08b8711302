// scripts/lib/site.mjs: Swagger UI's files for /docs are copied into an assets folder only when they
// differ, since every running wrangler dev reloads its Worker when its assets folder is written (a
// test server starting beside another once restarted it mid-request).
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { copySwaggerUi, SWAGGER_UI_PATH } from "../../scripts/lib/site.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "site-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bundle = path.join(dir, SWAGGER_UI_PATH, "swagger-ui-bundle.js");

describe("copySwaggerUi", () => {
  it("copies the script and style, and leaves identical files unwritten", () => {
    copySwaggerUi(dir);
    expect(statSync(bundle).size).toBeGreaterThan(500_000);
    expect(statSync(path.join(dir, SWAGGER_UI_PATH, "swagger-ui.css")).size).toBeGreaterThan(50_000);
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(bundle, past, past);
    copySwaggerUi(dir);
    expect(Math.round(statSync(bundle).mtimeMs)).toBe(past.getTime());
  });

  it("writes a file again when it differs", () => {
    writeFileSync(bundle, "stale");
    copySwaggerUi(dir);
    expect(statSync(bundle).size).toBeGreaterThan(500_000);
  });
});
