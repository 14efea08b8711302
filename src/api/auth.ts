// Authentication. The user id always comes from the key. The key names its user, so its hash is
// checked against that user's home shard alone: no D1 on the request path. Verified keys are
// remembered by this isolate for a short while to spare the home shard a round trip per request, and
// refreshed ahead with one ask at a time (src/api/verified-keys.ts).
// Failed authentication is limited per client and per claimed user before the home shard is asked
// (src/api/auth-limits.ts), and a correct key is never slowed by anyone else's failures: a key this
// isolate verified lately, or one the server issued (its tag holds: src/core/ids.ts issueApiKey), is
// not limited; only a key that could be a guess is.
import type { Context, MiddlewareHandler } from "hono";
import { type Config, configOf, type Secrets, secretsOf } from "../config";
import { apiKeyTagHolds, constantTimeEqual, sha256Hex, userIdOfApiKey } from "../core/ids";
import type { Env } from "../env";
import { homeStub } from "../shard/address";
import type { AuthenticateResult, Principal } from "../shard/rpc";
import { AuthFailures, forgetAuthFailures } from "./auth-limits";
import { EXPECTED_CREDENTIALS, RateLimitedError, UnauthorizedError } from "./errors";
import { KeyRateTabs } from "./key-rate";
import { type AskAnswer, VerifiedKeys } from "./verified-keys";

export type AppEnv = {
  Bindings: Env;
  Variables: { principal: Principal; config: Config; secrets: Secrets };
};

const CACHE_MAX = 10_000;
/** The limiter counts in fixed 60 s windows and does not say when one ends; this is a hint. */
const RATE_LIMIT_RETRY_SECONDS = 10;
const verified = new VerifiedKeys();
/**
 * Keys this isolate verified within PROVEN_MS (by hash): not limited by others' failures even once
 * their cached principal expired (they are verified again, as always). For keys issued before tags.
 */
const PROVEN_MS = 3_600_000;
const proven = new Map<string, number>();
/** The key's request rate, charged to the binding in arrears (src/api/key-rate.ts). */
const rates = new KeyRateTabs();
/** Tagged keys the home shard refused here (revoked): they lose the tag's exemption. */
const refused = new Set<string>();

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

/** Forget everything authentication remembers: verified keys and failure counts (tests). */
export function forgetAuthentication(): void {
  verified.clear();
  proven.clear();
  refused.clear();
  rates.clear();
  forgetAuthFailures();
}

function remember<V>(map: Map<string, V> | Set<string>, key: string, value?: V): void {
  if (map.size >= CACHE_MAX) map.clear();
  if (map instanceof Map) map.set(key, value as V);
  else map.add(key);
}

/**
 * Whether failures of others may not slow this key: verified here lately, or issued by the server
 * (its tag holds) and not refused here since. A guess is neither.
 */
async function notLimited(c: Context<AppEnv>, key: string, keyHash: string, now: number): Promise<boolean> {
  if ((proven.get(keyHash) ?? 0) > now) return true;
  return !refused.has(keyHash) && (await apiKeyTagHolds(key, c.get("secrets").CURSOR_SECRET));
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
  if (key !== null) verified.update(await sha256Hex(key), found.principal);
  c.set("principal", found.principal);
  return found.principal;
}

/** A key that was read and is not (or no longer) a key of its user. */
const REFUSED_KEY = "the API key was not accepted (unknown, revoked, or mistyped)";

/**
 * The 401 for a request whose credentials could not be read, naming the mistake people make most: a
 * key in X-API-Key, or an Authorization header in another form (a bare key, `Token …`, `Basic …`).
 */
function unreadCredentials(c: Context<AppEnv>): UnauthorizedError {
  if (c.req.header("x-api-key") !== undefined)
    return new UnauthorizedError(`X-API-Key is not read: ${EXPECTED_CREDENTIALS}`);
  if (c.req.header("authorization") !== undefined)
    return new UnauthorizedError(`the Authorization header must read \`Bearer <api_key>\``);
  return new UnauthorizedError();
}

/**
 * Asks the key's home shard for its principal; `done` (VerifiedKeys.startAsk) remembers the answer and
 * hands it to the requests waiting for it. A refused key is 401, charged to the failure limits unless
 * it was charged already.
 */
async function askHomeShard(
  c: Context<AppEnv>,
  ask: { key: string; userId: string; charged: boolean; failures: AuthFailures; now: number },
  done: (answer: AskAnswer) => void,
): Promise<Principal> {
  const { key, userId, charged, failures, now } = ask;
  let found: AuthenticateResult;
  try {
    found = await homeStub(c.env, userId).authenticate(key);
  } catch (err) {
    done("failed");
    throw err;
  }
  if (!found.ok || found.principal.userId !== userId) {
    done("refused");
    if (!charged) failures.record(now);
    proven.delete(key);
    remember(refused, key);
    throw new UnauthorizedError(REFUSED_KEY, "invalid_token");
  }
  done(found.principal);
  if (charged) failures.refund(Date.now());
  remember(proven, key, now + PROVEN_MS);
  return found.principal;
}

/** A failed call's fallback: the principal still remembered, unless the key was refused (401). */
const unlessRefused =
  (principal: Principal) =>
  (err: unknown): Principal => {
    if (err instanceof UnauthorizedError) throw err;
    return principal;
  };

export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = bearer(c.req.header("authorization")) ?? subprotocolKey(c)?.key ?? null;
  // No credentials at all: nothing was tried (and nothing is asked of any shard).
  if (key === null) throw unreadCredentials(c);
  const userId = userIdOfApiKey(key);
  const now = Date.now();
  const failures = AuthFailures.ofKey(c.req.header("cf-connecting-ip"), userId, c.get("config"));
  if (userId === null) {
    failures.take(now);
    throw new UnauthorizedError(REFUSED_KEY, "invalid_token");
  }
  const keyHash = await sha256Hex(key);
  const cached = verified.lookup(keyHash, now);
  let principal = cached?.refresh ? undefined : cached?.principal;
  if (!principal) {
    // A key that could be a guess is charged before the home shard is asked (429 when out of tries),
    // and asks for itself. Any other asks, or waits for the request already asking for it: waitOrAsk
    // looks and records in one step, so requests that all found no principal do not all ask.
    const charged = !(await notLimited(c, key, keyHash, now));
    if (charged) failures.take(now);
    const turn = charged ? { done: verified.startAsk(keyHash, now) } : verified.waitOrAsk(keyHash, now);
    if ("waiting" in turn) principal = await turn.waiting;
    if (!principal) {
      // The ask waited for failed or was given up on: this request asks for itself.
      const done = "done" in turn ? turn.done : verified.startAsk(keyHash, Date.now());
      const asking = askHomeShard(c, { key: keyHash, userId, charged, failures, now }, done);
      // A refresh that fails (not refused) leaves the entry as it was, still usable by this request.
      principal = await (cached ? asking.catch(unlessRefused(cached.principal)) : asking);
    }
  }
  const limiter = c.env.KEY_RATE_LIMITER;
  if (limiter && !(await rates.admit(limiter, keyHash, now)))
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

/**
 * The admin token. Its failures are limited per client address, and a client past its limit is
 * refused even with the right token: unlike an issued API key, the token has nothing but itself to
 * prove it is no guess, and an operator may have chosen a weak one. Other clients are not slowed.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  const expected = c.get("secrets").ADMIN_TOKEN;
  if (token === null)
    throw new UnauthorizedError("the admin token is required: send `Authorization: Bearer <ADMIN_TOKEN>`");
  const now = Date.now();
  const failures = AuthFailures.ofAdmin(c.req.header("cf-connecting-ip"), c.get("config"));
  failures.take(now);
  // Compare digests, so the comparison's timing reveals nothing about the token.
  const [a, b] = await Promise.all([sha256Hex(token), sha256Hex(expected)]);
  if (!constantTimeEqual(a, b))
    throw new UnauthorizedError("the admin token was not accepted", "invalid_token");
  failures.refund(now);
  await next();
};
