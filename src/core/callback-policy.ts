// How a job's callback (docs/design.md `callback_url`) is retried. Pure: time and randomness come in as
// arguments. A callback has its own bounded retries; nothing here ever touches the job's outcome.
import { dispatchDeadlineMs, retryAt } from "./backoff";

/** Tries in all (the first and four retries), then the callback is given up. */
export const CALLBACK_MAX_TRIES = 5;
/** Base of the backoff between tries: about 30 s, 1, 2 and 4 minutes (with jitter). */
export const CALLBACK_RETRY_BASE_SECONDS = 30;
/** One try's limit, redirects and body read included; a callback is a notification, not work. */
export const CALLBACK_TIMEOUT_MS = 30_000;

/** How one delivery try ended, as the consumer reports it. */
export type CallbackTry =
  | { ok: true }
  /** permanent: retrying cannot help (the URL is refused by the target rules). */
  | { ok: false; error: string; retryAfterMs?: number; permanent?: boolean };

export type CallbackVerdict =
  | { kind: "delivered" }
  | { kind: "retry"; at: number }
  | { kind: "abandoned"; error: string };

/** What follows try number `attempt` (1-based): done, another try at `at`, or given up. */
export function callbackVerdict(
  attempt: number,
  outcome: CallbackTry,
  now: number,
  random: () => number,
): CallbackVerdict {
  if (outcome.ok) return { kind: "delivered" };
  if (outcome.permanent || attempt >= CALLBACK_MAX_TRIES) return { kind: "abandoned", error: outcome.error };
  return {
    kind: "retry",
    at: retryAt(now, CALLBACK_RETRY_BASE_SECONDS, attempt, outcome.retryAfterMs, random),
  };
}

/**
 * How long the shard waits for a try's report before it takes the message as lost and sends it
 * again: the queue's dispatch deadline (doubled per message already sent for this try, as dispatch
 * does) plus the try's own time limit, so a slow but live delivery is not duplicated.
 */
export function callbackReportDeadlineMs(baseMs: number, sendsBefore: number): number {
  return dispatchDeadlineMs(baseMs, sendsBefore) + CALLBACK_TIMEOUT_MS;
}
