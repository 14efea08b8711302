// verifyWebhook against deliveries signed the way the scheduler signs them (standardwebhooks' sign).
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { deliveryOf, verifyWebhook } from "../../../client/src/webhook";

const SECRET = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
const OTHER = `whsec_${Buffer.from("fedcba9876543210fedcba9876543210").toString("base64")}`;

function signed(body: string, secret = SECRET, at = new Date()) {
  const id = "job_0_abc:3";
  const signature = new Webhook(secret).sign(id, at, body);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signature,
  };
}

describe("verifyWebhook", () => {
  const body = JSON.stringify({ hello: "world" });

  it("returns the raw body of a delivery signed with the secret, from a record or Headers", () => {
    const headers = signed(body);
    expect(verifyWebhook(body, headers, SECRET)).toBe(body);
    expect(verifyWebhook(body, new Headers(headers), SECRET)).toBe(body);
  });

  it("verifies a body that is not JSON", () => {
    expect(verifyWebhook("plain text", signed("plain text"), SECRET)).toBe("plain text");
    expect(() => verifyWebhook("plain text!", signed("plain text"), SECRET)).toThrow();
  });

  it("accepts any of the secrets valid during a rotation", () => {
    expect(verifyWebhook(body, signed(body), [OTHER, SECRET])).toBe(body);
  });

  it("refuses a changed body, another secret, a stale timestamp and missing headers", () => {
    const headers = signed(body);
    expect(() => verifyWebhook(body.replace("world", "w0rld"), headers, SECRET)).toThrow();
    expect(() => verifyWebhook(body, headers, OTHER)).toThrow();
    const stale = signed(body, SECRET, new Date(Date.now() - 10 * 60_000));
    expect(() => verifyWebhook(body, stale, SECRET)).toThrow();
    expect(() => verifyWebhook(body, {}, SECRET)).toThrow();
    expect(() => verifyWebhook(body, headers, [])).toThrow("no signing secret");
  });

  it("reads the job and occurrence from webhook-id", () => {
    expect(deliveryOf(signed(body))).toEqual({ jobId: "job_0_abc", occurrence: 3 });
    expect(() => deliveryOf({ "webhook-id": "nonsense" })).toThrow("not a scheduler webhook-id");
  });
});
