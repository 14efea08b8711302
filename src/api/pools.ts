// /v1/pools: the user's resource pools. They live on the home shard with the jobs that use them.
import { Hono } from "hono";
import { homeStub } from "../shard/address";
import { type AppEnv, requireUser } from "./auth";
import { ConflictError, InvalidRequestError, NotFoundError, okOrThrow } from "./errors";
import { PoolBody, PoolName } from "./schemas";
import { validated, validatedJson } from "./validate";

export const poolRoutes = new Hono<AppEnv>();
poolRoutes.use("*", requireUser);

poolRoutes.put("/:name", async (c) => {
  const name = validated(PoolName, c.req.param("name"), "bad pool name", ["name"]);
  const { capacity } = await validatedJson(c, PoolBody, "the pool is invalid");
  const { pool } = okOrThrow(await homeStub(c.env, c.get("principal").userId).putPool(name, capacity), {
    too_many_pools: ({ limit }) => {
      const message = `a user has at most ${limit} pools (an admin limit); delete one before creating "${name}"`;
      return new InvalidRequestError(message, [{ path: "name", message }]);
    },
  });
  return c.json(pool);
});

poolRoutes.get("/", async (c) => {
  return c.json({ pools: await homeStub(c.env, c.get("principal").userId).listPools() });
});

// 200 with the pool as it was (its units all free), like DELETE /v1/jobs/:id answers the job.
poolRoutes.delete("/:name", async (c) => {
  const name = validated(PoolName, c.req.param("name"), "bad pool name", ["name"]);
  const { pool } = okOrThrow(await homeStub(c.env, c.get("principal").userId).deletePool(name), {
    not_found: () => new NotFoundError(`no pool named "${name}"`),
    in_use: ({ jobs }) =>
      new ConflictError(
        `${jobs} unfinished job${jobs === 1 ? " names" : "s name"} the pool; cancel or finish them first`,
      ),
  });
  return c.json(pool);
});
