// /v1/pools: the user's resource pools. They live on the home shard with the jobs that use them.
import { Hono } from "hono";
import { z } from "zod";
import { homeStub } from "../shard/address";
import { type AppEnv, requireUser } from "./auth";
import { readJson } from "./body";
import { InvalidRequestError } from "./errors";
import { PoolName, zodDetails } from "./job-input";

export const poolRoutes = new Hono<AppEnv>();
poolRoutes.use("*", requireUser);

export const PoolBody = z.strictObject({ capacity: z.int().min(0).max(1_000_000) });

poolRoutes.put("/:name", async (c) => {
  const name = PoolName.safeParse(c.req.param("name"));
  if (!name.success) throw new InvalidRequestError("bad pool name", zodDetails(name.error, ["name"]));
  const body = PoolBody.safeParse(await readJson(c));
  if (!body.success) throw new InvalidRequestError("the pool is invalid", zodDetails(body.error));
  const pool = await homeStub(c.env, c.get("principal").userId).putPool(name.data, body.data.capacity);
  return c.json(pool);
});

poolRoutes.get("/", async (c) => {
  return c.json({ pools: await homeStub(c.env, c.get("principal").userId).listPools() });
});
