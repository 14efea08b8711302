// Verifying a delivery from the scheduler: Standard Webhooks (HMAC-SHA256 of "id.timestamp.body" with
// the user's signing secret), through the `standardwebhooks` package.
import { Webhook } from "standardwebhooks";

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function headerRecord(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/**
 * The delivery's raw body, once its signature checks out against one of `secrets` (during a rotation
 * both the old and the new secret are valid) and its timestamp is within five minutes; throws
 * otherwise. `rawBody` must be the body as received, before any parsing. Any body verifies, JSON or
 * not: parse it after this returns. (The same contract as the README's plain-JS verifyWebhook.)
 */
export function verifyWebhook(rawBody: string, headers: WebhookHeaders, secrets: string | string[]): string {
  const record = headerRecord(headers);
  let lastError: unknown = new Error("no signing secret given");
  for (const secret of Array.isArray(secrets) ? secrets : [secrets]) {
    try {
      // jsonParse: false, or verify() JSON.parses the body after checking it and throws on a non-JSON one.
      new Webhook(secret).verify(rawBody, record, { jsonParse: false });
      return rawBody;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** The webhook-id header: `<job id>:<occurrence>`, the same on every retry of one occurrence. */
export function deliveryOf(headers: WebhookHeaders): { jobId: string; occurrence: number } {
  const id = headerRecord(headers)["webhook-id"] ?? "";
  const at = id.lastIndexOf(":");
  const occurrence = Number(id.slice(at + 1));
  if (at <= 0 || !Number.isInteger(occurrence))
    throw new Error(`not a scheduler webhook-id: ${JSON.stringify(id)}`);
  return { jobId: id.slice(0, at), occurrence };
}
