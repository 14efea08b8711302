// /dashboard: the web dashboard's static files (built by Vite from dashboard/ into the assets
// directory), served through the ASSETS binding. Every request reaches the Worker first
// (run_worker_first), so /v1/* never meets the asset server and only this prefix is static.
import { Hono } from "hono";
import type { AppEnv } from "./auth";

export const DASHBOARD_PREFIX = "/dashboard";

/** A request for an app route (no file extension in the last segment), not for a file. */
function isAppRoute(pathname: string): boolean {
  const last = pathname.split("/").pop() ?? "";
  return !last.includes(".");
}

/**
 * The file when there is one; otherwise, for an app route such as /dashboard/jobs/job_0_x (a deep
 * link or a reload), the app's index.html, whose router draws that page. A missing file stays 404.
 */
export async function serveDashboard(request: Request, assets: Fetcher): Promise<Response> {
  const url = new URL(request.url);
  const found = await assets.fetch(request);
  if (found.status !== 404 || !isAppRoute(url.pathname)) return found;
  return assets.fetch(new Request(new URL(`${DASHBOARD_PREFIX}/`, url), { headers: request.headers }));
}

export const dashboard = new Hono<AppEnv>();

dashboard.get("/*", async (c) => {
  // Only a Worker deployed without wrangler.toml's [assets] lacks the binding.
  if (!c.env.ASSETS) return c.text("the dashboard is not deployed with this Worker", 404);
  return serveDashboard(c.req.raw, c.env.ASSETS);
});
