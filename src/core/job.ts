// The job as the shard stores it on creation and as the API shows it (the contract's job object).
import { z } from "zod";
import { type Debounce, DebounceSchema } from "./debounce";
import { type DependencyPolicy, DependencyPolicySchema } from "./dependencies";
import { type FlowControl, FlowControlSchema } from "./flow-control";
import { RETRY_POLICIES, type RetryPolicy } from "./retry-policy";
import {
  ATTEMPT_STATUSES,
  CATCH_UP_POLICIES,
  type CatchUp,
  isFinished,
  JOB_STATUSES,
  type JobStatus,
  OVERLAP_POLICIES,
  type Overlap,
} from "./state";
import type { TraceHeaders } from "./trace-context";

/**
 * Everything the shard needs to create a job; computed by the API from a validated request. Its trace
 * context (TraceHeaders) is the submit's traceparent and tracestate headers, sent on its webhook calls.
 */
export interface NewJob extends TraceHeaders {
  id: string;
  userId: string;
  name: string | null;
  type: string;
  priority: number;
  payload: unknown;
  runAt: number;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  maxRetries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number;
  resultLocation: string | null;
  resources: Record<string, number>;
  /** Kept this long once finished, then removed (the user's retention at submit). */
  finishedRetentionSeconds: number;
  /** The user's index database: the shard writes the job's D1 copy there. */
  indexDb: number;
  labels: Record<string, string>;
  callbackUrl: string | null;
  retryPolicy: RetryPolicy;
  expiresAfterSeconds: number | null;
  /** Limits shared with the user's other jobs of the same key (src/core/flow-control.ts). */
  flowControl: FlowControl | null;
  /** One-shot jobs: a later submit with the key replaces this one while it has not started. */
  debounce: Debounce | null;
  /** Recurring jobs: overlap and catch-up (src/core/state.ts followingOccurrence); one-shot: defaults. */
  overlap: Overlap;
  catchUp: CatchUp;
  catchUpWindowSeconds: number;
  /**
   * The jobs it waits on (src/core/dependencies.ts), null for none. Inside a batch an entry may still be
   * "@k", the k-th job of the same shard request, which the shard resolves to that job's id.
   */
  dependsOn: string[] | null;
  onDependencyFailure: DependencyPolicy;
  /** The ones it still waits on (null: none): the shard leaves out those it knows have succeeded. */
  blockedBy: string[] | null;
}

const Instant = z.iso.datetime();

/** Any JSON value (a job's payload, an http request's body): one schema, one OpenAPI component. */
export const JsonValue = z.json();

/** The contract's attempt object (resources: the units it held; additive to the contract). */
export const AttemptViewSchema = z.object({
  number: z.int().describe("1 for the first attempt of the job"),
  status: z.enum(ATTEMPT_STATUSES),
  scheduled_at: Instant.describe("when the occurrence was due"),
  started_at: Instant,
  finished_at: Instant.nullable(),
  lateness_ms: z.int().describe("started_at − scheduled_at"),
  error: z.string().nullable(),
  resources: z.record(z.string(), z.int()).describe("the pool units it held"),
});

/** The contract's job object, as every endpoint returns it. */
export const JobViewSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  name: z.string().nullable(),
  type: z.string().describe("the executor"),
  status: z.enum(JOB_STATUSES),
  priority: z.int().describe("0 to 100; higher runs first among due jobs"),
  payload: z.unknown().describe("the executor's input, as submitted"),
  run_at: Instant.describe("the next (or current) scheduled execution time"),
  next_run_at: Instant.nullable().describe(
    "when the job runs next (its run_at), or null when it will not run again: finished, cancelled or paused",
  ),
  interval_seconds: z.int().nullable(),
  cron: z.string().nullable(),
  timezone: z.string().nullable(),
  max_retries: z.int(),
  current_retries: z.int().describe("retries used by the current occurrence"),
  retry_delay_seconds: z.int(),
  timeout_seconds: z.int(),
  result_location: z.string().nullable(),
  result: z
    .unknown()
    .describe("the latest occurrence's result (http: status and the first 8 KiB of the body)"),
  last_error: z.string().nullable(),
  resources: z.record(z.string(), z.int()).describe("pool → units each attempt holds"),
  runs: z.int().describe("occurrences finished so far"),
  last_run_at: Instant.nullable().describe("actual start of the latest attempt"),
  labels: z.record(z.string(), z.string()),
  callback_url: z.string().nullable(),
  retry_policy: z.enum(RETRY_POLICIES),
  expires_after_seconds: z.int().nullable(),
  debounce: DebounceSchema.nullable().describe(
    "one-shot jobs: while it has not started, a submit with the same key replaces it (absent max_wait as null)",
  ),
  flow_control: FlowControlSchema.nullable().describe(
    "per-key limits shared by the user's jobs with the same key (absent limits as null)",
  ),
  overlap: z
    .enum(OVERLAP_POLICIES)
    .describe("recurring jobs: what an occurrence does when the previous one still runs (one-shot: skip)"),
  catch_up: z
    .enum(CATCH_UP_POLICIES)
    .describe("recurring jobs: what happens to occurrences missed while paused or down (one-shot: none)"),
  catch_up_window_seconds: z.int().describe("catch_up `all` runs only missed occurrences this recent"),
  depends_on: z.array(z.string()).describe("the jobs this one runs after (each must succeed); [] for none"),
  on_dependency_failure: DependencyPolicySchema.describe(
    "when a dependency fails or is cancelled: `fail` (this job fails with dependency_failed) or `run`",
  ),
  blocked_by: z.array(z.string()).describe("the dependencies that have not succeeded yet; [] when none"),
  traceparent: z
    .string()
    .nullable()
    .describe(
      "the W3C traceparent the submit carried (a later version written as 00), sent on every webhook call and callback; null: none, or an invalid one (ignored)",
    ),
  tracestate: z
    .string()
    .nullable()
    .describe("the submit's tracestate, sent with the traceparent; null: none, empty or invalid (ignored)"),
  created_at: Instant,
  updated_at: Instant,
  attempts: z.array(AttemptViewSchema).describe("newest first, the latest 20"),
});

export type AttemptView = z.infer<typeof AttemptViewSchema>;
export type JobView = z.infer<typeof JobViewSchema>;

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/**
 * next_run_at (additive to the contract): run_at keeps its documented meaning, the next or current
 * scheduled time, which a cancelled or finished job still carries; this says whether it will happen.
 */
export function nextRunAtOf(status: JobStatus, runAt: number): string | null {
  return isFinished(status) || status === "paused" ? null : iso(runAt);
}
