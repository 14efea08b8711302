// The resolver check (src/executors/host-check.ts, TARGET_DNS_CHECK): names resolved over an injected
// DNS-over-HTTPS endpoint (no real network), refused when any answer is not public.
import { describe, expect, it } from "vitest";
import { dohHostCheck } from "../../../src/executors/host-check";

const RESOLVER = "https://dns.example/dns-query";
type DnsRecord = { name: string; type: number; TTL: number; data: string };

/** A DoH JSON endpoint that knows `zone` (name → its A and AAAA records, CNAMEs followed as resolvers do). */
function resolver(zone: Record<string, DnsRecord[]>, status: Record<string, number> = {}) {
  const asked: string[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    expect(`${url.origin}${url.pathname}`).toBe(RESOLVER);
    expect(new Headers(init?.headers).get("accept")).toBe("application/dns-json");
    const name = url.searchParams.get("name") ?? "";
    const type = Number(url.searchParams.get("type"));
    asked.push(`${name}/${type}`);
    if (name in status) return Response.json({ Status: status[name] });
    const answer = (zone[name] ?? []).filter((r) => r.type === type || r.type === 5);
    return Response.json({ Status: name in zone ? 0 : 3, ...(answer.length > 0 && { Answer: answer }) });
  }) as typeof globalThis.fetch;
  return { fetch, asked };
}
const a = (name: string, data: string, TTL = 300) => ({ name, type: 1, TTL, data });
const aaaa = (name: string, data: string, TTL = 300) => ({ name, type: 28, TTL, data });
const cname = (name: string, data: string) => ({ name, type: 5, TTL: 300, data });

describe("dohHostCheck", () => {
  it("lets a name with only public answers through, and refuses one with any private answer", async () => {
    const { fetch } = resolver({
      "ok.example.com": [
        a("ok.example.com", "93.184.215.14"),
        aaaa("ok.example.com", "2606:2800:21f:cb07::1"),
      ],
      "rebind.example.com": [a("rebind.example.com", "127.0.0.1")],
      "mixed.example.com": [a("mixed.example.com", "93.184.215.14"), a("mixed.example.com", "10.0.0.7")],
      "v6.example.com": [aaaa("v6.example.com", "::1")],
      "meta.example.com": [a("meta.example.com", "169.254.169.254")],
      "alias.example.com": [cname("alias.example.com", "inside.corp."), a("inside.corp.", "192.168.1.20")],
    });
    const check = dohHostCheck(RESOLVER, fetch);
    expect(await check("ok.example.com")).toBeNull();
    expect(await check("rebind.example.com")).toEqual({
      refused: "host rebind.example.com resolves to 127.0.0.1, which is not public",
    });
    expect(await check("mixed.example.com")).toEqual({
      refused: "host mixed.example.com resolves to 10.0.0.7, which is not public",
    });
    expect(await check("v6.example.com")).toEqual({
      refused: "host v6.example.com resolves to ::1, which is not public",
    });
    expect(await check("META.example.com.")).toMatchObject({
      refused: expect.stringContaining("169.254.169.254"),
    });
    expect(await check("alias.example.com")).toMatchObject({
      refused: expect.stringContaining("192.168.1.20"),
    });
  });

  it("refuses a name with no address (one only a private resolver would know)", async () => {
    const { fetch } = resolver({ "empty.example.com": [] });
    const check = dohHostCheck(RESOLVER, fetch);
    expect(await check("db.corp.example.com")).toEqual({
      refused: "host db.corp.example.com has no public address (it does not resolve)",
    });
    expect(await check("empty.example.com")).toMatchObject({
      refused: expect.stringContaining("no public address"),
    });
  });

  it("says the resolver failed (a retryable verdict) when it cannot answer, and asks again next time", async () => {
    const { fetch, asked } = resolver({}, { "down.example.com": 2 });
    const check = dohHostCheck(RESOLVER, fetch);
    expect(await check("down.example.com")).toEqual({ unavailable: "the resolver answered DNS status 2" });
    expect(await check("down.example.com")).toMatchObject({ unavailable: expect.any(String) });
    expect(asked).toHaveLength(4);
    const broken = dohHostCheck(RESOLVER, async () => new Response("nope", { status: 502 }));
    expect(await broken("x.example.com")).toEqual({ unavailable: "the resolver answered HTTP 502" });
    const unreachable = dohHostCheck(RESOLVER, async () => {
      throw new Error("connection refused");
    });
    expect(await unreachable("x.example.com")).toMatchObject({
      unavailable: expect.stringContaining("refused"),
    });
  });

  it("asks nothing for an address literal (target.ts judges those)", async () => {
    const { fetch, asked } = resolver({});
    const check = dohHostCheck(RESOLVER, fetch);
    expect(await check("93.184.215.14")).toBeNull();
    expect(await check("[2606:2800:21f:cb07::1]")).toBeNull();
    expect(asked).toEqual([]);
  });

  it("reuses a verdict for the answers' TTL (at most a minute), with its clock injected", async () => {
    const { fetch, asked } = resolver({
      "short.example.com": [a("short.example.com", "93.184.215.14", 5)],
      "long.example.com": [a("long.example.com", "127.0.0.1", 86_400)],
    });
    let now = 1_000_000;
    const check = dohHostCheck(RESOLVER, fetch, () => now);
    await check("short.example.com");
    await check("long.example.com");
    expect(asked).toHaveLength(4);
    now += 4_000;
    await check("short.example.com");
    await check("long.example.com");
    expect(asked).toHaveLength(4);
    now += 2_000;
    await check("short.example.com");
    expect(asked).toHaveLength(6);
    now += 60_000;
    expect(await check("long.example.com")).toMatchObject({ refused: expect.any(String) });
    expect(asked).toHaveLength(8);
  });
});
