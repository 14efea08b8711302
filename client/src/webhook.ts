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
 * The delivery's JSON body, once its signature checks out against one of `secrets` (during a rotation
 * both the old and the new secret are valid) and its timestamp is within five minutes; throws
 * otherwise. `rawBody` must be the bytes as received, before any JSON parsing.
 */
export function verifyWebhook(secrets: string | string[], rawBody: string, headers: WebhookHeaders): unknown {
  const record = headerRecord(headers);
  let lastError: unknown = new Error("no signing secret given");
  for (const secret of Array.isArray(secrets) ? secrets : [secrets]) {
    try {
      return new Webhook(secret).verify(rawBody, record);
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
