// /v1/admin/users/:id/keys and /signing-secrets: rotation and revocation of a user's credentials.
// New secrets are shown once; only key hashes are stored.
import { Hono } from "hono";
import { issueApiKey, isUserId, keyIdOf, newSigningSecret, sha256Hex } from "../core/ids";
import { homeStub } from "../shard/address";
import { type AppEnv, forgetVerifiedKeys } from "./auth";
import { NotFoundError, okOrThrow } from "./errors";
import { Rotation } from "./schemas";
import { validatedJson } from "./validate";

/** Mounted under /v1/admin/users, behind the admin guard. */
export const credentials = new Hono<AppEnv>();

function userIdParam(id: string): string {
  if (!isUserId(id)) throw new NotFoundError("no such user");
  return id;
}

credentials.post("/:id/keys", async (c) => {
  const userId = userIdParam(c.req.param("id"));
  const apiKey = await issueApiKey(userId, c.get("secrets").CURSOR_SECRET);
  const keyHash = await sha256Hex(apiKey);
  okOrThrow(await homeStub(c.env, userId).addKey(keyHash), {
    not_found: () => new NotFoundError("no such user"),
  });
  return c.json({ user_id: userId, key_id: keyIdOf(keyHash), api_key: apiKey }, 201);
});

credentials.get("/:id/keys", async (c) => {
  const userId = userIdParam(c.req.param("id"));
  return c.json({ keys: await homeStub(c.env, userId).listKeys() });
});

credentials.delete("/:id/keys/:key_id", async (c) => {
  const userId = userIdParam(c.req.param("id"));
  const { key } = okOrThrow(await homeStub(c.env, userId).revokeKey(c.req.param("key_id")), {
    not_found: () => new NotFoundError("no such key"),
  });
  // This isolate forgets at once; others within the auth cache's lifetime (10 s).
  forgetVerifiedKeys();
  return c.json(key);
});

credentials.post("/:id/signing-secrets", async (c) => {
  const userId = userIdParam(c.req.param("id"));
  const rotation = await validatedJson(c, Rotation, "the rotation is invalid", { optional: true });
  const secret = newSigningSecret();
  const overlapMs = rotation.overlap_seconds * 1000;
  okOrThrow(await homeStub(c.env, userId).rotateSigningSecret(secret, overlapMs), {
    not_found: () => new NotFoundError("no such user"),
  });
  return c.json(
    {
      user_id: userId,
      signing_secret: secret,
      previous_valid_until: new Date(Date.now() + overlapMs).toISOString(),
    },
    201,
  );
});
