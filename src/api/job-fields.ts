// Each job field's own rules, shared by the submit body and the PATCH body (schemas.ts builds both),
// and the helpers that make a field optional or defaulted with its description kept.
import { z } from "zod";
import { batchRef, DependencyPolicySchema, MAX_DEPENDENCIES } from "../core/dependencies";
import { isJobId } from "../core/ids";
import { JsonValue } from "../core/job";
import { resultLocationError } from "../core/result-location";
import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from "../core/state";

/** Unicode control characters (category Cc: U+0000–U+001F and U+007F–U+009F, NUL, CR, LF, ESC…). */
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * A string people read as a name (a job's name, label keys and values, flow-control and debounce
 * keys, a user's name): no control characters (docs/design.md, HTTP contract), so no NUL, line break
 * or terminal escape reaches a log line, a listing or the dashboard.
 */
export const nameText = (schema: z.ZodString, what: string) =>
  schema.refine((s) => !CONTROL_CHARACTER.test(s), `${what} must not contain control characters`);

export const PoolName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "pool names are 1-64 of A-Z a-z 0-9 _ . -");

/** A flow-control key, as the submit's flow_control.key allows and GET /v1/flow-control/:key names it. */
export const FlowKeyName = nameText(z.string().min(1).max(200), "flow-control keys").describe(
  "any string without control characters: one key per customer, tenant, endpoint…",
);

/** Absent or null: undefined. Keeps the field's description where the OpenAPI document shows it. */
export const optional = <T extends z.ZodType>(schema: T) => {
  const lenient = schema.nullish().transform((v) => v ?? undefined);
  return schema.description ? lenient.describe(schema.description) : lenient;
};

/** Fields of an http payload that people put at the top level of a submit by mistake. */
const PAYLOAD_FIELDS = new Set(["url", "method", "headers", "body"]);

/** Fields a submit takes and a PATCH does not, and why. */
const SUBMIT_ONLY: Record<string, string> = {
  debounce: "debounce cannot be changed by PATCH: submit again with the same key to replace the pending job",
  depends_on: "depends_on cannot be changed by PATCH: it is fixed when the job is submitted",
  on_dependency_failure:
    "on_dependency_failure cannot be changed by PATCH: it is fixed when the job is submitted",
};

/** Unknown fields, with a hint where the field belongs in `payload` (or why a PATCH refuses it). */
function unknownFieldsMessage(keys: readonly string[]): string {
  return keys
    .map((k) =>
      PAYLOAD_FIELDS.has(k)
        ? `unknown field "${k}": did you mean payload.${k}? (an http job's request goes in "payload")`
        : (SUBMIT_ONLY[k] ?? `unknown field "${k}"`),
    )
    .join("; ");
}

/** A date-time without a zone is ambiguous; say so rather than "invalid". */
export const Rfc3339 = z.iso.datetime({
  offset: true,
  error: (issue) =>
    typeof issue.input === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(issue.input)
      ? "a time zone is required: end it with Z (UTC) or an offset such as +01:00, e.g. 2026-11-26T10:00:00Z"
      : "must be an RFC 3339 date-time with Z or an offset, e.g. 2026-11-26T10:00:00Z",
});

/** A strict object's error for unknown fields, with the payload hint. */
export const unknownFields = (issue: { code?: string; keys?: readonly string[] }) =>
  issue.code === "unrecognized_keys" && issue.keys ? unknownFieldsMessage(issue.keys) : undefined;

/** The wrapper (a default, optional, nullable) with the description of the field it wraps. */
export const described = <T extends z.ZodType>(wrapper: T, field: z.ZodType): T =>
  field.description ? wrapper.describe(field.description) : wrapper;

/** Each job field's own rules, shared by the submit body and the PATCH body. */
export const JobField = {
  type: z.string().min(1).max(64).describe("the executor: `http`, `noop`, or another registered one"),
  payload: JsonValue.describe(
    "input for the executor, at most 64 KiB; for `http` an HttpPayload (url, method, headers, body)",
  ),
  run_at: Rfc3339.describe(
    "first (or only) execution time; default now; in the past runs now; at most 5 years ahead",
  ),
  interval_seconds: z
    .int()
    .min(1)
    .max(31_536_000)
    .describe("recurring at a fixed rate from run_at; missed occurrences are skipped, never burst"),
  cron: z
    .string()
    .min(1)
    .max(200)
    .describe("5-field cron: recurring by calendar; exclusive with interval_seconds"),
  timezone: z.string().min(1).max(64).describe("IANA time zone of `cron`; default UTC"),
  priority: z.int().min(0).max(100).describe("higher runs first among due jobs"),
  max_retries: z.int().min(0).max(50).describe("retries of one occurrence after its first attempt"),
  retry_delay_seconds: z
    .int()
    .min(1)
    .max(86_400)
    .describe("base of exponential backoff: base × 2^(retry−1), with jitter, capped"),
  timeout_seconds: z
    .int()
    .min(1)
    .max(900)
    .describe("an attempt not finished by then is timed_out and retried"),
  result_location: z
    .string()
    .max(512)
    .regex(/^r2:\/\/[A-Za-z0-9!\-_.*'()/]{1,500}$/, "must be r2://<key-prefix> (letters, digits, !-_.*'()/)")
    .refine((location) => resultLocationError(location) === null, "must not contain `..` segments")
    .describe(
      "r2://<key-prefix> writes each result to the results bucket under your own root (results/<user_id>/<key-prefix>/…; `..` segments are refused); none keeps a small result inline",
    ),
  resources: z
    .record(PoolName, z.int().min(1, "units must be a positive integer").max(1_000_000))
    .refine((r) => Object.keys(r).length <= 16, "at most 16 pools")
    .describe("pool → units, held from dispatch until the attempt ends"),
  name: nameText(z.string().max(200), "names").describe("a label for people; no control characters"),
  labels: z
    .record(
      nameText(z.string().min(1).max(64, "label keys are at most 64 characters"), "label keys"),
      nameText(z.string().max(256, "label values are at most 256 characters"), "label values"),
    )
    .refine((l) => Object.keys(l).length <= 10, "at most 10 labels")
    .describe("for filtering (label=key:value) and bulk actions"),
  callback_url: z
    .string()
    .max(2048)
    .describe("the job object is POSTed here after each finished occurrence, signed like a webhook"),
  retry_policy: z
    .enum(["all", "transient"])
    .describe("transient: retry only network errors, timeouts, 408, 425, 429 and 5xx"),
  expires_after_seconds: z
    .int()
    .min(1)
    .max(31_536_000)
    .describe("an occurrence not started this long after its due time fails with error `expired`"),
  flow_control: z
    .strictObject({
      key: FlowKeyName,
      concurrency: z.int().min(1).max(10_000).optional().describe("at most this many attempts run at once"),
      rate: z.int().min(1).max(10_000).optional().describe("at most this many attempts start per period"),
      period_seconds: z.int().min(1).max(86_400).optional().describe("the rate's window; default 1"),
    })
    .refine((f) => f.concurrency !== undefined || f.rate !== undefined, {
      message: "give concurrency, rate or both",
      path: ["concurrency"],
    })
    .describe(
      "limits shared by all of the user's jobs with the same key (no set-up; an idle key costs nothing)",
    ),
  debounce: z
    .strictObject({
      key: nameText(z.string().min(1).max(200), "debounce keys").describe(
        "any string without control characters: one pending job per key",
      ),
      delay_seconds: z.int().min(1).max(86_400).describe("the job runs this long after the latest submit"),
      max_wait_seconds: z
        .int()
        .min(1)
        .max(31_536_000)
        .optional()
        .describe("but no later than this long after the first; at least delay_seconds"),
    })
    .refine((d) => d.max_wait_seconds === undefined || d.max_wait_seconds >= d.delay_seconds, {
      message: "max_wait_seconds must be at least delay_seconds",
      path: ["max_wait_seconds"],
    })
    .describe(
      "one-shot jobs: while the job with this key has not started, a submit with the key replaces it (200, same id)",
    ),
  depends_on: z
    .array(
      z
        .string()
        .refine(
          (id) => isJobId(id) || batchRef(id) !== null,
          'each entry is a job id, or inside a batch "@N" naming an earlier item',
        ),
    )
    .min(1)
    .max(MAX_DEPENDENCIES, `at most ${MAX_DEPENDENCIES} dependencies`)
    .refine((ids) => new Set(ids).size === ids.length, "an entry is repeated")
    .describe(
      'the job runs only after each of these of your jobs has succeeded (≤ 100; in a batch, "@N" names the Nth item, an earlier one)',
    ),
  on_dependency_failure: DependencyPolicySchema.describe(
    "when a dependency fails or is cancelled: fail (this job fails with dependency_failed, and so do its own dependents) or run (it runs anyway)",
  ),
  overlap: z
    .enum(OVERLAP_POLICIES)
    .describe(
      "recurring jobs: skip (an occurrence due while the previous one runs is skipped), buffer_one (it runs as soon as the previous one ends; at most one waits) or cancel_other (the running attempt is cancelled and the new occurrence starts)",
    ),
  catch_up: z
    .enum(CATCH_UP_POLICIES)
    .describe(
      "recurring jobs: occurrences missed while paused or down are skipped (none), run once for all (one) or each run, oldest first, within catch_up_window_seconds (all)",
    ),
  catch_up_window_seconds: z
    .int()
    .min(1)
    .max(604_800)
    .describe("catch_up all: only missed occurrences at most this old run"),
};

/** The field with a default, keeping its description. */
export const withDefault = <T extends z.ZodType>(field: T, value: z.output<T>) =>
  described(field.default(value as never), field);
