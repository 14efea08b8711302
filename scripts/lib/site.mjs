// The Worker's static files (wrangler.toml's [assets], served through the ASSETS binding): the web
// dashboard (dashboard/, Preact + Vite) at /dashboard, and Swagger UI's script and style for /docs.
// Built into dist/site by scripts/dev.mjs before wrangler starts and by scripts/deploy.mjs before a
// deploy; the tests' Miniflare gets the Swagger UI files from vitest.config.ts.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { projectRoot } from "./wrangler.mjs";

export const assetsDirectory = path.join(projectRoot, "dist/site");
/** The assets of a server started with --skip-dashboard: Swagger UI's files, no dashboard. */
export const noDashboardDirectory = path.join(projectRoot, "dist/no-dashboard");

/** Where /docs loads Swagger UI from, under an assets directory (src/api/docs.ts names the same). */
export const SWAGGER_UI_PATH = "docs/vendor/swagger-ui-dist";
const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"];

/** Builds the dashboard into dist/site/dashboard; returns the time it took in ms. */
export async function buildDashboard() {
  const started = Date.now();
  const { build } = await import("vite");
  await build({ configFile: path.join(projectRoot, "dashboard/vite.config.ts") });
  return Date.now() - started;
}

/**
 * Copies Swagger UI's script and style (the swagger-ui-dist package, pinned) into `directory`, where
 * /docs asks the assets for them: 1.9 MB that would otherwise be in the Worker's script.
 */
export function copySwaggerUi(directory = assetsDirectory) {
  const require = createRequire(path.join(projectRoot, "package.json"));
  const from = path.dirname(require.resolve("swagger-ui-dist/package.json"));
  const to = path.join(directory, SWAGGER_UI_PATH);
  mkdirSync(to, { recursive: true });
  for (const file of SWAGGER_UI_FILES) {
    const [source, target] = [path.join(from, file), path.join(to, file)];
    // Written only when it differs: every running wrangler dev watches its assets folder and reloads
    // its Worker on a write (a test server starting beside another must not restart it mid-request).
    if (!sameFile(source, target)) copyFileSync(source, target);
  }
}

function sameFile(a, b) {
  if (!existsSync(b) || statSync(a).size !== statSync(b).size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

/** wrangler refuses to start when [assets] names a missing folder, even with nothing in it. */
export function ensureAssetsDirectory(directory = assetsDirectory) {
  mkdirSync(directory, { recursive: true });
}
