// The HTTP API: a thin Hono core. Errors of every route are mapped to the contract's envelope here.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config";
import { log } from "../log";
import { admin } from "./admin";
import { type AppEnv, requireConfig } from "./auth";
import { ApiError, errorBody } from "./errors";
import { jobs } from "./jobs";
import { openapi } from "./openapi";
import { poolRoutes } from "./pools";

export const app = new Hono<AppEnv>();

// Liveness answers even when the configuration is broken: restarting cannot fix that.
app.get("/v1/health", (c) => c.json({ ok: true }));
app.use("/v1/*", requireConfig);
app.route("/v1/openapi.json", openapi);
app.route("/v1/admin", admin);
app.route("/v1/jobs", jobs);
app.route("/v1/pools", poolRoutes);

app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) {
    return c.json(errorBody(err.code, err.message, err.details), err.status, err.headers);
  }
  if (err instanceof ConfigError) {
    log("config_invalid", { problems: err.problems });
    return c.json(errorBody("internal", "the server is misconfigured"), 500);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody("invalid_request", err.message), 400);
  }
  log("unhandled_error", {
    method: c.req.method,
    path: c.req.path,
    error: err,
    stack: err instanceof Error ? err.stack : undefined,
  });
  return c.json(errorBody("internal", "internal error"), 500);
});
