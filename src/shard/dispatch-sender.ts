// What the alarm (and a submit that dispatches: src/shard/submitting.ts) puts on the shard's dispatch
// queue: claimed attempts, up to JOBS_PER_MESSAGE a message, and callback tries, 100 messages a send
// (the queue's limit). A failed send loses nothing: the rows are durable, and they are made due again
// soon rather than left to wait out their dispatch deadline.
import {
  attemptsCarried,
  type CallbackMessage,
  type DispatchGroup,
  type DispatchMessage,
  JOBS_PER_MESSAGE,
} from "../dispatch/message";
import { log } from "../log";
import { recordOperations } from "../metering/operations";
import type { ShardContext } from "./context";
import type { CallbackRef } from "./rpc";
import { postponeCallbacks } from "./sql/callbacks";
import { type Claim, requeue } from "./sql/dispatch";

const SEND_RETRY_MS = 1000;

/** What the sends work with: the shard's database, meter, timings, queue and name. */
export type SenderContext = Pick<ShardContext, "db" | "sqlMeter" | "timings" | "queue" | "name">;

async function sendMessages(
  ctx: SenderContext,
  bodies: (DispatchMessage | DispatchGroup | CallbackMessage)[],
): Promise<void> {
  const messages = bodies.map((body) => ({ body, contentType: "json" as const }));
  // One queue for the whole send (its turn: src/core/queue-choice.ts), in the queue's 100-message batches.
  const queue = ctx.queue(bodies.reduce((n, b) => n + attemptsCarried(b), 0));
  for (let i = 0; i < messages.length; i += 100) await queue.sendBatch(messages.slice(i, i + 100));
}

/**
 * The messages for claimed attempts, in their order: up to JOBS_PER_MESSAGE of them a message (a group),
 * a lone one as a plain message. A shard's claims are all its user's.
 */
export function claimMessages(claims: readonly Claim[]): (DispatchMessage | DispatchGroup)[] {
  const messages: (DispatchMessage | DispatchGroup)[] = [];
  for (let i = 0; i < claims.length; i += JOBS_PER_MESSAGE) {
    const part = claims.slice(i, i + JOBS_PER_MESSAGE);
    const [only] = part;
    if (part.length === 1 && only)
      messages.push({ user_id: only.userId, job_id: only.id, attempt: only.attempt });
    else
      messages.push({
        user_id: part[0]?.userId ?? "",
        jobs: part.map((c) => ({ job_id: c.id, attempt: c.attempt })),
      });
  }
  return messages;
}

/** Sends claimed attempts; on failure they are put back so a later cycle claims and sends them afresh. */
export async function sendClaims(ctx: SenderContext, claims: Claim[], now: number): Promise<void> {
  if (claims.length === 0) return;
  try {
    const messages = claimMessages(claims);
    await sendMessages(ctx, messages);
    recordOperations("claim", { queueMessages: messages.length });
  } catch (err) {
    requeue(ctx.db, claims, now, now + SEND_RETRY_MS, ctx.timings);
    log("dispatch_send_failed", { shard: ctx.name, jobs: claims.length, error: err });
  }
}

/** Callback tries go out on the dispatch queues as attempts do; a failed send makes them due again soon. */
export async function sendCallbacks(
  ctx: SenderContext,
  refs: (CallbackRef & { userId: string })[],
  now: number,
): Promise<void> {
  if (refs.length === 0) return;
  try {
    await sendMessages(
      ctx,
      refs.map((r) => ({
        kind: "callback" as const,
        user_id: r.userId,
        job_id: r.jobId,
        occurrence: r.occurrence,
        attempt: r.attempt,
      })),
    );
    recordOperations("callback", { queueMessages: refs.length });
  } catch (err) {
    const { rows } = ctx.sqlMeter.measure(() => postponeCallbacks(ctx.db, refs, now + SEND_RETRY_MS));
    recordOperations("callback", rows);
    log("dispatch_send_failed", { shard: ctx.name, callbacks: refs.length, error: err });
  }
}
