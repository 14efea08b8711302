// /v1/admin: user creation. The API key and signing secret are returned once; only the key's
// SHA-256 is stored, on the user's home shard.
import { Hono } from "hono";
import { z } from "zod";
import { newApiKey, newSigningSecret, newUserId, sha256Hex } from "../core/ids";
import { type AppEnv, requireAdmin } from "./auth";
import { readJson } from "./body";
import { invalidRequest } from "./errors";
import { zodDetails } from "./job-input";
import { homeStub } from "./shards";

export const admin = new Hono<AppEnv>();
admin.use("*", requireAdmin);

const NewUser = z.strictObject({ name: z.string().min(1).max(200).nullish() });

admin.post("/users", async (c) => {
  const parsed = NewUser.safeParse((await readJson(c, { optional: true })) ?? {});
  if (!parsed.success) throw invalidRequest("the user is invalid", zodDetails(parsed.error));
  const userId = newUserId();
  const apiKey = newApiKey(userId);
  const signingSecret = newSigningSecret();
  const shards = Math.max(1, Math.floor(Number(c.env.SHARDS_PER_USER ?? 1)) || 1);
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
