// Callback messages (docs/design.md `callback_url`): POST a finished occurrence's job object with the http
// executor (the same Standard Webhooks signature, target rules and redirect handling as an http job),
// then report the try to the shard, which clears the callback or schedules its next try. A callback
// never reports to the job itself, so its fate cannot change the job's outcome.
import { configOf } from "../config";
import { CALLBACK_TIMEOUT_MS, type CallbackTry } from "../core/callback-policy";
import type { CallbackMessage } from "../dispatch/message";
import type { Env } from "../env";
import { configuredHostCheck } from "../executors/host-check";
import { httpExecutor } from "../executors/http";
import { targetError } from "../executors/target";
import { log } from "../log";
import type { BeginCallbackResult, CallbackDelivery, CallbackRef, TaskShardRpc } from "../shard/rpc";
import { perShard, type ShardItem } from "./per-shard";
import type { BatchSecrets } from "./secrets";
import { withTries } from "./tries";

const REPORT_TRIES = 3;

export type CallbackItem = ShardItem<CallbackMessage>;

/** The webhook-id of an occurrence's callback: stable across its tries, distinct from the job's own calls. */
export function callbackWebhookId(jobId: string, occurrence: number): string {
  return `${jobId}:${occurrence}:callback`;
}

const refOf = (msg: CallbackMessage): CallbackRef => ({
  jobId: msg.job_id,
  occurrence: msg.occurrence,
  attempt: msg.attempt,
});

/** One beginCallbacks request per shard, then each try on its own; each message acked or retried alone. */
export function handleCallbacks(env: Env, items: CallbackItem[], secrets: BatchSecrets): Promise<void> {
  return perShard(
    env,
    items,
    (stub, msgs) => stub.beginCallbacks(msgs.map(refOf)),
    async (stub, { msg }, answer: BeginCallbackResult | undefined) => {
      if (answer?.ok) await deliverAndReport(env, stub, msg, answer, secrets);
    },
  );
}

async function deliverAndReport(
  env: Env,
  stub: TaskShardRpc,
  msg: CallbackMessage,
  delivery: CallbackDelivery,
  secrets: BatchSecrets,
): Promise<void> {
  const outcome = await deliverCallback(env, msg, delivery, secrets);
  let report = "unreported";
  try {
    const settled = await withTries(REPORT_TRIES, () => stub.finishCallback(refOf(msg), outcome));
    report = settled.ok ? settled.verdict : settled.reason;
  } finally {
    log("callback_finished", {
      job_id: msg.job_id,
      user_id: msg.user_id,
      occurrence: msg.occurrence,
      attempt: msg.attempt,
      outcome: outcome.ok ? "delivered" : "failed",
      error: outcome.ok ? undefined : outcome.error,
      report,
    });
  }
}

/** One try: the snapshot POSTed as it is, signed like a target call. Throws only if no shard answers. */
export async function deliverCallback(
  env: Env,
  msg: CallbackMessage,
  delivery: CallbackDelivery,
  secrets: BatchSecrets,
): Promise<CallbackTry> {
  const allowPrivateTargets = configOf(env).ALLOW_PRIVATE_TARGETS;
  // Checked here too (the executor would refuse it as well) so a refusal is known to be permanent.
  const refused = targetError(delivery.url, allowPrivateTargets);
  if (refused) return { ok: false, error: `target refused: ${refused}`, permanent: true };
  // An unreachable home shard throws: the message is retried, the try not spent.
  const signingSecrets = await secrets.of(msg.user_id, delivery.signingSecrets);
  const outcome = await httpExecutor.execute({
    jobId: msg.job_id,
    occurrence: msg.occurrence,
    attempt: msg.attempt,
    webhookId: callbackWebhookId(msg.job_id, msg.occurrence),
    payload: {
      url: delivery.url,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: delivery.body,
    },
    timeoutMs: CALLBACK_TIMEOUT_MS,
    signingSecrets,
    allowPrivateTargets,
    checkHost: configuredHostCheck(configOf(env)),
    trace: { traceparent: delivery.traceparent, tracestate: delivery.tracestate },
  });
  if (outcome.ok) return { ok: true };
  // A host refused by name (TARGET_DNS_CHECK) is as permanent as one refused by address above.
  if (outcome.permanent) return { ok: false, error: outcome.error, permanent: true };
  return { ok: false, error: outcome.error, retryAfterMs: outcome.retryAfterMs };
}
