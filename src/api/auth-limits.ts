// Failed-authentication limits (docs/design.md, HTTP contract; docs/architecture.md "Failed logins"):
// counted in this isolate's memory, per client address and per claimed user (an API key names its
// user), and for the admin token per client address, so a limited request is answered 429 before any
// Durable Object is asked. What the limits never slow is decided in src/api/auth.ts.
import type { Config } from "../config";
import { FailureLimiter, type FailureRule } from "../core/failure-limit";
import { parseIPv6 } from "../executors/target";
import { log } from "../log";
import { RateLimitedError } from "./errors";

const limiter = new FailureLimiter();

/** Forget every count (tests). */
export function forgetAuthFailures(): void {
  limiter.reset();
}

/**
 * The client a request counts against: its CF-Connecting-IP, which Cloudflare sets on every request
 * (replacing any the client sent) and `wrangler dev` sets from the connection when the client sent
 * none. An IPv6 address counts by its /64, which one host usually holds whole (an IPv4-mapped one as
 * its IPv4 address). Without the header (a
 * runtime or proxy that does not set it) every request is the one client `unknown`: the per-user limit
 * still holds, and the per-client one then limits all such clients together.
 */
export function clientOf(header: string | undefined): string {
  const address = header?.trim().slice(0, 64);
  if (!address) return "unknown";
  if (!address.includes(":")) return address;
  const groups = parseIPv6(address);
  if (!groups) return address;
  // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

interface Scope {
  /** The limiter's key. */
  key: string;
  /** For the log line when it runs out. */
  fields: Record<string, string>;
}

/** The failures of one request: each scope it counts against, under the configured rule. */
export class AuthFailures {
  private readonly rule: FailureRule;

  constructor(
    private readonly scopes: Scope[],
    config: Config,
  ) {
    this.rule = { limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_SECONDS * 1000 };
  }

  /** An API key's: its client (CF-Connecting-IP) and the user it names (when it names one). */
  static ofKey(connectingIp: string | undefined, userId: string | null, config: Config): AuthFailures {
    const client = clientOf(connectingIp);
    const scopes: Scope[] = [{ key: `client:${client}`, fields: { scope: "client", client } }];
    if (userId !== null) scopes.push({ key: `user:${userId}`, fields: { scope: "user", user_id: userId } });
    return new AuthFailures(scopes, config);
  }

  /** The admin token's: its client (a count of its own, apart from the client's API keys). */
  static ofAdmin(connectingIp: string | undefined, config: Config): AuthFailures {
    const client = clientOf(connectingIp);
    return new AuthFailures([{ key: `admin:${client}`, fields: { scope: "admin", client } }], config);
  }

  /** Throws the 429 when any scope has run out, with the longest wait as Retry-After. */
  throwIfLimited(now: number): void {
    const wait = Math.max(0, ...this.scopes.map((s) => limiter.retryAfterSeconds(s.key, this.rule, now)));
    if (wait > 0) {
      throw new RateLimitedError(wait, `too many failed authentications; try again in ${wait} s`);
    }
  }

  /**
   * Charges a try before its outcome is known: the 429 when any scope has run out, else one failure
   * against each, given back by `refund` if the try turns out right. Charged first, so tries running
   * at once cannot all pass the check before any failure is counted: the limit is exact.
   */
  take(now: number): void {
    this.throwIfLimited(now);
    this.record(now);
  }

  /** Gives back what `take` charged: the try was right. */
  refund(now: number): void {
    for (const s of this.scopes) limiter.refund(s.key, this.rule, now);
  }

  /** Counts one failure against every scope; logs each that it empties. */
  record(now: number): void {
    for (const s of this.scopes) {
      if (limiter.fail(s.key, this.rule, now)) {
        log("auth_failures_limited", {
          ...s.fields,
          limit: this.rule.limit,
          window_seconds: this.rule.windowMs / 1000,
        });
      }
    }
  }
}
