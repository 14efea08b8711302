// GET /docs: the interactive API reference (Swagger UI, through Hono's @hono/swagger-ui) over
// GET /v1/openapi.json. Swagger UI's script and style are static assets (scripts/lib/site.mjs copies
// them from swagger-ui-dist into the assets folder under docs/vendor/swagger-ui-dist), served from this
// origin, so the page works where only this origin is reachable (no CDN) and the 1.9 MB stay out of
// the Worker's script.
import { swaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";
import type { AppEnv } from "./auth";
import { NotFoundError } from "./errors";

/** Where the page loads Swagger UI from: @hono/swagger-ui appends /swagger-ui-dist/<file>. */
const ASSETS = "/docs/vendor";

export const docs = new Hono<AppEnv>();

docs.get(
  "/",
  swaggerUI({
    url: "/v1/openapi.json",
    baseUrl: ASSETS,
    title: "edge-scheduler API",
    // Swagger UI otherwise sends the document's URL to validator.swagger.io for a badge.
    validatorUrl: "none",
  }),
);

docs.get("/vendor/*", async (c) => {
  const found = await c.env.ASSETS?.fetch(c.req.raw);
  if (!found || found.status === 404) throw new NotFoundError(`no such file: ${c.req.path}`);
  return found;
});
