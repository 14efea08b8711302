// What the client throws: the API's error envelope as an Error, and a wait that ran out of time.
import type { ErrorBody, Job } from "./types.js";

export class SchedulerError extends Error {
  readonly code: string;
  readonly details: ErrorBody["details"];

  constructor(
    readonly status: number,
    body: ErrorBody | undefined,
    /** Seconds the server asked to wait (429, 503), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(body ? `${status} ${body.code}: ${body.message}` : `HTTP ${status}`);
    this.name = "SchedulerError";
    this.code = body?.code ?? "unknown";
    this.details = body?.details;
  }
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly jobId: string,
    /** The job as last seen. */
    readonly last: Job,
    timeoutMs: number,
  ) {
    super(`job ${jobId} is still ${last.status} after ${timeoutMs} ms`);
    this.name = "WaitTimeoutError";
  }
}
