// The README's webhook verification snippet, run as it stands in the README (its import supplied)
// against requests the http executor signs: it must accept any body, JSON or not, and refuse a
// tampered one.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { httpExecutor } from "../../src/executors/http";

type Verify = (rawBody: string, headers: Record<string, string>, secret: string) => string;

/** The README's ```js block that defines verifyWebhook, as a function (Webhook passed in for its import). */
async function readmeSnippet(): Promise<Verify> {
  const readme = await readFile(path.join(import.meta.dirname, "../../README.md"), "utf8");
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? "")
    .find((code) => code.includes("function verifyWebhook"));
  if (!block) throw new Error("README.md has no ```js block defining verifyWebhook");
  const importLine = 'import { Webhook } from "standardwebhooks";';
  expect(block).toContain(importLine);
  const code = block.replace(importLine, "");
  return new Function("Webhook", `${code}\nreturn verifyWebhook;`)(Webhook) as Verify;
}

/** What the http executor sends for `body`: the raw body text and the headers, as a target sees them. */
async function signedRequest(secret: string, body: unknown) {
  let sent: { body: string; headers: Record<string, string> } | undefined;
  const outcome = await httpExecutor.execute({
    jobId: "job_0_readme",
    occurrence: 0,
    attempt: 1,
    payload: { url: "https://example.com/hook", body },
    timeoutMs: 5_000,
    signingSecrets: [secret],
    allowPrivateTargets: false,
    fetch: async (_url, init) => {
      sent = { body: String(init?.body), headers: Object.fromEntries(new Headers(init?.headers)) };
      return new Response("ok");
    },
  });
  expect(outcome.ok).toBe(true);
  if (!sent) throw new Error("nothing was sent");
  return sent;
}

describe("the README's signature verification snippet", () => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;

  it("accepts a plain-text body and a JSON body as they arrived", async () => {
    const verifyWebhook = await readmeSnippet();
    for (const body of ["plain text, not JSON: a,b;c", { hello: "world", n: [1, 2] }]) {
      const req = await signedRequest(secret, body);
      expect(verifyWebhook(req.body, req.headers, secret)).toBe(req.body);
    }
  });

  it("refuses a tampered body and a wrong secret", async () => {
    const verifyWebhook = await readmeSnippet();
    const req = await signedRequest(secret, "pay 10");
    expect(() => verifyWebhook("pay 1000", req.headers, secret)).toThrow();
    const other = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => verifyWebhook(req.body, req.headers, other)).toThrow();
  });

  it("is needed: the library's default form throws on an authentic non-JSON body", async () => {
    const req = await signedRequest(secret, "plain text");
    expect(() => new Webhook(secret).verify(req.body, req.headers)).toThrow(SyntaxError);
  });
});
