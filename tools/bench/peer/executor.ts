// What the peer's BullMQ Worker does with a job: it runs the scheduler's own executor for the job's
// type (src/executors), so `http` jobs send the same request (Standard Webhooks headers, signature,
// `webhook-id` `<job id>:0`, redirects, body limit) and the target sees the same work from both
// systems. A failed outcome is thrown, and BullMQ retries the attempt with its own backoff.
import { getExecutor } from "../../../src/executors/registry";
import { isLoopbackUrl, type PeerJobData } from "./contract";

/** The peer's one signing secret (a fixed test value: the peer has no users). */
const SIGNING_SECRET = `whsec_${Buffer.from("bullmq-peer-signing-secret-0001").toString("base64")}`;

export async function execute(jobId: string, attempt: number, data: PeerJobData): Promise<unknown> {
  const executor = getExecutor(data.type);
  if (!executor) throw new Error(`unknown job type ${data.type}`);
  const url = (data.payload as { url?: unknown } | null)?.url;
  if (data.type === "http" && !(typeof url === "string" && isLoopbackUrl(url))) {
    throw new Error("the BullMQ peer calls 127.0.0.1 only");
  }
  const outcome = await executor.execute({
    jobId,
    occurrence: 0,
    attempt,
    payload: data.payload,
    timeoutMs: data.timeoutSeconds * 1000,
    signingSecrets: [SIGNING_SECRET],
    // Loopback only, checked above and at submit.
    allowPrivateTargets: true,
  });
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.result;
}
