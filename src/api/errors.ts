// One error family, mapped to the contract's envelope in one place (app.onError): one small named
// class per kind of failure, and the mapping from a shard's refusals to them.
import type { ErrorDetail } from "../shard/rpc";

export type { ErrorDetail };

export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 426 | 429 | 503,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends ApiError {
  constructor(message: string, details?: ErrorDetail[]) {
    super(400, "invalid_request", message, details);
  }
}

/** What a 401 says when no credentials were read: the one form the API takes. */
export const EXPECTED_CREDENTIALS = "send `Authorization: Bearer <api_key>`";

/**
 * 401, with `WWW-Authenticate: Bearer` (RFC 6750) naming the scheme the API takes; `error` says a
 * token was sent and refused (invalid_token), as opposed to none read at all.
 */
export class UnauthorizedError extends ApiError {
  constructor(message = `a valid API key is required: ${EXPECTED_CREDENTIALS}`, error?: "invalid_token") {
    const challenge = `Bearer realm="edge-scheduler"${error ? `, error="${error}"` : ""}`;
    super(401, "unauthorized", message, undefined, { "WWW-Authenticate": challenge });
  }
}

export class NotFoundError extends ApiError {
  constructor(message = "no such job") {
    super(404, "not_found", message);
  }
}

export class ConflictError extends ApiError {
  constructor(message: string) {
    super(409, "conflict", message);
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(message: string, details?: ErrorDetail[]) {
    super(413, "payload_too_large", message, details);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor() {
    super(415, "unsupported_media_type", "the request body must be application/json");
  }
}

/** A watch asked for without a WebSocket upgrade. */
export class UpgradeRequiredError extends ApiError {
  constructor() {
    super(426, "upgrade_required", "this route is a WebSocket: send Upgrade: websocket", undefined, {
      Upgrade: "websocket",
    });
  }
}

export class RateLimitedError extends ApiError {
  constructor(retryAfterSeconds: number, message = "too many requests") {
    super(429, "rate_limited", message, undefined, { "Retry-After": String(retryAfterSeconds) });
  }
}

/** The listing index (D1) is unreachable; everything that does not list still works. */
export class IndexUnavailableError extends ApiError {
  constructor(message = "listing is temporarily unavailable; try again shortly") {
    super(503, "unavailable", message, undefined, {
      "Retry-After": "5",
    });
  }
}

type Refusals<Result> = Result extends { ok: false; reason: string } ? Result : never;

/** One error per refusal a result can carry; the compiler insists on all of them. */
export type RefusalErrors<Result> = {
  [Reason in Refusals<Result>["reason"]]: (
    refusal: Extract<Refusals<Result>, { reason: Reason }>,
  ) => ApiError;
};

/**
 * A shard's answer when it accepted, or the error its refusal means to this route. Adding a reason to
 * an RPC result (src/shard/rpc.ts) fails to compile until every caller says what it means.
 */
export function okOrThrow<Result extends { ok: boolean }>(
  result: Result,
  errors: RefusalErrors<Result>,
): Exclude<Result, { ok: false }> {
  if (result.ok) return result as Exclude<Result, { ok: false }>;
  throw refusalError(result as unknown as Refusals<Result>, errors);
}

/** The error a refusal means, for a caller that reports it instead of throwing (a batch's item). */
export function refusalError<Refusal extends { ok: false; reason: string }>(
  refusal: Refusal,
  errors: RefusalErrors<Refusal>,
): ApiError {
  const toError = errors[refusal.reason as keyof RefusalErrors<Refusal>] as (r: Refusal) => ApiError;
  return toError(refusal);
}

export function errorBody(code: string, message: string, details?: ErrorDetail[]) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}
