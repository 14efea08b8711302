// The submit request: what its schema cannot check, and its translation into a NewJob.
import { debounceOf } from "../core/debounce";
import { flowControlOf } from "../core/flow-control";
import { newJobId } from "../core/ids";
import type { NewJob } from "../core/job";
import type { JobPatch } from "../core/job-patch";
import { jobRuleErrors, MAX_FUTURE_MS, type RuleChecks } from "../core/job-rules";
import { firstRunAt, recurrenceOf } from "../core/schedule";
import type { TraceHeaders } from "../core/trace-context";
import { executorChecks } from "../executors/rule-checks";
import { InvalidRequestError, PayloadTooLargeError } from "./errors";
import { PatchSchema, type SubmitInput, SubmitSchema } from "./schemas";
import { validated } from "./validate";

export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** A payload over MAX_PAYLOAD_BYTES is a 413, for a submit and a PATCH alike. */
function assertPayloadFits(payload: unknown): void {
  const json = JSON.stringify(payload ?? null);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most payloads fit without being encoded.
  if (json.length * 3 <= MAX_PAYLOAD_BYTES) return;
  const payloadBytes = new TextEncoder().encode(json).byteLength;
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(
      `payload is ${payloadBytes} bytes; at most ${MAX_PAYLOAD_BYTES} are allowed`,
    );
  }
}

/**
 * Validates a PATCH body by the submit fields' rules (throws its 400 or 413) and names it as the
 * shard's row does. What needs the stored job (payload per executor, cron with interval, pools) the
 * shard checks with jobRuleErrors on the job with the patch applied.
 */
export function toJobPatch(body: unknown, now: number): JobPatch {
  const input = validated(PatchSchema, body, "the patch is invalid");
  if (input.payload !== undefined) assertPayloadFits(input.payload);
  const runAt = input.run_at === undefined ? undefined : Date.parse(input.run_at);
  if (runAt !== undefined && runAt > now + MAX_FUTURE_MS) {
    throw new InvalidRequestError("the patch is invalid", [
      { path: "run_at", message: "run_at must be at most 5 years ahead" },
    ]);
  }
  const named: JobPatch = {
    runAt,
    priority: input.priority,
    payload: input.payload,
    intervalSeconds: input.interval_seconds,
    cron: input.cron,
    timezone: input.timezone,
    maxRetries: input.max_retries,
    retryDelaySeconds: input.retry_delay_seconds,
    timeoutSeconds: input.timeout_seconds,
    name: input.name,
    resources: input.resources,
    labels: input.labels,
    callbackUrl: input.callback_url,
    retryPolicy: input.retry_policy,
    expiresAfterSeconds: input.expires_after_seconds,
    flowControl:
      input.flow_control === undefined || input.flow_control === null
        ? input.flow_control
        : flowControlOf(input.flow_control),
    overlap: input.overlap,
    catchUp: input.catch_up,
    catchUpWindowSeconds: input.catch_up_window_seconds,
  };
  // Absent stays absent (undefined would not survive RPC as "unchanged" reliably).
  return Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined)) as JobPatch;
}

/** The executors' checks, made once for each setting (they keep no state): not once per job. */
const checks = new Map<boolean, RuleChecks>();
function checksFor(allowPrivateTargets: boolean): RuleChecks {
  let made = checks.get(allowPrivateTargets);
  if (!made) {
    made = executorChecks(allowPrivateTargets);
    checks.set(allowPrivateTargets, made);
  }
  return made;
}

export interface JobContext {
  userId: string;
  shard: number;
  now: number;
  allowPrivateTargets: boolean;
  finishedRetentionSeconds: number;
  indexDb: number;
  /** The request's trace context (its headers, not its body): none when absent. */
  trace?: TraceHeaders;
}

/** Validates a submit body and builds the job the shard will store; throws a 400 or 413 on bad input. */
export function toNewJob(body: unknown, ctx: JobContext): NewJob {
  return validSubmission(body, ctx).spec;
}

/**
 * The request as it means, for comparing an idempotent replay: the schema's output (defaults filled
 * in, nulls as absent) with run_at as one instant and a cron's zone named. So `…00Z`, `…00.000Z` and
 * `…00+00:00`, or a default sent or left out, are the same request.
 */
export function requestMeaning(input: SubmitInput): SubmitInput {
  return {
    ...input,
    run_at: input.run_at === undefined ? undefined : new Date(Date.parse(input.run_at)).toISOString(),
    timezone: input.cron === undefined ? input.timezone : (input.timezone ?? "UTC"),
  };
}

/** toNewJob, and the validated request it was built from. */
export function validSubmission(body: unknown, ctx: JobContext): { input: SubmitInput; spec: NewJob } {
  const input = validated(SubmitSchema, body, "the job is invalid");
  assertPayloadFits(input.payload);
  const errors = jobRuleErrors(input, ctx.now, checksFor(ctx.allowPrivateTargets));
  if (errors.length > 0) throw new InvalidRequestError("the job is invalid", errors);
  const recurrence = recurrenceOf({
    intervalSeconds: input.interval_seconds,
    cron: input.cron,
    timezone: input.timezone,
  });
  const requested = input.run_at === undefined ? undefined : Date.parse(input.run_at);
  const spec: NewJob = {
    id: newJobId(ctx.shard, ctx.now),
    userId: ctx.userId,
    name: input.name ?? null,
    type: input.type,
    priority: input.priority,
    payload: input.payload ?? null,
    runAt: firstRunAt(recurrence, requested, ctx.now),
    intervalSeconds: input.interval_seconds ?? null,
    cron: input.cron ?? null,
    timezone: input.cron === undefined ? null : (input.timezone ?? "UTC"),
    maxRetries: input.max_retries,
    retryDelaySeconds: input.retry_delay_seconds,
    timeoutSeconds: input.timeout_seconds,
    resultLocation: input.result_location ?? null,
    resources: input.resources,
    finishedRetentionSeconds: ctx.finishedRetentionSeconds,
    indexDb: ctx.indexDb,
    labels: input.labels,
    callbackUrl: input.callback_url ?? null,
    retryPolicy: input.retry_policy,
    expiresAfterSeconds: input.expires_after_seconds ?? null,
    flowControl: input.flow_control === undefined ? null : flowControlOf(input.flow_control),
    debounce: input.debounce === undefined ? null : debounceOf(input.debounce),
    overlap: input.overlap,
    catchUp: input.catch_up,
    catchUpWindowSeconds: input.catch_up_window_seconds,
    dependsOn: input.depends_on ?? null,
    onDependencyFailure: input.on_dependency_failure,
    // The shard leaves out those it learns have succeeded (src/shard/sql/submit.ts).
    blockedBy: input.depends_on ?? null,
    traceparent: ctx.trace?.traceparent ?? null,
    tracestate: ctx.trace?.tracestate ?? null,
  };
  return { input, spec };
}
