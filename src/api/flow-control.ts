// /v1/flow-control: the keys in use; /v1/flow-control/:key: how a flow-control key stands. Every job with a key lives on the home shard,
// which alone decides for it (docs/architecture.md, "Flow control per key").
import { Hono } from "hono";
import { homeStub } from "../shard/address";
import { type AppEnv, requireUser } from "./auth";
import { FlowKeyName } from "./schemas";
import { validated } from "./validate";

export const flowControlRoutes = new Hono<AppEnv>();
flowControlRoutes.use("*", requireUser);

// The keys in use, busiest first (at most 100).
flowControlRoutes.get("/", async (c) => {
  const keys = await homeStub(c.env, c.get("principal").userId).flowKeys();
  return c.json({ keys });
});

// Keys need no set-up: an unknown or idle key answers zeros, not 404.
flowControlRoutes.get("/:key", async (c) => {
  const key = validated(FlowKeyName, c.req.param("key"), "bad flow-control key", ["key"]);
  return c.json(await homeStub(c.env, c.get("principal").userId).flowKey(key));
});
