// The submit request: what its schema cannot check, and its translation into a NewJob.
import { newJobId } from "../core/ids";
import type { NewJob } from "../core/job";
import type { JobPatch } from "../core/job-patch";
import { cronError, firstRunAt, recurrenceOf, timezoneError } from "../core/schedule";
import { getExecutor } from "../executors/registry";
import { targetError } from "../executors/target";
import { type ErrorDetail, InvalidRequestError, PayloadTooLargeError } from "./errors";
import { PatchSchema, type SubmitInput, SubmitSchema } from "./schemas";
import { validated, zodDetails } from "./validate";

export const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_FUTURE_MS = 5 * 366 * 24 * 60 * 60 * 1000;

/** The fields of a job the submit rules look at (a submit body, or a stored job with a PATCH applied). */
export type RuleInput = Pick<
  SubmitInput,
  "type" | "payload" | "interval_seconds" | "cron" | "timezone" | "callback_url" | "run_at"
>;

/** A stored job (JobRow field names) as the submit rules see it; run_at is checked where it is sent. */
export function rulesOfRow(row: {
  type: string;
  payload: unknown;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  callbackUrl: string | null;
}): RuleInput {
  return {
    type: row.type,
    payload: (row.payload ?? null) as RuleInput["payload"],
    interval_seconds: row.intervalSeconds ?? undefined,
    cron: row.cron ?? undefined,
    timezone: row.timezone ?? undefined,
    callback_url: row.callbackUrl ?? undefined,
    run_at: undefined,
  };
}

/**
 * Checks what the schema alone cannot: combinations, the executor's payload, calendar rules. The same
 * rules hold for a submit and for a job with a PATCH applied (the shard checks the latter).
 */
export function jobRuleErrors(input: RuleInput, now: number, allowPrivateTargets: boolean): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const executor = getExecutor(input.type);
  if (!executor) errors.push({ path: "type", message: `unknown job type "${input.type}"` });
  else {
    const payload = executor.payloadSchema.safeParse(input.payload ?? null);
    if (!payload.success) errors.push(...zodDetails(payload.error, ["payload"]));
    else {
      const refused = executor.submitError?.(payload.data, { allowPrivateTargets });
      if (refused) errors.push({ path: "payload", message: refused });
    }
  }
  if (input.interval_seconds !== undefined && input.cron !== undefined) {
    errors.push({ path: "cron", message: "cron and interval_seconds are mutually exclusive" });
  }
  if (input.timezone !== undefined && input.cron === undefined) {
    errors.push({ path: "timezone", message: "timezone applies only to cron schedules" });
  }
  if (input.cron !== undefined) {
    const zoneProblem = timezoneError(input.timezone ?? "UTC");
    const cronProblem = zoneProblem ? null : cronError(input.cron, input.timezone ?? "UTC");
    if (zoneProblem) errors.push({ path: "timezone", message: zoneProblem });
    if (cronProblem) errors.push({ path: "cron", message: cronProblem });
  }
  if (input.callback_url !== undefined) {
    const refused = targetError(input.callback_url, allowPrivateTargets);
    if (refused) errors.push({ path: "callback_url", message: refused });
  }
  if (input.run_at !== undefined && Date.parse(input.run_at) > now + MAX_FUTURE_MS) {
    errors.push({ path: "run_at", message: "run_at must be at most 5 years ahead" });
  }
  return errors;
}

/** A payload over MAX_PAYLOAD_BYTES is a 413, for a submit and a PATCH alike. */
function assertPayloadFits(payload: unknown): void {
  const payloadBytes = new TextEncoder().encode(JSON.stringify(payload ?? null)).byteLength;
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
  };
  // Absent stays absent (undefined would not survive RPC as "unchanged" reliably).
  return Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined)) as JobPatch;
}

export interface JobContext {
  userId: string;
  shard: number;
  now: number;
  allowPrivateTargets: boolean;
  finishedRetentionSeconds: number;
  indexDb: number;
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
  const errors = jobRuleErrors(input, ctx.now, ctx.allowPrivateTargets);
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
  };
  return { input, spec };
}
