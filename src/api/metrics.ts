// GET /v1/metrics: the user's figures, merged from one `metrics` RPC per shard of the user. JSON by
// default; the Prometheus text format when the client prefers `text/plain` (a Prometheus scraper's
// Accept header does). `?range=1h|24h|7d` adds the chart series (`series`).
import type { Context } from "hono";
import { Hono } from "hono";
import { accepts } from "hono/accepts";
import { mergeShardMetrics } from "../core/metrics";
import { metricsText, PROMETHEUS_CONTENT_TYPE } from "../core/metrics-text";
import { shardStub } from "../shard/address";
import { type AppEnv, freshPrincipal, requireUser } from "./auth";
import { MetricsQuery } from "./schemas";
import { validated } from "./validate";

export const metrics = new Hono<AppEnv>();
metrics.use("*", requireUser);

/** Whether the client prefers the Prometheus text format (Accept: text/plain) to JSON. */
export function wantsText(c: Context): boolean {
  const format = accepts(c, {
    header: "Accept",
    supports: ["application/json", "text/plain"],
    default: "application/json",
  });
  return format === "text/plain";
}

metrics.get("/", async (c) => {
  const { range } = validated(MetricsQuery, c.req.query(), "bad metrics query");
  // Every shard the user has now, not as cached: a shard added seconds ago holds jobs too.
  const { userId, shards } = await freshPrincipal(c);
  const parts = await Promise.all(
    Array.from({ length: shards }, (_, shard) => shardStub(c.env, userId, shard).metrics(range)),
  );
  // The shards' clocks agree in production; the latest one ends the window (tests move them).
  const merged = mergeShardMetrics(parts, Math.max(...parts.map((p) => p.now)), range);
  if (wantsText(c)) {
    return c.body(metricsText(merged), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  }
  return c.json(merged);
});
