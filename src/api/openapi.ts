// GET /v1/openapi.json: the document (openapi-document.ts), served from the origin it is asked on.
import { Hono } from "hono";
import type { AppEnv } from "./auth";
import { openApiDocument } from "./openapi-document";

export const openapi = new Hono<AppEnv>();
openapi.get("/", (c) =>
  c.json(openApiDocument([{ url: new URL(c.req.url).origin, description: "this deployment" }])),
);
