// /v1/admin: user creation and listing. The API key and signing secret are returned once; only the
// key's SHA-256 is stored, on the user's home shard. The user directory (D1) lists every user.
import { Hono } from "hono";
import { issueApiKey, isUserId, newSigningSecret, newUserId, sha256Hex } from "../core/ids";
import { assignIndexDatabase, indexDatabase } from "../index-store/databases";
import { registerUser } from "../index-store/user-directory";
import { log } from "../log";
import { homeStub } from "../shard/address";
import type { Principal } from "../shard/rpc";
import { credentials } from "./admin-credentials";
import { directory } from "./admin-directory";
import { adminMetrics } from "./admin-metrics";
import { type AppEnv, forgetVerifiedKeys, requireAdmin } from "./auth";
import { IndexUnavailableError, InvalidRequestError, NotFoundError, okOrThrow } from "./errors";
import { NewUser, ShardsBody } from "./schemas";
import { validatedJson } from "./validate";

export const admin = new Hono<AppEnv>();
admin.use("*", requireAdmin);

admin.post("/users", async (c) => {
  const input = await validatedJson(c, NewUser, "the user is invalid", { optional: true });
  const userId = newUserId();
  const apiKey = await issueApiKey(userId, c.get("secrets").CURSOR_SECRET);
  const signingSecret = newSigningSecret();
  const shards = c.get("config").SHARDS_PER_USER;
  const name = input.name ?? null;
  // Listed first, so every account that exists is listed: if the account is then not created, the
  // listing leaves the entry out (src/api/admin-directory.ts).
  await Promise.resolve()
    .then(() => registerUser(indexDatabase(c.env, 0), { userId, name, createdAt: Date.now() }))
    .catch((err: unknown) => {
      log("user_directory_failed", { operation: "register", user_id: userId, error: err });
      throw new IndexUnavailableError("users cannot be created right now; try again shortly");
    });
  await homeStub(c.env, userId).createAccount({
    userId,
    name,
    keyHash: await sha256Hex(apiKey),
    signingSecret,
    shards,
    indexDb: assignIndexDatabase(userId, c.get("config").INDEX_DATABASES),
  });
  return c.json({ user_id: userId, name, api_key: apiKey, signing_secret: signingSecret }, 201);
});

/** Spreads a hot user's new jobs over more shards; old job ids keep routing to their shard. */
admin.patch("/users/:id", async (c) => {
  const userId = c.req.param("id");
  if (!isUserId(userId)) throw new NotFoundError("no such user");
  const change = await validatedJson(c, ShardsBody, "the change is invalid");
  const home = homeStub(c.env, userId);
  const noSuchUser = () => new NotFoundError("no such user");
  let principal: Principal | null = null;
  if (change.shards !== undefined) {
    ({ principal } = okOrThrow(await home.setShards(change.shards), {
      not_found: noSuchUser,
      cannot_shrink: (refusal) => new InvalidRequestError(`shards can only grow (now ${refusal.shards})`),
    }));
  }
  // Always asked, even with only `shards` changed: it answers with every limit as it now stands.
  ({ principal } = okOrThrow(
    await home.setLimits({
      finishedRetentionSeconds: change.finished_retention_seconds,
      maxUnfinishedJobs: change.max_unfinished_jobs,
      shardCeiling: change.shard_ceiling,
      maxPools: change.max_pools,
    }),
    { not_found: noSuchUser },
  ));
  // Other isolates see the new limits when their cached key expires (10 s).
  forgetVerifiedKeys();
  const config = c.get("config");
  return c.json({
    user_id: principal.userId,
    shards: principal.shards,
    finished_retention_seconds: principal.finishedRetentionSeconds,
    max_unfinished_jobs: principal.maxUnfinishedJobs,
    shard_ceiling: principal.shardCeiling,
    max_pools: principal.maxPools,
    // What applies while a limit is null: the global settings.
    defaults: {
      finished_retention_seconds: config.FINISHED_RETENTION_SECONDS,
      max_unfinished_jobs: config.MAX_UNFINISHED_JOBS,
      shard_ceiling: config.SHARD_CEILING,
      max_pools: config.MAX_POOLS,
    },
  });
});

admin.route("/users", directory);
admin.route("/metrics", adminMetrics);
admin.route("/users", credentials);
