// The HTTP API: a thin Hono core. Errors of every route are mapped to the contract's envelope here.
import { type ErrorHandler, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config";
import { log } from "../log";
import { admin } from "./admin";
import { allowedMethods } from "./allowed-methods";
import { type AppEnv, requireConfig } from "./auth";
import { DASHBOARD_PREFIX, dashboard } from "./dashboard";
import { docs } from "./docs";
import { ApiError, errorBody } from "./errors";
import { flowControlRoutes } from "./flow-control";
import { jobs } from "./jobs";
import { metrics } from "./metrics";
import { openapi } from "./openapi";
import { poolRoutes } from "./pools";

export const app = new Hono<AppEnv>();

// Liveness answers even when the configuration is broken: restarting cannot fix that.
app.get("/v1/health", (c) => c.json({ ok: true }));
app.route("/docs", docs);
app.use("/v1/*", requireConfig);
app.route("/v1/openapi.json", openapi);
app.route("/v1/admin", admin);
app.route("/v1/jobs", jobs);
app.route("/v1/pools", poolRoutes);
app.route("/v1/flow-control", flowControlRoutes);
app.route("/v1/metrics", metrics);
// The web dashboard: static files, no credentials needed to load them (the API calls carry the key).
app.route(DASHBOARD_PREFIX, dashboard);

/**
 * `GET /`: where to go. A browser is sent to the dashboard; anything else gets the links as JSON.
 */
app.get("/", (c) => {
  if (c.req.header("accept")?.includes("text/html")) return c.redirect(DASHBOARD_PREFIX, 302);
  return c.json({
    dashboard: DASHBOARD_PREFIX,
    docs: "/docs",
    openapi: "/v1/openapi.json",
    health: "/v1/health",
  });
});

const methodsAt = allowedMethods(app);

// A known path with another method is a 405 naming the methods it has (Allow); an unknown one a 404.
app.notFound((c) => {
  const allowed = methodsAt(c.req.path);
  if (allowed.length === 0)
    return c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404);
  const message = `${c.req.method} is not allowed on ${c.req.path}; it takes ${allowed.join(", ")}`;
  return c.json(errorBody("method_not_allowed", message), 405, { Allow: allowed.join(", ") });
});

/** The contract's code for a status a framework exception carries. */
function codeOf(status: number): string {
  const codes: Record<number, string> = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
  };
  return codes[status] ?? (status >= 500 ? "internal" : "invalid_request");
}

/** Every route's errors, as the contract's envelope. Exported for tests. */
export const handleError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) {
    return c.json(errorBody(err.code, err.message, err.details), err.status, err.headers);
  }
  if (err instanceof ConfigError) {
    log("config_invalid", { problems: err.problems });
    return c.json(errorBody("internal", "the server is misconfigured"), 500);
  }
  // A framework exception (a Hono helper's 401, 405, 413…) keeps its status.
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody(codeOf(err.status), err.message), err.status);
  }
  log("unhandled_error", {
    method: c.req.method,
    path: c.req.path,
    error: err,
    stack: err instanceof Error ? err.stack : undefined,
  });
  const status = err instanceof HTTPException ? err.status : 500;
  return c.json(errorBody(codeOf(status), "internal error"), status);
};

app.onError(handleError);
