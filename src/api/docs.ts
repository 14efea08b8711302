// GET /docs: the interactive API reference (Swagger UI, through Hono's @hono/swagger-ui) over
// GET /v1/openapi.json. Swagger UI's script and style are served by this Worker, imported as text
// (wrangler.toml's rules), so the page works where only this origin is reachable: no CDN.
import { swaggerUI } from "@hono/swagger-ui";
import { type Handler, Hono } from "hono";
import swaggerCss from "swagger-ui-dist/swagger-ui.css";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import type { AppEnv } from "./auth";

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

const asset =
  (body: string, contentType: string): Handler<AppEnv> =>
  (c) =>
    c.body(body, 200, { "content-type": contentType, "cache-control": "public, max-age=3600" });

docs.get("/vendor/swagger-ui-dist/swagger-ui.css", asset(swaggerCss, "text/css; charset=utf-8"));
docs.get(
  "/vendor/swagger-ui-dist/swagger-ui-bundle.js",
  asset(swaggerBundle, "text/javascript; charset=utf-8"),
);
