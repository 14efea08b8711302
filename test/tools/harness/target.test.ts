import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { byRoute, startTarget, type Target } from "../../../tools/harness/target";
import { poll } from "../../../tools/harness/util";

const SECRET = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;

describe("the webhook target", () => {
  let target: Target | undefined;
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it("records each delivery with its headers, path and body, and answers 200", async () => {
    target = await startTarget();
    const res = await fetch(target.url("/hook?x=1"), {
      method: "POST",
      headers: { "webhook-id": "job_1:0", "content-type": "application/json" },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(target.deliveries).toHaveLength(1);
    expect(target.deliveries[0]).toMatchObject({
      method: "POST",
      url: "/hook?x=1",
      route: "/hook",
      webhookId: "job_1:0",
      body: '{"hello":"world"}',
      status: 200,
      hungUp: false,
      signature: null,
    });
    expect(target.deliveries[0]?.headers["content-type"]).toBe("application/json");
  });

  it("answers by route, can be told to fail, and changes its answer while running", async () => {
    target = await startTarget({ answer: byRoute({ "/ok": { status: 200 }, "/fail": { status: 500 } }) });
    const statusOf = async (route: string) => (await fetch(target?.url(route) ?? "")).status;
    expect(await statusOf("/ok")).toBe(200);
    expect(await statusOf("/fail")).toBe(500);
    expect(await statusOf("/other")).toBe(404);
    target.answerWith(() => ({ status: 503 }));
    expect(await statusOf("/ok")).toBe(503);
    expect(target.deliveries.map((d) => d.status)).toEqual([200, 500, 404, 503]);
  });

  it("delays its answer, and counts the requests in flight at once", async () => {
    target = await startTarget({ answer: () => ({ status: 200, afterMs: 150 }) });
    const started = Date.now();
    await Promise.all([1, 2, 3].map(() => fetch(target?.url("/slow") ?? "").then((r) => r.text())));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(target.maxInFlight()).toBe(3);
    expect(target.inFlight()).toBe(0);
    for (const d of target.deliveries) expect((d.answeredAt ?? 0) - d.at).toBeGreaterThanOrEqual(140);
    target.reset();
    expect(target.deliveries).toHaveLength(0);
    expect(target.maxInFlight()).toBe(0);
  });

  it("hangs past the caller's patience: the caller hangs up, and nothing is answered", async () => {
    target = await startTarget({ answer: () => ({ status: 200, afterMs: 60_000 }) });
    await expect(fetch(target.url("/hang"), { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    const hung = await poll(
      "the hang-up to be recorded",
      async () => target?.deliveries[0],
      (d) => d?.hungUp === true,
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(hung).toMatchObject({ status: null, answeredAt: null });
    expect(target.inFlight()).toBe(0);
  });

  it("verifies Standard Webhooks signatures with the secret it is given", async () => {
    target = await startTarget({ secretFor: (d) => (d.route === "/signed" ? SECRET : undefined) });
    const body = '{"u":0}';
    const id = "job_1:0";
    const now = new Date();
    const signed = {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new Webhook(SECRET).sign(id, now, body),
    };
    const post = (route: string, headers: Record<string, string>) =>
      fetch(target?.url(route) ?? "", { method: "POST", headers, body }).then((r) => r.text());
    await post("/signed", signed);
    await post("/signed", { ...signed, "webhook-id": "job_1:1" });
    await post("/unsigned", signed);
    expect(target.deliveries.map((d) => d.signature)).toEqual([true, false, null]);
  });
});
