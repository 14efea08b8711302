// The resolver check (TARGET_DNS_CHECK=true; docs/architecture.md "Private hosts by name"): before
// each request of an http call (the target, every redirect hop, a callback), the host name is resolved
// over DNS-over-HTTPS (the JSON API, `application/dns-json`, of TARGET_DNS_RESOLVER: Cloudflare's
// 1.1.1.1 by default) and the call is refused when any A or AAAA answer is not public (the same
// address rules as target.ts), or when the name has no address at all (a name only a private resolver
// knows). For a runtime whose own egress does not refuse private addresses (`wrangler dev`, a
// self-hosted runtime configured to allow them); on Cloudflare's network it is not needed.
//
// What it cannot do: fetch() resolves the name again when it connects, so a name whose answers change
// between the two lookups (DNS rebinding with a zero TTL) can still pass; an egress that refuses
// private addresses when it connects (workerd's network `allow` list, a firewall) closes that too.
import { z } from "zod";
import { addressError, isAddressLiteral } from "./target";

/** A host's verdict: null (it may be called), refused (permanent), or unknown (the resolver failed). */
export type HostVerdict = null | { refused: string } | { unavailable: string };

/** Checks a URL's hostname before it is called (injected into the http executor). */
export type HostCheck = (hostname: string) => Promise<HostVerdict>;

const DnsAnswer = z.object({
  Status: z.int(),
  Answer: z.array(z.object({ type: z.int(), data: z.string(), TTL: z.int().optional() })).optional(),
});

const A = 1;
const AAAA = 28;
const NOERROR = 0;
const NXDOMAIN = 3;
const checks = new Map<string, HostCheck>();

/**
 * This isolate's check for the configuration: none while private targets are allowed or the check is
 * off; otherwise one per resolver, kept (with its cache) for the isolate's life.
 */
export function configuredHostCheck(config: {
  ALLOW_PRIVATE_TARGETS: boolean;
  TARGET_DNS_CHECK: boolean;
  TARGET_DNS_RESOLVER: string;
}): HostCheck | undefined {
  if (config.ALLOW_PRIVATE_TARGETS || !config.TARGET_DNS_CHECK) return undefined;
  let check = checks.get(config.TARGET_DNS_RESOLVER);
  if (!check) {
    check = dohHostCheck(config.TARGET_DNS_RESOLVER);
    checks.set(config.TARGET_DNS_RESOLVER, check);
  }
  return check;
}

/** Longest a verdict is reused, whatever the answer's TTL. */
const MAX_CACHE_MS = 60_000;
const MAX_CACHED_HOSTS = 1000;

interface Lookup {
  addresses: string[];
  ttlSeconds: number;
}

/**
 * The check against `resolver` (a DoH JSON endpoint), with `fetchFn` for its requests (tests inject
 * answers; no real network). Verdicts are reused for the answers' TTL (at most a minute), so a burst of
 * calls to one host asks once; a failed lookup is never reused.
 */
export function dohHostCheck(
  resolver: string,
  fetchFn: typeof fetch = (...args) => globalThis.fetch(...args),
  now: () => number = Date.now,
): HostCheck {
  const cache = new Map<string, { verdict: HostVerdict; until: number }>();

  async function lookup(name: string, type: number): Promise<Lookup | { unavailable: string }> {
    const url = new URL(resolver);
    url.searchParams.set("name", name);
    url.searchParams.set("type", String(type));
    let parsed: z.infer<typeof DnsAnswer>;
    try {
      const res = await fetchFn(url.href, { headers: { accept: "application/dns-json" } });
      if (!res.ok) return { unavailable: `the resolver answered HTTP ${res.status}` };
      const body = DnsAnswer.safeParse(await res.json());
      if (!body.success) return { unavailable: "the resolver's answer was not DNS JSON" };
      parsed = body.data;
    } catch (err) {
      return {
        unavailable: `the resolver could not be reached (${err instanceof Error ? err.message : err})`,
      };
    }
    if (parsed.Status === NXDOMAIN) return { addresses: [], ttlSeconds: 0 };
    if (parsed.Status !== NOERROR)
      return { unavailable: `the resolver answered DNS status ${parsed.Status}` };
    const records = (parsed.Answer ?? []).filter((r) => r.type === type);
    return {
      addresses: records.map((r) => r.data),
      ttlSeconds: Math.min(...records.map((r) => r.TTL ?? 0), MAX_CACHE_MS / 1000),
    };
  }

  async function verdictOf(host: string): Promise<{ verdict: HostVerdict; ttlSeconds: number }> {
    const answers = await Promise.all([lookup(host, A), lookup(host, AAAA)]);
    for (const a of answers) if ("unavailable" in a) return { verdict: a, ttlSeconds: 0 };
    const found = answers as Lookup[];
    const ttls = found.filter((a) => a.addresses.length > 0).map((a) => a.ttlSeconds);
    const ttlSeconds = ttls.length > 0 ? Math.min(...ttls) : 0;
    const addresses = found.flatMap((a) => a.addresses);
    if (addresses.length === 0)
      return { verdict: { refused: `host ${host} has no public address (it does not resolve)` }, ttlSeconds };
    for (const address of addresses) {
      const error = addressError(address);
      if (error) return { verdict: { refused: `host ${host} resolves to ${error}` }, ttlSeconds };
    }
    return { verdict: null, ttlSeconds };
  }

  return async (hostname) => {
    const host = hostname.toLowerCase().replace(/\.+$/, "");
    if (isAddressLiteral(host)) return null;
    const at = now();
    const cached = cache.get(host);
    if (cached && cached.until > at) return cached.verdict;
    const { verdict, ttlSeconds } = await verdictOf(host);
    if (verdict === null || "refused" in verdict) {
      if (cache.size >= MAX_CACHED_HOSTS) cache.clear();
      cache.set(host, { verdict, until: at + Math.min(ttlSeconds * 1000, MAX_CACHE_MS) });
    }
    return verdict;
  };
}
