// What the peer's BullMQ Worker does with a job: `noop` succeeds at once; `http` calls the payload's
// URL (127.0.0.1 only) with the Standard Webhooks headers the scheduler's executor sends, so the target
// sees the same request and the same `webhook-id` (`<job id>:0`) from both systems. A throw fails the
// attempt, and BullMQ retries it with its own backoff.
import { Webhook } from "standardwebhooks";
import { httpPayloadSchema } from "../../src/executors/http-payload";
import { isLoopbackUrl, type PeerJobData, webhookId } from "./contract";

const BODY_LIMIT = 8 * 1024;

/** The peer's one signing secret (a fixed test value: the peer has no users). */
const SIGNER = new Webhook(`whsec_${Buffer.from("bullmq-peer-signing-secret-0001").toString("base64")}`);

export async function execute(jobId: string, data: PeerJobData): Promise<unknown> {
  if (data.type === "noop") return null;
  const payload = httpPayloadSchema.parse(data.payload);
  if (!isLoopbackUrl(payload.url)) throw new Error("the BullMQ peer calls 127.0.0.1 only");
  const body =
    payload.body === undefined || typeof payload.body === "string"
      ? payload.body
      : JSON.stringify(payload.body);
  const headers = new Headers(payload.headers);
  if (body !== undefined && typeof payload.body !== "string" && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  const id = webhookId(jobId);
  const sentAt = new Date();
  headers.set("webhook-id", id);
  headers.set("webhook-timestamp", String(Math.floor(sentAt.getTime() / 1000)));
  headers.set("webhook-signature", SIGNER.sign(id, sentAt, body ?? ""));
  const res = await fetch(payload.url, {
    method: payload.method ?? "POST",
    headers,
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(data.timeoutSeconds * 1000),
  });
  const text = (await res.text()).slice(0, BODY_LIMIT);
  if (res.status < 200 || res.status > 299) throw new Error(`target answered ${res.status}`);
  return { status: res.status, body: text };
}
