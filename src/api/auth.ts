// Authentication. The user id always comes from the key. The key names its user, so its hash is
// checked against that user's home shard alone: no D1 on the request path. Verified keys are
// remembered by this isolate for a short while to spare the home shard a round trip per request.
import type { Context, MiddlewareHandler } from "hono";
import { type Config, configOf, type Secrets, secretsOf } from "../config";
import { constantTimeEqual, sha256Hex, userIdOfApiKey } from "../core/ids";
import type { Env } from "../env";
import { homeStub } from "../shard/address";
import type { Principal } from "../shard/rpc";
import { RateLimitedError, UnauthorizedError } from "./errors";

export type AppEnv = {
  Bindings: Env;
  Variables: { principal: Principal; config: Config; secrets: Secrets };
};

const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;
/** The limiter counts in fixed 60 s windows and does not say when one ends; this is a hint. */
const RATE_LIMIT_RETRY_SECONDS = 10;
const verified = new Map<string, { principal: Principal; until: number }>();

function bearer(header: string | undefined): string | null {
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? "");
  return match?.[1] ?? null;
}

/**
 * A browser cannot set headers on a WebSocket: it may name its key as the subprotocol
 * `bearer.<api key>` instead (docs/design.md "Watching a job"). Only on an upgrade request.
 */
export function subprotocolKey(c: Context<AppEnv>): { key: string; protocol: string } | null {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return null;
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const protocol = offered.find((p) => p.startsWith("bearer."));
  const key = protocol === undefined ? null : bearer(`Bearer ${protocol.slice("bearer.".length)}`);
  return protocol !== undefined && key !== null ? { key, protocol } : null;
}

/** Forget cached keys, so a change to an account is seen at once (tests, admin changes). */
export function forgetVerifiedKeys(): void {
  verified.clear();
}

/**
 * The user's account as its home shard has it now, made this request's principal and remembered for
 * its key. For what must not act on a count seconds old: a bulk action reaching every shard, metrics,
 * a keyed submit told its count is stale. Other isolates keep their copy until it expires: the code
 * that needs a current count asks for it, so nothing relies on every copy being current.
 */
export async function freshPrincipal(c: Context<AppEnv>): Promise<Principal> {
  const { userId } = c.get("principal");
  const found = await homeStub(c.env, userId).account();
  if (!found.ok) throw new UnauthorizedError();
  const key = bearer(c.req.header("authorization"));
  const cached = key === null ? undefined : verified.get(await sha256Hex(key));
  if (cached) cached.principal = found.principal;
  c.set("principal", found.principal);
  return found.principal;
}

export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = bearer(c.req.header("authorization")) ?? subprotocolKey(c)?.key ?? null;
  const userId = key === null ? null : userIdOfApiKey(key);
  if (key === null || userId === null) throw new UnauthorizedError();
  const keyHash = await sha256Hex(key);
  const now = Date.now();
  const cached = verified.get(keyHash);
  let principal = cached && cached.until > now ? cached.principal : undefined;
  if (!principal) {
    const found = await homeStub(c.env, userId).authenticate(keyHash);
    if (!found.ok || found.principal.userId !== userId) throw new UnauthorizedError();
    principal = found.principal;
    if (verified.size >= CACHE_MAX) verified.clear();
    verified.set(keyHash, { principal, until: now + CACHE_TTL_MS });
  }
  const limiter = c.env.KEY_RATE_LIMITER;
  if (limiter && !(await limiter.limit({ key: keyHash })).success)
    throw new RateLimitedError(RATE_LIMIT_RETRY_SECONDS);
  c.set("principal", principal);
  await next();
};

/**
 * Every route but the health check needs the whole configuration, secrets included: a missing secret
 * answers 500 on every request (and logs config_invalid) instead of running with an empty key.
 */
export const requireConfig: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("config", configOf(c.env));
  c.set("secrets", secretsOf(c.env));
  await next();
};

export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  const expected = c.get("secrets").ADMIN_TOKEN;
  if (token === null) throw new UnauthorizedError("the admin token is required");
  // Compare digests, so the comparison's timing reveals nothing about the token.
  const [a, b] = await Promise.all([sha256Hex(token), sha256Hex(expected)]);
  if (!constantTimeEqual(a, b)) throw new UnauthorizedError("the admin token is required");
  await next();
};
