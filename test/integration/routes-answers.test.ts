// What the API answers outside its routes: `GET /` points the way, a known path with another method is
// a 405 with Allow, an unknown path a 404, all in the contract's envelope.
import { describe, expect, it } from "vitest";
import { allowedMethods } from "../../src/api/allowed-methods";
import { createUser, request } from "../support/helpers";

describe("GET /", () => {
  it("sends a browser to the dashboard and anything else the links", async () => {
    const browser = await request("/", {
      headers: { accept: "text/html,application/xhtml+xml" },
      redirect: "manual",
    });
    expect([browser.status, browser.headers.get("location")]).toEqual([302, "/dashboard"]);
    const api = await request("/");
    expect(api.status).toBe(200);
    expect(await api.json()).toEqual({
      dashboard: "/dashboard",
      docs: "/docs",
      openapi: "/v1/openapi.json",
      health: "/v1/health",
    });
  });
});

describe("a known path with another method", () => {
  it("is a 405 whose Allow names the methods the path takes", async () => {
    const user = await createUser();
    const put = await request("/v1/jobs", { method: "PUT", headers: user.auth, json: { type: "noop" } });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(((await put.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    const health = await request("/v1/health", { method: "DELETE" });
    expect([health.status, health.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    // Nothing was created by the refused PUT.
    const listed = await request("/v1/jobs", { headers: user.auth });
    expect(((await listed.json()) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it("is a 404 for a path no route has", async () => {
    const res = await request("/v1/nothing-here", { method: "PUT" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("reads the route table: parameters, and middleware left out", () => {
    const at = allowedMethods({
      routes: [
        { method: "ALL", path: "/v1/*", handler: () => undefined },
        { method: "GET", path: "/v1/jobs/:id", handler: () => undefined },
        { method: "POST", path: "/v1/jobs/:id/run", handler: () => undefined },
        { method: "DELETE", path: "/v1/jobs/:id", handler: () => undefined },
      ],
    } as never);
    expect(at("/v1/jobs/job_0_abc")).toEqual(["DELETE", "GET", "HEAD"]);
    expect(at("/v1/jobs/job_0_abc/run")).toEqual(["POST"]);
    expect(at("/v1/jobs/job_0_abc/nope")).toEqual([]);
  });
});

describe("a 401", () => {
  it("names the scheme (WWW-Authenticate: Bearer) and the form the API takes, for each usual mistake", async () => {
    const user = await createUser();
    const cases: [Record<string, string>, RegExp, string | null][] = [
      [{}, /Authorization: Bearer <api_key>/, null],
      [{ "x-api-key": user.api_key }, /X-API-Key is not read/, null],
      [{ authorization: user.api_key }, /must read `Bearer <api_key>`/, null],
      [{ authorization: `Token ${user.api_key}` }, /must read `Bearer <api_key>`/, null],
      [{ authorization: `Bearer ${user.api_key.slice(0, -2)}xx` }, /not accepted/, "invalid_token"],
    ];
    for (const [headers, message, error] of cases) {
      const res = await request("/v1/jobs", { headers: { ...headers, "cf-connecting-ip": "203.0.113.77" } });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      const challenge = res.headers.get("www-authenticate") ?? "";
      expect(challenge).toMatch(/^Bearer realm="edge-scheduler"/);
      expect(challenge.includes('error="invalid_token"')).toBe(error !== null);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.message).toMatch(message);
    }
    const admin = await request("/v1/admin/users");
    expect([admin.status, admin.headers.get("www-authenticate")]).toEqual([
      401,
      'Bearer realm="edge-scheduler"',
    ]);
    expect(((await admin.json()) as { error: { message: string } }).error.message).toContain(
      "Bearer <ADMIN_TOKEN>",
    );
  });
});
