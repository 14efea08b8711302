// One error family, mapped to the contract's envelope in one place (app.onError).
export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 429 | 503,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const invalidRequest = (message: string, details?: ErrorDetail[]) =>
  new ApiError(400, "invalid_request", message, details);
export const unauthorized = (message = "a valid API key is required") =>
  new ApiError(401, "unauthorized", message);
export const notFound = (message = "no such job") => new ApiError(404, "not_found", message);
export const conflict = (message: string) => new ApiError(409, "conflict", message);
export const payloadTooLarge = (message: string) => new ApiError(413, "payload_too_large", message);
export const unsupportedMediaType = () =>
  new ApiError(415, "unsupported_media_type", "the request body must be application/json");
export const rateLimited = (retryAfterSeconds: number, message = "too many requests") =>
  new ApiError(429, "rate_limited", message, undefined, {
    "Retry-After": String(retryAfterSeconds),
  });

/** The listing index (D1) is unreachable; everything that does not list still works. */
export const indexUnavailable = () =>
  new ApiError(503, "unavailable", "listing is temporarily unavailable; try again shortly", undefined, {
    "Retry-After": "5",
  });

export function errorBody(code: string, message: string, details?: ErrorDetail[]) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}
