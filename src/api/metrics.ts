// GET /v1/metrics: the user's figures, merged from one `metrics` RPC per shard of the user. JSON by
// default; the Prometheus text format when the client prefers `text/plain` (a Prometheus scraper's
// Accept header does).
import { Hono } from "hono";
import { accepts } from "hono/accepts";
import { mergeShardMetrics } from "../core/metrics";
import { metricsText, PROMETHEUS_CONTENT_TYPE } from "../core/metrics-text";
import { shardStub } from "../shard/address";
import { type AppEnv, freshPrincipal, requireUser } from "./auth";

export const metrics = new Hono<AppEnv>();
metrics.use("*", requireUser);

metrics.get("/", async (c) => {
  // Every shard the user has now, not as cached: a shard added seconds ago holds jobs too.
  const { userId, shards } = await freshPrincipal(c);
  const parts = await Promise.all(
    Array.from({ length: shards }, (_, shard) => shardStub(c.env, userId, shard).metrics()),
  );
  // The shards' clocks agree in production; the latest one ends the window (tests move them).
  const merged = mergeShardMetrics(parts, Math.max(...parts.map((p) => p.now)));
  const format = accepts(c, {
    header: "Accept",
    supports: ["application/json", "text/plain"],
    default: "application/json",
  });
  if (format === "text/plain") {
    return c.body(metricsText(merged), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  }
  return c.json(merged);
});
