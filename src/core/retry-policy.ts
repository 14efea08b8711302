// Whether a failed attempt may be retried at all, before any backoff is chosen. Pure.
//
// Two kinds of failure end an occurrence at once, whatever retries are left:
// - a permanent one, as the executor reports it: the payload is invalid, the target or a redirect is
//   refused, the job type has no executor. Retrying cannot change the answer;
// - under retry_policy `transient`, an HTTP client error other than 408 (timeout), 425 (too early) and
//   429 (too many requests): the target has said the request itself is wrong.
// Network errors, timeouts and 5xx are transient under both policies.

export const RETRY_POLICIES = ["all", "transient"] as const;
export type RetryPolicy = (typeof RETRY_POLICIES)[number];

/** A failed attempt as the retry decision sees it. */
export interface Failure {
  /** The executor knows that no retry can succeed. */
  permanent?: boolean;
  /** The HTTP status the target answered with, when it answered. */
  httpStatus?: number;
}

/** Client errors that say "try again later" rather than "this request is wrong". */
const RETRYABLE_CLIENT_ERRORS: ReadonlySet<number> = new Set([408, 425, 429]);

/** True when an HTTP status is worth retrying under `transient`: 408, 425, 429 and 5xx (and anything not a 4xx). */
export function isTransientStatus(status: number): boolean {
  return status < 400 || status >= 500 || RETRYABLE_CLIENT_ERRORS.has(status);
}

/** True when `failure` ends its occurrence now instead of retrying, under `policy`. */
export function failsAtOnce(policy: RetryPolicy, failure: Failure): boolean {
  if (failure.permanent) return true;
  return policy === "transient" && failure.httpStatus !== undefined && !isTransientStatus(failure.httpStatus);
}
