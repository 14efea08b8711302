// The typed client: openapi-fetch over the generated `paths`, plus the helpers most callers want.
// `api` is the raw typed client for every route; the helpers throw SchedulerError on an error answer.
import createClient, { type Client } from "openapi-fetch";
import { SchedulerError, WaitTimeoutError } from "./errors.js";
import type { paths } from "./schema.js";
import type { BatchItem, BatchResult, ErrorBody, FlowKey, Job, JobStatus, SubmitJob } from "./types.js";
import { FINISHED_STATUSES } from "./types.js";
import { type PollTiming, pollUntil } from "./wait.js";
import { type JobWatch, type WatchOptions, watchJob } from "./watch.js";

export interface SchedulerOptions {
  /** e.g. http://127.0.0.1:8787 (npm run dev) */
  baseUrl: string;
  /** A user's API key, or the admin token for /v1/admin routes. */
  token: string;
  fetch?: typeof globalThis.fetch;
}

export interface ListFilter {
  status?: JobStatus;
  type?: string;
  /** Jobs per request, 1 to 100 (default 100). */
  pageSize?: number;
}

export interface WaitOptions extends PollTiming {
  /** Stop when this holds (default: a finished status: succeeded, failed or cancelled). */
  until?: (job: Job) => boolean;
}

/**
 * W3C Trace Context to submit with: kept with each job and sent on its webhook calls, so the trace
 * runs on to the target (an invalid value is ignored by the server, never refused).
 */
export interface TraceOptions {
  traceparent?: string;
  tracestate?: string;
}

/** The trace headers that are set, and nothing for those that are not. */
const traceHeaders = ({ traceparent, tracestate }: TraceOptions) => ({
  ...(traceparent === undefined ? {} : { traceparent }),
  ...(tracestate === undefined ? {} : { tracestate }),
});

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's body, or a SchedulerError carrying the error envelope. */
function unwrap<T>({ data, error, response }: Answer<T>): T {
  if (response.ok && data !== undefined) return data;
  const body = (error as { error?: ErrorBody } | undefined)?.error;
  const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
  throw new SchedulerError(response.status, body, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

export function createSchedulerClient({ baseUrl, token, fetch }: SchedulerOptions) {
  const api: Client<paths> = createClient<paths>({
    baseUrl,
    headers: { authorization: `Bearer ${token}` },
    ...(fetch ? { fetch } : {}),
  });

  async function getJob(id: string): Promise<Job> {
    return unwrap(await api.GET("/v1/jobs/{id}", { params: { path: { id } } }));
  }

  return {
    api,

    /**
     * Submits one job; with `idempotencyKey`, a retry of the same submit returns the original job; with
     * `traceparent` (and `tracestate`), the job's webhook calls carry them on.
     */
    async submit(
      job: SubmitJob,
      { idempotencyKey, ...trace }: { idempotencyKey?: string } & TraceOptions = {},
    ): Promise<Job> {
      const header = {
        ...(idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey }),
        ...traceHeaders(trace),
      };
      return unwrap(await api.POST("/v1/jobs", { body: job, params: { header } }));
    },

    /**
     * Up to 1,000 jobs; one result per job, in order (201 created, 200 replayed, 409 or 429 refused).
     * The trace context, if given, is kept by every job of the batch.
     */
    async submitBatch(jobs: BatchItem[], trace: TraceOptions = {}): Promise<BatchResult[]> {
      const header = traceHeaders(trace);
      return unwrap(await api.POST("/v1/jobs/batch", { body: { jobs }, params: { header } })).results;
    },

    getJob,

    async cancel(id: string): Promise<Job> {
      return unwrap(await api.DELETE("/v1/jobs/{id}", { params: { path: { id } } }));
    },

    /**
     * The ids of your jobs that named this one in `depends_on` (at most 1,000, in id order), whether they
     * still wait on it or not. A job's own dependencies are its `depends_on`; those it still waits on, its
     * `blocked_by`.
     */
    async dependents(id: string): Promise<string[]> {
      return unwrap(await api.GET("/v1/jobs/{id}/dependents", { params: { path: { id } } })).dependents;
    },

    /** How a flow-control key stands: attempts running, due jobs waiting, starts in its period. */
    async flowKey(key: string): Promise<FlowKey> {
      return unwrap(await api.GET("/v1/flow-control/{key}", { params: { path: { key } } }));
    },

    /** The flow-control keys in use (running, waiting or started in their period), busiest first, at most 100. */
    async flowKeys(): Promise<FlowKey[]> {
      return unwrap(await api.GET("/v1/flow-control")).keys;
    },

    /** The job live over a WebSocket: `onJob` at once and on each change; `done` once it is finished. */
    watchJob(id: string, options: WatchOptions): JobWatch {
      return watchJob(baseUrl, token, id, options);
    },

    /** Polls the job (backing off up to maxIntervalMs) until it finishes; WaitTimeoutError after timeoutMs. */
    async waitForJob(id: string, { until, ...timing }: WaitOptions = {}): Promise<Job> {
      const done = until ?? ((job: Job) => FINISHED_STATUSES.includes(job.status));
      return pollUntil(
        () => getJob(id),
        done,
        (last) => new WaitTimeoutError(id, last, timing.timeoutMs ?? 60_000),
        timing,
      );
    },

    /** Every job matching the filter, newest first, fetched a page at a time as the loop asks. */
    async *listAll({ pageSize = 100, ...filter }: ListFilter = {}): AsyncGenerator<Job> {
      let cursor: string | undefined;
      do {
        const query = { ...filter, limit: String(pageSize), ...(cursor ? { cursor } : {}) };
        const page = unwrap(await api.GET("/v1/jobs", { params: { query } }));
        yield* page.jobs;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    },
  };
}

export type SchedulerClient = ReturnType<typeof createSchedulerClient>;
