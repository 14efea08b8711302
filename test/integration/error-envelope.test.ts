// app.onError: every failure becomes the contract's envelope, and keeps the status it was thrown with.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handleError } from "../../src/api/app";
import type { AppEnv } from "../../src/api/auth";
import { RateLimitedError } from "../../src/api/errors";

afterEach(() => {
  vi.restoreAllMocks();
});

/** An app whose one route throws `err`, with the real error handler. */
async function thrown(err: unknown) {
  const probe = new Hono<AppEnv>();
  probe.get("/", () => {
    throw err;
  });
  probe.onError(handleError);
  const res = await probe.request("/");
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe("the error envelope", () => {
  it("keeps a framework exception's own status below 500, with the contract's code", async () => {
    expect(await thrown(new HTTPException(401, { message: "no entry" }))).toMatchObject({
      status: 401,
      body: { error: { code: "unauthorized", message: "no entry" } },
    });
    expect(await thrown(new HTTPException(413, { message: "too big" }))).toMatchObject({
      status: 413,
      body: { error: { code: "payload_too_large", message: "too big" } },
    });
    expect(await thrown(new HTTPException(405, { message: "no such method" }))).toMatchObject({
      status: 405,
      body: { error: { code: "method_not_allowed", message: "no such method" } },
    });
  });

  it("answers an ApiError with its status, code and headers", async () => {
    const res = await thrown(new RateLimitedError(7));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.body).toEqual({ error: { code: "rate_limited", message: "too many requests" } });
  });

  it("hides an unexpected failure behind 500 (or the exception's 5xx) and logs unhandled_error", async () => {
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      logged.push(String(line));
    });
    expect(await thrown(new Error("secret detail"))).toMatchObject({
      status: 500,
      body: { error: { code: "internal", message: "internal error" } },
    });
    expect(await thrown(new HTTPException(503, { message: "upstream detail" }))).toMatchObject({
      status: 503,
      body: { error: { code: "internal", message: "internal error" } },
    });
    expect(logged.map((l) => JSON.parse(l) as { event: string; error: { message: string } })).toEqual([
      expect.objectContaining({
        event: "unhandled_error",
        error: { name: "Error", message: "secret detail" },
      }),
      expect.objectContaining({
        event: "unhandled_error",
        error: expect.objectContaining({ message: "upstream detail" }),
      }),
    ]);
  });
});
