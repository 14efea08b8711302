// The submit rules that the schema alone cannot state: combinations of fields, the executor's payload,
// calendar rules, how far ahead a job may be. The same rules hold for a submit (the API checks them)
// and for a stored job with a PATCH applied (the shard checks them). Pure: what the executors say
// about a payload or a target comes in as `RuleChecks` (src/executors/rule-checks.ts), `now` as an
// argument.
import type { ErrorDetail } from "./error-detail";
import { cronError, timezoneError } from "./schedule";

/** Furthest ahead a run_at may be. */
export const MAX_FUTURE_MS = 5 * 366 * 24 * 60 * 60 * 1000;

/** The fields of a job the submit rules look at (a submit body, or a stored job with a PATCH applied). */
export interface RuleInput {
  type: string;
  payload?: unknown;
  interval_seconds?: number | undefined;
  cron?: string | undefined;
  timezone?: string | undefined;
  callback_url?: string | undefined;
  run_at?: string | undefined;
  overlap?: string | undefined;
  catch_up?: string | undefined;
  /** Only whether there is one matters to the rules. */
  debounce?: unknown;
  depends_on?: readonly string[] | undefined;
}

/** What the executors decide: a payload's problems (null: no executor of that type), a target's. */
export interface RuleChecks {
  payloadErrors(type: string, payload: unknown): ErrorDetail[] | null;
  targetError(url: string): string | null;
}

/** A stored job (JobRow field names) as the submit rules see it; run_at is checked where it is sent. */
export function rulesOfRow(row: {
  type: string;
  payload: unknown;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  callbackUrl: string | null;
  overlap?: string;
  catchUp?: string;
  debounce?: unknown;
  dependsOn?: string[] | null;
}): RuleInput {
  return {
    type: row.type,
    payload: row.payload ?? null,
    interval_seconds: row.intervalSeconds ?? undefined,
    cron: row.cron ?? undefined,
    timezone: row.timezone ?? undefined,
    callback_url: row.callbackUrl ?? undefined,
    run_at: undefined,
    overlap: row.overlap,
    catch_up: row.catchUp,
    debounce: row.debounce ?? undefined,
    depends_on: row.dependsOn ?? undefined,
  };
}

/** A recurring-only field set on a job that does not recur. */
const ONLY_RECURRING = (field: string, byDefault: string) =>
  `${field} applies only to recurring jobs (interval_seconds or cron); a one-shot job takes ${byDefault}`;

/** Every rule `input` breaks, as 400 details. */
export function jobRuleErrors(input: RuleInput, now: number, checks: RuleChecks): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const payloadErrors = checks.payloadErrors(input.type, input.payload ?? null);
  if (payloadErrors === null) errors.push({ path: "type", message: `unknown job type "${input.type}"` });
  else errors.push(...payloadErrors);
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
    const refused = checks.targetError(input.callback_url);
    if (refused) errors.push({ path: "callback_url", message: refused });
  }
  const recurring = input.interval_seconds !== undefined || input.cron !== undefined;
  if (!recurring && input.overlap !== undefined && input.overlap !== "skip") {
    errors.push({ path: "overlap", message: ONLY_RECURRING("overlap", "skip") });
  }
  if (!recurring && input.catch_up !== undefined && input.catch_up !== "none") {
    errors.push({ path: "catch_up", message: ONLY_RECURRING("catch_up", "none") });
  }
  if (input.debounce !== undefined && recurring) {
    errors.push({
      path: "debounce",
      message: "debounce applies only to one-shot jobs: leave out interval_seconds and cron",
    });
  }
  if (input.debounce !== undefined && input.run_at !== undefined) {
    errors.push({
      path: "run_at",
      message: "a debounced job runs delay_seconds after the latest submit: leave run_at out",
    });
  }
  if (input.depends_on !== undefined && recurring) {
    errors.push({
      path: "depends_on",
      message: "dependencies apply only to one-shot jobs: leave out interval_seconds and cron",
    });
  }
  if (input.depends_on !== undefined && input.debounce !== undefined) {
    errors.push({
      path: "depends_on",
      message: "a debounced job cannot have dependencies: it is replaced by the next submit with its key",
    });
  }
  if (input.run_at !== undefined && Date.parse(input.run_at) > now + MAX_FUTURE_MS) {
    errors.push({ path: "run_at", message: "run_at must be at most 5 years ahead" });
  }
  return errors;
}
