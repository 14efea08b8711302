import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { version } from "../../../package.json";
import { httpExecutor, USER_AGENT } from "../../../src/executors/http";
import type { ExecutionInput } from "../../../src/executors/types";

const SECRET = `whsec_${btoa("a-32-byte-secret-for-these-tests")}`;

interface Call {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  redirect: string | undefined;
  signal: AbortSignal | undefined;
}

function fakeFetch(respond: (call: Call, index: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: init?.body as string | undefined,
      redirect: init?.redirect,
      signal: init?.signal ?? undefined,
    };
    calls.push(call);
    return respond(call, calls.length - 1);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function run(payload: unknown, fetch: typeof globalThis.fetch, over: Partial<ExecutionInput> = {}) {
  return httpExecutor.execute({
    jobId: "job_1",
    occurrence: 3,
    attempt: 1,
    payload,
    timeoutMs: 5000,
    signingSecrets: [SECRET],
    allowPrivateTargets: false,
    fetch,
    ...over,
  });
}

const verify = (c: Call) => new Webhook(SECRET).verify(c.body ?? "", Object.fromEntries(c.headers));
const redirect = (status: number, location: string) => new Response(null, { status, headers: { location } });
const TARGET = "https://hooks.example.com/in";

describe("signing", () => {
  it("signs id.timestamp.body so standardwebhooks verifies it", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const out = await run({ url: TARGET, body: { a: 1 } }, fetch);
    expect(out.ok).toBe(true);
    const [c] = calls as [Call];
    expect(c.method).toBe("POST");
    expect(c.body).toBe('{"a":1}');
    expect(c.headers.get("content-type")).toBe("application/json");
    expect(c.headers.get("webhook-id")).toBe("job_1:3");
    expect(Math.abs(Number(c.headers.get("webhook-timestamp")) - Date.now() / 1000)).toBeLessThan(5);
    expect(c.headers.get("webhook-signature")).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verify(c)).toEqual({ a: 1 });
  });

  it("names the scheduler and its version in User-Agent, unless the job sets its own", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    await run({ url: TARGET }, fetch);
    await run({ url: TARGET, headers: { "User-Agent": "partner-client/2" } }, fetch);
    expect(USER_AGENT).toBe(`edge-scheduler/${version}`);
    expect(USER_AGENT).toMatch(/^edge-scheduler\/\d+\.\d+\.\d+/);
    expect(calls.map((c) => c.headers.get("user-agent"))).toEqual([USER_AGENT, "partner-client/2"]);
  });

  it("uses the injected clock for the timestamp", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const at = 1_700_000_000_500;
    await run({ url: TARGET, body: "x" }, fetch, { now: () => at });
    const [c] = calls as [Call];
    expect(c.headers.get("webhook-timestamp")).toBe("1700000000");
    expect(c.headers.get("webhook-signature")).toBe(new Webhook(SECRET).sign("job_1:3", new Date(at), "x"));
  });

  it("keeps webhook-id stable across attempts of one occurrence", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    await run({ url: TARGET }, fetch, { attempt: 1 });
    await run({ url: TARGET }, fetch, { attempt: 2 });
    await run({ url: TARGET }, fetch, { occurrence: 4 });
    expect(calls.map((c) => c.headers.get("webhook-id"))).toEqual(["job_1:3", "job_1:3", "job_1:4"]);
  });

  it("does not let user headers override webhook headers", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const headers = {
      "Webhook-Id": "evil",
      "webhook-signature": "v1,Zm9yZ2Vk",
      "WEBHOOK-TIMESTAMP": "1",
      "x-custom": "yes",
    };
    await run({ url: TARGET, headers, body: { a: 1 } }, fetch);
    const [c] = calls as [Call];
    expect(c.headers.get("webhook-id")).toBe("job_1:3");
    expect(c.headers.get("webhook-signature")).not.toContain("Zm9yZ2Vk");
    expect(c.headers.get("x-custom")).toBe("yes");
    expect(verify(c)).toEqual({ a: 1 });
  });

  it("sends a string body as is and keeps a user content-type", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    await run({ url: TARGET, method: "PUT", body: "a=1&b=2" }, fetch);
    await run({ url: TARGET, body: [1], headers: { "Content-Type": "application/vnd.api+json" } }, fetch);
    expect(calls[0]?.body).toBe("a=1&b=2");
    expect(calls[0]?.method).toBe("PUT");
    expect(calls[0]?.headers.get("content-type")).toBeNull();
    expect(calls[1]?.body).toBe("[1]");
    expect(calls[1]?.headers.get("content-type")).toBe("application/vnd.api+json");
  });

  it("sends no body for GET/DELETE without one and signs the empty string", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    await run({ url: TARGET, method: "GET" }, fetch);
    await run({ url: TARGET, method: "DELETE" }, fetch);
    for (const c of calls) {
      expect(c.body).toBeUndefined();
      expect(c.headers.get("content-type")).toBeNull();
      expect(() => verify(c)).not.toThrow();
    }
  });

  it("signs with every live secret during a rotation, so either verifies", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const newer = `whsec_${btoa("another-32-byte-secret-for-tests")}`;
    await run({ url: TARGET, body: { a: 1 } }, fetch, { signingSecrets: [newer, SECRET] });
    const [c] = calls as [Call];
    expect(c.headers.get("webhook-signature")?.split(" ")).toHaveLength(2);
    const headers = Object.fromEntries(c.headers);
    expect(() => new Webhook(newer).verify(c.body ?? "", headers)).not.toThrow();
    expect(() => new Webhook(SECRET).verify(c.body ?? "", headers)).not.toThrow();
    expect(() =>
      new Webhook(`whsec_${btoa("a-third-secret-nobody-signed-with")}`).verify(c.body ?? "", headers),
    ).toThrow();
  });

  it("refuses to send unsigned", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    expect(await run({ url: TARGET }, fetch, { signingSecrets: [] })).toMatchObject({ ok: false });
    expect(calls).toHaveLength(0);
  });

  it("fails without throwing on an unusable signing secret", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const out = await run({ url: TARGET }, fetch, { signingSecrets: ["whsec_"] });
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/sign/) });
    expect(calls).toHaveLength(0);
  });
});

describe("trace context", () => {
  const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const trace = (calls: Call[]) =>
    calls.map((c) => [c.headers.get("traceparent"), c.headers.get("tracestate")]);

  it("sends the job's traceparent and tracestate as kept, on every redirect hop", async () => {
    const { fetch, calls } = fakeFetch((_c, i) =>
      i === 0 ? redirect(307, "https://other.example.com/in") : new Response("ok"),
    );
    const out = await run({ url: TARGET }, fetch, {
      trace: { traceparent: TRACEPARENT, tracestate: "congo=1" },
    });
    expect(out.ok).toBe(true);
    expect(trace(calls)).toEqual([
      [TRACEPARENT, "congo=1"],
      [TRACEPARENT, "congo=1"],
    ]);
  });

  it("replaces the payload's own trace headers, its tracestate too when the job kept none", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const headers = {
      traceparent: "00-11111111111111111111111111111111-2222222222222222-00",
      tracestate: "own=1",
    };
    await run({ url: TARGET, headers }, fetch, {
      trace: { traceparent: TRACEPARENT, tracestate: "congo=1" },
    });
    await run({ url: TARGET, headers }, fetch, { trace: { traceparent: TRACEPARENT, tracestate: null } });
    expect(trace(calls)).toEqual([
      [TRACEPARENT, "congo=1"],
      [TRACEPARENT, null],
    ]);
  });

  it("adds nothing without a trace context, and leaves the payload's own headers alone", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    await run({ url: TARGET }, fetch);
    await run({ url: TARGET }, fetch, { trace: { traceparent: null, tracestate: null } });
    await run({ url: TARGET, headers: { traceparent: "mine", tracestate: "own=1" } }, fetch, {
      trace: { traceparent: null, tracestate: null },
    });
    expect(trace(calls)).toEqual([
      [null, null],
      [null, null],
      ["mine", "own=1"],
    ]);
  });
});

describe("responses", () => {
  it("returns status and body on 2xx", async () => {
    const { fetch } = fakeFetch(() => new Response("created", { status: 201 }));
    expect(await run({ url: TARGET }, fetch)).toEqual({
      ok: true,
      result: { status: 201, body: "created", truncated: false },
    });
  });

  it("truncates the body at 8 KiB", async () => {
    const big = fakeFetch(() => new Response("x".repeat(20_000)));
    expect(await run({ url: TARGET }, big.fetch)).toEqual({
      ok: true,
      result: { status: 200, body: "x".repeat(8192), truncated: true },
    });
    const exact = fakeFetch(() => new Response("y".repeat(8192)));
    expect(await run({ url: TARGET }, exact.fetch)).toMatchObject({ result: { truncated: false } });
  });

  it("does not split a multi-byte character at the limit", async () => {
    const { fetch } = fakeFetch(() => new Response(`a${"é".repeat(5000)}`));
    const out = await run({ url: TARGET }, fetch);
    const body = (out as { result: { body: string } }).result.body;
    expect(body).toBe(`a${"é".repeat(4095)}`);
  });

  it("stops reading an endless body and cancels it", async () => {
    let pulls = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(1024).fill(65));
      },
      cancel() {
        cancelled = true;
      },
    });
    const { fetch } = fakeFetch(() => new Response(stream));
    const out = await run({ url: TARGET }, fetch);
    expect(out).toMatchObject({ ok: true, result: { truncated: true } });
    expect(pulls).toBeLessThan(20);
    expect(cancelled).toBe(true);
  });

  it("fails on 500 without a retry hint", async () => {
    const { fetch } = fakeFetch(() => new Response("boom", { status: 500, headers: { "retry-after": "5" } }));
    expect(await run({ url: TARGET }, fetch)).toEqual({
      ok: false,
      error: "HTTP 500: boom",
      httpStatus: 500,
    });
  });

  it("fails on 404 and on a 3xx without Location", async () => {
    const a = fakeFetch(() => new Response(null, { status: 404 }));
    expect(await run({ url: TARGET }, a.fetch)).toEqual({ ok: false, error: "HTTP 404", httpStatus: 404 });
    const b = fakeFetch(() => new Response(null, { status: 302 }));
    expect(await run({ url: TARGET }, b.fetch)).toEqual({ ok: false, error: "HTTP 302", httpStatus: 302 });
  });

  const now = 1_700_000_000_000;
  it.each([
    [429, "120", 120_000],
    [503, "0", 0],
    [503, new Date(now + 90_000).toUTCString(), 90_000],
    [429, new Date(now - 60_000).toUTCString(), 0],
    [429, "soon", undefined],
    [429, null, undefined],
  ])("maps %i with Retry-After %s to retryAfterMs %s", async (status, header, expected) => {
    const headers: Record<string, string> = header === null ? {} : { "retry-after": header };
    const { fetch } = fakeFetch(() => new Response("slow down", { status, headers }));
    const out = await run({ url: TARGET }, fetch, { now: () => now });
    const error = `HTTP ${status}: slow down`;
    const failure = { ok: false, error, httpStatus: status };
    expect(out).toEqual(expected === undefined ? failure : { ...failure, retryAfterMs: expected });
  });

  it("fails on a network error, naming the host and what the runtime's error can mean", async () => {
    const lost = fakeFetch(() => Promise.reject(new Error("Network connection lost.")));
    expect(await run({ url: TARGET }, lost.fetch)).toEqual({
      ok: false,
      error: "could not connect to hooks.example.com: the connection was refused or closed before a response",
    });
    // DNS and TLS failures reach the Worker only as workerd's opaque reference.
    const opaque = fakeFetch(() => Promise.reject(new Error("internal error; reference = abc123")));
    const out = await run({ url: TARGET }, opaque.fetch);
    expect(out).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^could not reach hooks\.example\.com: /),
    });
    expect(out.ok ? "" : out.error).toMatch(/did not resolve, the TLS handshake failed .*reference abc123/);
    expect(out).not.toHaveProperty("permanent");
    const other = fakeFetch(() => Promise.reject(new TypeError("Invalid header")));
    expect(await run({ url: TARGET }, other.fetch)).toEqual({
      ok: false,
      error: "request to hooks.example.com failed: Invalid header",
    });
  });

  it("names the host of the redirect hop that failed", async () => {
    const { fetch } = fakeFetch((_, i) =>
      i === 0
        ? redirect(302, "https://next.example.com/")
        : Promise.reject(new Error("Network connection lost.")),
    );
    expect(await run({ url: TARGET }, fetch)).toMatchObject({
      error: expect.stringMatching(/^could not connect to next\.example\.com: /),
    });
  });
});

describe("timeout", () => {
  it("aborts a request that does not answer in time", async () => {
    const { fetch, calls } = fakeFetch(
      (c) =>
        new Promise<Response>((_, reject) => {
          c.signal?.addEventListener("abort", () => reject(c.signal?.reason));
        }),
    );
    const out = await run({ url: TARGET }, fetch, { timeoutMs: 50 });
    expect(out).toEqual({ ok: false, error: "request timed out after 50 ms", timedOut: true });
    expect(calls[0]?.signal?.aborted).toBe(true);
  });

  it("times out even when fetch ignores the signal", async () => {
    const { fetch } = fakeFetch(() => new Promise<Response>(() => {}));
    expect(await run({ url: TARGET }, fetch, { timeoutMs: 50 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/timed out/),
      timedOut: true,
    });
  });

  it("covers reading a body that stalls", async () => {
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("partial"));
      },
    });
    const { fetch } = fakeFetch(() => new Response(stalled));
    expect(await run({ url: TARGET }, fetch, { timeoutMs: 50 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/timed out/),
      timedOut: true,
    });
  });
});

describe("targets and redirects", () => {
  it("refuses a disallowed target without calling it", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    for (const url of ["https://127.0.0.1/", "http://example.com/", "https://[::1]/"]) {
      expect(await run({ url }, fetch)).toMatchObject({
        ok: false,
        error: expect.stringMatching(/refused/),
        permanent: true,
      });
    }
    expect(calls).toHaveLength(0);
  });

  it("allows http and private targets when allowPrivateTargets is set", async () => {
    const { fetch, calls } = fakeFetch((_, i) =>
      i === 0 ? redirect(302, "http://10.0.0.5/next") : new Response("ok"),
    );
    const out = await run({ url: "http://localhost:8787/" }, fetch, { allowPrivateTargets: true });
    expect(out.ok).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(["http://localhost:8787/", "http://10.0.0.5/next"]);
  });

  it("refuses a redirect to a private address", async () => {
    for (const location of [
      "https://169.254.169.254/latest/meta-data/",
      "https://2130706433/",
      "http://example.com/",
      "https://localhost/",
    ]) {
      const { fetch, calls } = fakeFetch(() => redirect(302, location));
      const out = await run({ url: TARGET }, fetch);
      expect(out).toMatchObject({
        ok: false,
        error: expect.stringMatching(/^redirect to .* refused/),
        permanent: true,
      });
      expect(calls).toHaveLength(1);
    }
  });

  it("follows up to 5 redirects, with manual redirect mode and the same webhook headers", async () => {
    const { fetch, calls } = fakeFetch((_, i) =>
      i < 5 ? redirect(307, `/hop${i + 1}`) : new Response("end"),
    );
    const out = await run({ url: TARGET, body: { a: 1 } }, fetch);
    expect(out).toMatchObject({ ok: true, result: { body: "end" } });
    expect(calls.map((c) => c.url)).toEqual([
      TARGET,
      ...[1, 2, 3, 4, 5].map((n) => `https://hooks.example.com/hop${n}`),
    ]);
    const signature = calls[0]?.headers.get("webhook-signature");
    for (const c of calls) {
      expect(c.redirect).toBe("manual");
      expect(c.method).toBe("POST");
      expect(c.body).toBe('{"a":1}');
      expect(c.headers.get("webhook-signature")).toBe(signature);
    }
  });

  it("refuses a chain of more than 5 redirects", async () => {
    const { fetch, calls } = fakeFetch((_, i) => redirect(302, `/hop${i + 1}`));
    const out = await run({ url: TARGET, method: "GET" }, fetch);
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/too many redirects/) });
    expect(calls).toHaveLength(6);
  });

  it("turns a 303 into a GET without body", async () => {
    const { fetch, calls } = fakeFetch((_, i) =>
      i === 0 ? redirect(303, "https://other.example.com/done") : new Response("ok"),
    );
    await run({ url: TARGET, method: "PUT", body: { a: 1 } }, fetch);
    const second = calls[1] as Call;
    expect(second.method).toBe("GET");
    expect(second.body).toBeUndefined();
    expect(second.headers.get("content-type")).toBeNull();
    expect(second.headers.get("webhook-id")).toBe("job_1:3");
  });

  it("keeps method and body on 307/308", async () => {
    for (const status of [307, 308]) {
      const { fetch, calls } = fakeFetch((_, i) =>
        i === 0 ? redirect(status, "/moved") : new Response("ok"),
      );
      await run({ url: TARGET, method: "PATCH", body: "raw" }, fetch);
      expect(calls[1]).toMatchObject({ method: "PATCH", body: "raw" });
    }
  });

  it("drops credentials on a cross-origin redirect only", async () => {
    const { fetch, calls } = fakeFetch((_, i) =>
      i === 0
        ? redirect(307, "/same")
        : i === 1
          ? redirect(307, "https://else.example.org/")
          : new Response(""),
    );
    await run({ url: TARGET, headers: { Authorization: "Bearer t", "x-keep": "1" } }, fetch);
    expect(calls.map((c) => c.headers.get("authorization"))).toEqual(["Bearer t", "Bearer t", null]);
    expect(calls[2]?.headers.get("x-keep")).toBe("1");
  });
});

describe("payload", () => {
  it("fails an invalid payload without calling fetch", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const out = await run({ url: TARGET, extra: true }, fetch);
    expect(out).toMatchObject({
      ok: false,
      error: expect.stringMatching(/invalid payload/),
      permanent: true,
    });
    expect(calls).toHaveLength(0);
  });
});

describe("hosts by name (TARGET_DNS_CHECK: checkHost)", () => {
  /** A check that refuses the hosts named, as the resolver check would for a private answer. */
  const refusing =
    (...hosts: string[]) =>
    async (host: string) =>
      hosts.includes(host) ? { refused: `host ${host} resolves to 127.0.0.1, which is not public` } : null;

  it("refuses a target whose name is refused, permanently, without calling it", async () => {
    const { fetch, calls } = fakeFetch(() => new Response("ok"));
    const out = await run({ url: "https://rebind.example.com:8443/x" }, fetch, {
      checkHost: refusing("rebind.example.com"),
    });
    expect(out).toEqual({
      ok: false,
      error: "target refused: host rebind.example.com resolves to 127.0.0.1, which is not public",
      permanent: true,
    });
    expect(calls).toEqual([]);
  });

  it("checks every redirect hop: a 307 to a refused name is not followed (its POST body not re-sent)", async () => {
    const { fetch, calls } = fakeFetch((_c, i) =>
      i === 0 ? redirect(307, "https://rebind.example.com/steal") : new Response("ok"),
    );
    const checked: string[] = [];
    const out = await run({ url: TARGET, body: { secret: 1 } }, fetch, {
      checkHost: async (host) => {
        checked.push(host);
        return refusing("rebind.example.com")(host);
      },
    });
    expect(out).toMatchObject({
      ok: false,
      permanent: true,
      error:
        "redirect to https://rebind.example.com/steal refused: host rebind.example.com resolves to 127.0.0.1, which is not public",
    });
    expect(calls.map((c) => c.url)).toEqual([TARGET]);
    expect(checked).toEqual(["hooks.example.com", "rebind.example.com"]);
  });

  it("follows hops whose names pass, and retries (not permanent) when the resolver cannot answer", async () => {
    const { fetch, calls } = fakeFetch((_c, i) =>
      i === 0 ? redirect(302, "https://next.example.com/in") : new Response("ok"),
    );
    expect((await run({ url: TARGET }, fetch, { checkHost: async () => null })).ok).toBe(true);
    expect(calls).toHaveLength(2);
    const out = await run({ url: TARGET }, fetch, {
      checkHost: async () => ({ unavailable: "the resolver answered HTTP 502" }),
    });
    expect(out).toEqual({
      ok: false,
      error: `could not check the host of ${TARGET}: the resolver answered HTTP 502`,
    });
  });
});
