import { describe, expect, it } from "vitest";
import { httpExecutor, httpPayloadSchema, httpPayloadTargetError } from "../../../src/executors/http";
import { noopExecutor } from "../../../src/executors/noop";
import { executors, getExecutor } from "../../../src/executors/registry";

describe("registry", () => {
  it("knows http and noop, and nothing else", () => {
    expect([...executors.keys()].sort()).toEqual(["http", "noop"]);
    expect(getExecutor("http")).toBe(httpExecutor);
    expect(getExecutor("noop")).toBe(noopExecutor);
    expect(getExecutor("shell")).toBeUndefined();
  });

  it("noop succeeds at once with a null result", async () => {
    const out = await noopExecutor.execute({
      jobId: "j",
      occurrence: 1,
      attempt: 1,
      payload: { anything: [1, 2] },
      timeoutMs: 1000,
      signingSecrets: ["whsec_AAAA"],
      allowPrivateTargets: false,
    });
    expect(out).toEqual({ ok: true, result: null });
    expect(noopExecutor.payloadSchema.safeParse(undefined).success).toBe(true);
  });
});

describe("http payload schema", () => {
  const ok = (p: unknown) => httpPayloadSchema.safeParse(p).success;

  it.each([
    { url: "https://example.com/hook" },
    { url: "http://localhost:8787/", method: "GET" },
    { url: "https://example.com/", method: "DELETE", body: { id: 1 } },
    {
      url: "https://example.com/",
      method: "PATCH",
      headers: { "X-Token": "abc", Accept: "*/*" },
      body: "raw",
    },
    { url: "https://example.com/", body: null },
    { url: "https://example.com/", body: [1, "two", { three: [true] }] },
    { url: `https://example.com/${"a".repeat(2000)}` },
  ])("accepts %j", (p) => {
    expect(ok(p)).toBe(true);
  });

  it.each([
    ["missing url", {}],
    ["unknown key", { url: "https://example.com/", timeout: 5 }],
    ["relative url", { url: "/hook" }],
    ["non-http scheme", { url: "ftp://example.com/" }],
    ["not a url", { url: "example.com" }],
    ["url too long", { url: `https://example.com/${"a".repeat(2040)}` }],
    ["lowercase method", { url: "https://example.com/", method: "post" }],
    ["HEAD", { url: "https://example.com/", method: "HEAD" }],
    ["GET with body", { url: "https://example.com/", method: "GET", body: { a: 1 } }],
    ["non-string header", { url: "https://example.com/", headers: { "x-n": 1 } }],
    ["CRLF in header value", { url: "https://example.com/", headers: { "x-a": "b\r\nx-evil: 1" } }],
    ["bad header name", { url: "https://example.com/", headers: { "bad name": "v" } }],
    ["runtime header", { url: "https://example.com/", headers: { Host: "internal" } }],
    ["huge header value", { url: "https://example.com/", headers: { "x-a": "v".repeat(9000) } }],
    [
      "too many headers",
      {
        url: "https://example.com/",
        headers: Object.fromEntries([...Array(65).keys()].map((i) => [`x-${i}`, "v"])),
      },
    ],
    ["non-JSON body", { url: "https://example.com/", body: () => 1 }],
  ])("rejects %s", (_, p) => {
    expect(ok(p)).toBe(false);
  });
});

describe("httpPayloadTargetError", () => {
  it("refuses private or plain-http targets unless allowed", () => {
    expect(httpPayloadTargetError({ url: "https://example.com/" }, false)).toBeNull();
    expect(httpPayloadTargetError({ url: "https://127.0.0.1/" }, false)).toEqual(expect.any(String));
    expect(httpPayloadTargetError({ url: "http://example.com/" }, false)).toEqual(expect.any(String));
    expect(httpPayloadTargetError({ url: "https://127.0.0.1/" }, true)).toBeNull();
    expect(httpPayloadTargetError({ url: "http://localhost:8787/" }, true)).toBeNull();
  });

  it("backs the executor's submitError hook", () => {
    expect(httpExecutor.submitError?.({ url: "https://10.0.0.1/" }, { allowPrivateTargets: false })).toMatch(
      /not public/,
    );
    expect(
      httpExecutor.submitError?.({ url: "https://10.0.0.1/" }, { allowPrivateTargets: true }),
    ).toBeNull();
    expect(noopExecutor.submitError).toBeUndefined();
  });

  it("reports an invalid payload instead of throwing", () => {
    expect(httpPayloadTargetError({ nope: 1 }, true)).toEqual(expect.any(String));
  });
});
