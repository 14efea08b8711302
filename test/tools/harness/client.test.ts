import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../../../tools/harness/client";
import { startTarget, type Target } from "../../../tools/harness/target";
import { freePort } from "../../../tools/harness/util";

describe("the JSON client", () => {
  let target: Target | undefined;
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it("sends the token and body, and parses a JSON answer", async () => {
    target = await startTarget();
    const api = new ApiClient(target.url(""));
    const reply = await api.request<{ ok: boolean }>("POST", "/v1/jobs", { token: "sk_1", body: { a: 1 } });
    expect(reply).toMatchObject({ status: 200, body: { ok: true }, tries: 1 });
    expect(target.deliveries[0]?.headers.authorization).toBe("Bearer sk_1");
    expect(JSON.parse(target.deliveries[0]?.body ?? "")).toEqual({ a: 1 });
  });

  it("expect throws on a status it was not told to expect", async () => {
    target = await startTarget({ answer: () => ({ status: 409 }) });
    const api = new ApiClient(target.url(""));
    await expect(api.expect([200], "DELETE", "/v1/jobs/j")).rejects.toThrow("DELETE /v1/jobs/j → 409");
  });

  it("call retries 5xx until an answer it can judge, counting each", async () => {
    let served = 0;
    target = await startTarget({ answer: () => ({ status: ++served <= 2 ? 500 : 201 }) });
    const api = new ApiClient(target.url(""));
    const reply = await api.call("POST", "/v1/jobs", { retryForMs: 10_000 });
    expect(reply).toMatchObject({ status: 201, tries: 3 });
    expect(api.stats).toMatchObject({ requests: 3, serverErrors: 2, networkErrors: 0 });
  });

  it("call gives up at its deadline, saying what it last saw", async () => {
    const api = new ApiClient(`http://127.0.0.1:${await freePort()}`);
    await expect(api.call("GET", "/v1/health", { retryForMs: 300 })).rejects.toThrow(
      /gave up after \d+ tries/,
    );
    expect(api.stats.networkErrors).toBeGreaterThan(0);
  });

  it("asks for no compression, and reuses its connection", async () => {
    target = await startTarget();
    const api = new ApiClient(target.url(""));
    await api.request("GET", "/a");
    await api.request("GET", "/b");
    expect(target.deliveries.map((d) => d.headers["accept-encoding"])).toEqual([undefined, undefined]);
    expect(target.deliveries.map((d) => d.headers.connection)).toEqual(["keep-alive", "keep-alive"]);
  });

  it("gives up on an answer that does not come in time, as a TimeoutError", async () => {
    target = await startTarget({ answer: () => ({ status: 200, afterMs: 5_000 }) });
    const api = new ApiClient(target.url(""), { timeoutMs: 200 });
    await expect(api.request("GET", "/slow")).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("sends again on a fresh connection when a kept-alive one turns out closed", async () => {
    // A server that drops a connection at its second request, as one that closed it while idle does.
    const seen = new WeakMap<object, number>();
    let answered = 0;
    const server = http.createServer((req, res) => {
      const n = (seen.get(req.socket) ?? 0) + 1;
      seen.set(req.socket, n);
      if (n > 1) return req.socket.destroy();
      answered++;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ n: answered }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const api = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect((await api.request("POST", "/v1/jobs", { body: {} })).body).toEqual({ n: 1 });
      expect((await api.request("POST", "/v1/jobs", { body: {} })).body).toEqual({ n: 2 });
      expect(answered).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("sends traffic to 127.0.0.1 only", () => {
    expect(() => new ApiClient("http://example.com")).toThrow(/127\.0\.0\.1 only/);
  });
});
