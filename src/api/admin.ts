// /v1/admin: user creation. The API key and signing secret are returned once; only the key's
// SHA-256 is stored, on the user's home shard.
import { Hono } from "hono";
import { z } from "zod";
import { isUserId, newApiKey, newSigningSecret, newUserId, sha256Hex } from "../core/ids";
import { homeStub, MAX_SHARDS } from "../shard/address";
import { credentials } from "./admin-credentials";
import { type AppEnv, forgetVerifiedKeys, requireAdmin } from "./auth";
import { readJson } from "./body";
import { InvalidRequestError, NotFoundError, okOrThrow } from "./errors";
import { zodDetails } from "./job-input";

export const admin = new Hono<AppEnv>();
admin.use("*", requireAdmin);

export const NewUser = z.strictObject({ name: z.string().min(1).max(200).nullish() });

admin.post("/users", async (c) => {
  const parsed = NewUser.safeParse((await readJson(c, { optional: true })) ?? {});
  if (!parsed.success) throw new InvalidRequestError("the user is invalid", zodDetails(parsed.error));
  const userId = newUserId();
  const apiKey = newApiKey(userId);
  const signingSecret = newSigningSecret();
  const shards = c.get("config").SHARDS_PER_USER;
  const name = parsed.data.name ?? null;
  await homeStub(c.env, userId).createAccount({
    userId,
    name,
    keyHash: await sha256Hex(apiKey),
    signingSecret,
    shards,
  });
  return c.json({ user_id: userId, name, api_key: apiKey, signing_secret: signingSecret }, 201);
});

export const ShardsBody = z.strictObject({ shards: z.int().min(1).max(MAX_SHARDS) });

/** Spreads a hot user's new jobs over more shards; old job ids keep routing to their shard. */
admin.patch("/users/:id", async (c) => {
  const userId = c.req.param("id");
  if (!isUserId(userId)) throw new NotFoundError("no such user");
  const parsed = ShardsBody.safeParse(await readJson(c));
  if (!parsed.success) throw new InvalidRequestError("the change is invalid", zodDetails(parsed.error));
  const { principal } = okOrThrow(await homeStub(c.env, userId).setShards(parsed.data.shards), {
    not_found: () => new NotFoundError("no such user"),
    cannot_shrink: (refusal) => new InvalidRequestError(`shards can only grow (now ${refusal.shards})`),
  });
  // Other isolates see the new count when their cached key expires (10 s).
  forgetVerifiedKeys();
  return c.json({ user_id: principal.userId, shards: principal.shards });
});

admin.route("/users", credentials);
