// Logging: one JSON line per event, with the event's name in `event`, so a log search, a dashboard or
// the soak counts what happened by name instead of by matching prose. Every event is declared here.
const EVENTS = {
  /** One attempt ran (consumer, only with LOG_ATTEMPTS=true): what, for whom, how it ended and how late it started. */
  attempt_finished: "info",
  /** The attempts one consumer batch ran on one shard: how many, their reports (accepted, refused, unreported), outcomes, the accepted ones' lateness and the longest duration. */
  attempts_reported: "info",
  /** One callback try ran (consumer): the job and occurrence, how the POST went, and what the shard made of it (`delivered`, `retry`, `abandoned`, or a refusal). */
  callback_finished: "info",
  /** The shard gave a running attempt up (no heartbeat, or past its timeout): what, for whom, why. */
  attempt_given_up: "info",
  /** The shard cancelled an attempt still queued or running because the job's next occurrence came due (overlap: cancel_other). */
  attempt_replaced: "info",
  /** A client address, a claimed user or a client's admin tries ran out of failed authentications (AUTH_FAILURE_LIMIT): further tries get 429 until it refills. Logged once when it runs out, not per refusal. */
  auth_failures_limited: "info",
  /** A variable or secret is missing or invalid; the API answers 500 until it is fixed. */
  config_invalid: "error",
  /** The consumer could not reach a shard for a message (an attempt's or a callback's); the message is retried. */
  dispatch_message_failed: "error",
  /** A queue message failed validation and was dropped; the shard's deadline recovers its job. */
  dispatch_message_malformed: "error",
  /** A shard could not reach another shard of the user with dependency messages (subscribe or settle); they are sent again, backed off. */
  dependency_messages_failed: "error",
  /** The shard could not send claimed jobs (or callbacks) to the queue; they are put back and sent again. */
  dispatch_send_failed: "error",
  /** A heartbeat RPC failed; the attempt goes on (the shard gives it up only after HEARTBEAT_TIMEOUT_SECONDS without one). */
  heartbeat_failed: "error",
  /** The shard no longer waits for an attempt (cancelled, given up, superseded); its heartbeats stop. */
  heartbeat_refused: "info",
  /** The shard could not copy changed jobs to the D1 index; it tries again later. */
  index_write_failed: "error",
  /** D1 could not answer a listing; the request got 503. */
  listing_failed: "error",
  /** Retention removed finished jobs from a shard (and its index rows; archived first if asked). */
  jobs_removed: "info",
  /** Removing finished jobs failed (archive or index unreachable); nothing was deleted, tried later. */
  removal_failed: "error",
  /** Deleting removed jobs' result objects from R2 failed; those jobs are kept and tried again later. */
  result_removal_failed: "error",
  /** A shard ran hot (jobs in or out per second past HOT_SHARD_JOBS_PER_SECOND) and asked for growth. */
  shard_hot: "info",
  /** The home shard could not be asked to grow the user's shards; the next hot window asks again. */
  shard_growth_failed: "error",
  /** A user's shard count grew by itself (a hot shard's report), doubling up to the ceiling. */
  shards_grown: "info",
  /** The user directory (index database 0) could not be written or read; the admin request got 503. */
  user_directory_failed: "error",
  /** A user's shards did not answer GET /v1/admin/metrics; the user is left out of that answer. */
  admin_metrics_unavailable: "error",
  /** Billed operations counted in one phase of a job's life (only with LOG_OPERATIONS=true). */
  operations: "info",
  /** A request failed with an exception no route expected; it got 500. */
  unhandled_error: "error",
} as const;

export type LogEvent = keyof typeof EVENTS;

/** Whether `name` is an event logged at the error level (tools tell trouble from the routine by it). */
export function isErrorEvent(name: string): boolean {
  return Object.hasOwn(EVENTS, name) && EVENTS[name as LogEvent] === "error";
}

/** An Error as JSON: JSON.stringify alone turns it into `{}`. */
function plain(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/** Writes `{"event": <event>, ...fields}` as one line, at the event's level. */
export function log(event: LogEvent, fields: Record<string, unknown> & { event?: never } = {}): void {
  const line = JSON.stringify({ event, ...fields }, plain);
  if (EVENTS[event] === "error") console.error(line);
  else console.log(line);
}
