// The submit request: its zod schema (the contract's table) and its translation into a NewJob.
import { z } from "zod";
import { newJobId } from "../core/ids";
import type { NewJob } from "../core/job";
import { cronError, firstRunAt, recurrenceOf, timezoneError } from "../core/schedule";
import { getExecutor } from "../executors/registry";
import { type ErrorDetail, InvalidRequestError, PayloadTooLargeError } from "./errors";

export const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_FUTURE_MS = 5 * 366 * 24 * 60 * 60 * 1000;

export const PoolName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "pool names are 1-64 of A-Z a-z 0-9 _ . -");

const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

export const SubmitSchema = z.strictObject({
  type: z.string().min(1).max(64),
  payload: z.json().optional(),
  run_at: optional(z.iso.datetime({ offset: true })),
  interval_seconds: optional(z.int().min(1).max(31_536_000)),
  cron: optional(z.string().min(1).max(200)),
  timezone: optional(z.string().min(1).max(64)),
  priority: z.int().min(0).max(100).default(50),
  max_retries: z.int().min(0).max(50).default(3),
  retry_delay_seconds: z.int().min(1).max(86_400).default(30),
  timeout_seconds: z.int().min(1).max(900).default(60),
  result_location: optional(
    z
      .string()
      .max(512)
      .regex(
        /^r2:\/\/[A-Za-z0-9!\-_.*'()/]{1,500}$/,
        "must be r2://<key-prefix> (letters, digits, !-_.*'()/)",
      ),
  ),
  resources: z
    .record(PoolName, z.int().min(1, "units must be a positive integer").max(1_000_000))
    .refine((r) => Object.keys(r).length <= 16, "at most 16 pools")
    .default({}),
  name: optional(z.string().max(200)),
});

export type SubmitInput = z.infer<typeof SubmitSchema>;

export function zodDetails(error: z.ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path].map(String).join(".") || "(body)",
    message: i.message,
  }));
}

/** Checks what the schema alone cannot: combinations, the executor's payload, calendar rules. */
function semanticErrors(input: SubmitInput, now: number, allowPrivateTargets: boolean): ErrorDetail[] {
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
  if (input.run_at !== undefined && Date.parse(input.run_at) > now + MAX_FUTURE_MS) {
    errors.push({ path: "run_at", message: "run_at must be at most 5 years ahead" });
  }
  return errors;
}

/** Validates a submit body and builds the job the shard will store; throws a 400 or 413 on bad input. */
export function toNewJob(
  body: unknown,
  ctx: { userId: string; shard: number; now: number; allowPrivateTargets: boolean },
): NewJob {
  const parsed = SubmitSchema.safeParse(body);
  if (!parsed.success) throw new InvalidRequestError("the job is invalid", zodDetails(parsed.error));
  const input = parsed.data;
  const payloadBytes = new TextEncoder().encode(JSON.stringify(input.payload ?? null)).byteLength;
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(
      `payload is ${payloadBytes} bytes; at most ${MAX_PAYLOAD_BYTES} are allowed`,
    );
  }
  const errors = semanticErrors(input, ctx.now, ctx.allowPrivateTargets);
  if (errors.length > 0) throw new InvalidRequestError("the job is invalid", errors);
  const recurrence = recurrenceOf({
    intervalSeconds: input.interval_seconds,
    cron: input.cron,
    timezone: input.timezone,
  });
  const requested = input.run_at === undefined ? undefined : Date.parse(input.run_at);
  return {
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
  };
}
