// Builds the web dashboard (dashboard/, Preact + Vite) into dist/site/dashboard, the folder that
// wrangler.toml's [assets] serves at /dashboard/. Run by scripts/dev.mjs before wrangler starts.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "./wrangler.mjs";

export const assetsDirectory = path.join(projectRoot, "dist/site");
/** Always empty: the assets of a server started with --skip-dashboard. */
export const noDashboardDirectory = path.join(projectRoot, "dist/no-dashboard");

/** Builds the dashboard; returns the time it took in ms. */
export async function buildDashboard() {
  const started = Date.now();
  const { build } = await import("vite");
  await build({ configFile: path.join(projectRoot, "dashboard/vite.config.ts") });
  return Date.now() - started;
}

/** wrangler refuses to start when [assets] names a missing folder, even with nothing in it. */
export function ensureAssetsDirectory() {
  mkdirSync(assetsDirectory, { recursive: true });
}
