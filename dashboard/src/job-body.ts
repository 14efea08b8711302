// A job's fields as form state (the submit and edit forms), and their translation to API bodies: the
// submit body, and for an edit only what changed. Bad entries (not JSON, a label without a colon) are
// reported here, before anything is sent. No DOM: tested in node (job-body.test.ts).

import type { RetryPolicy } from "../../src/core/retry-policy";
import type { Recurrence } from "../../src/core/schedule";
import type { CatchUp, Overlap } from "../../src/core/state";
import type { Debounce, Job } from "./api";
import { DEFAULT_DEPENDENCY_FAILURE, type DependencyFailure, MAX_DEPENDENCIES } from "./dependencies";

export type ScheduleKind = "once" | "interval" | "cron";

export interface JobForm {
  type: string;
  name: string;
  url: string;
  method: string;
  /** http only: one "Name: value" a line. */
  headers: string;
  payload: string;
  schedule: ScheduleKind;
  runAt: string;
  intervalSeconds: string;
  cron: string;
  timezone: string;
  priority: string;
  maxRetries: string;
  timeoutSeconds: string;
  /** Sent only when not the default. */
  retryDelaySeconds: string;
  retryPolicy: RetryPolicy;
  /** Empty: absent (none). */
  expiresAfterSeconds: string;
  callbackUrl: string;
  /** r2://<key-prefix>; set at submit (PATCH does not take it). */
  resultLocation: string;
  resources: string;
  labels: string;
  /** flow_control: sent only with a key; an empty limit is absent. */
  flowKey: string;
  flowConcurrency: string;
  flowRate: string;
  flowPeriodSeconds: string;
  /** Recurring schedules only; the defaults are not sent. */
  overlap: Overlap;
  catchUp: CatchUp;
  catchUpWindowSeconds: string;
  /** One-shot jobs only, sent only with a key; set at submit (PATCH does not take it). */
  debounceKey: string;
  debounceDelaySeconds: string;
  debounceMaxWaitSeconds: string;
  /** Job ids, comma or whitespace separated; set at submit (PATCH does not take them). */
  dependsOn: string;
  /** Sent only with dependencies, and only when not the default. */
  onDependencyFailure: DependencyFailure;
}

/** The server's defaults (docs/design.md, submit table), which the submit body leaves out. */
export const DEFAULT_OVERLAP: Overlap = "skip";
export const DEFAULT_CATCH_UP: CatchUp = "none";
export const DEFAULT_CATCH_UP_WINDOW_SECONDS = 3600;
export const DEFAULT_RETRY_DELAY_SECONDS = 30;
export const DEFAULT_RETRY_POLICY: RetryPolicy = "all";

export const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export const emptyForm = (): JobForm => ({
  type: "noop",
  name: "",
  url: "",
  method: "POST",
  headers: "",
  payload: "",
  schedule: "once",
  runAt: "",
  intervalSeconds: "60",
  cron: "*/5 * * * *",
  timezone: BROWSER_ZONE,
  priority: "50",
  maxRetries: "3",
  timeoutSeconds: "60",
  retryDelaySeconds: String(DEFAULT_RETRY_DELAY_SECONDS),
  retryPolicy: DEFAULT_RETRY_POLICY,
  expiresAfterSeconds: "",
  callbackUrl: "",
  resultLocation: "",
  resources: "",
  labels: "",
  flowKey: "",
  flowConcurrency: "",
  flowRate: "",
  flowPeriodSeconds: "",
  overlap: DEFAULT_OVERLAP,
  catchUp: DEFAULT_CATCH_UP,
  catchUpWindowSeconds: String(DEFAULT_CATCH_UP_WINDOW_SECONDS),
  debounceKey: "",
  debounceDelaySeconds: "",
  debounceMaxWaitSeconds: "",
  dependsOn: "",
  onDependencyFailure: DEFAULT_DEPENDENCY_FAILURE,
});

/** "a:1, b:2" → {a: 1, b: 2}; `number` parses the values. */
function pairs<T>(text: string, what: string, value: (v: string) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of text.split(",").map((s) => s.trim())) {
    if (!item) continue;
    const at = item.indexOf(":");
    if (at <= 0) throw new Error(`${what}: "${item}" is not key:value`);
    out[item.slice(0, at).trim()] = value(item.slice(at + 1).trim());
  }
  return out;
}

/** "job_a, job_b job_c" → ["job_a", "job_b", "job_c"]: commas or whitespace between, a repeat once. */
export function jobIdsOf(text: string): string[] {
  const ids = [...new Set(text.split(/[\s,]+/).filter((id) => id !== ""))];
  if (ids.length > MAX_DEPENDENCIES)
    throw new Error(`depends on: at most ${MAX_DEPENDENCIES} job ids (${ids.length} given)`);
  return ids;
}

function units(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`resources: "${v}" is not a whole number of units`);
  return n;
}

function integer(v: string, what: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n)) throw new Error(`${what} must be a whole number`);
  return n;
}

/** An optional whole number: empty is absent. */
function optionalInteger(v: string, what: string): number | undefined {
  return v.trim() === "" ? undefined : integer(v, what);
}

/** The fields of `entries` whose value is not undefined. */
function defined(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

function flowControlOf(form: JobForm): Record<string, unknown> | undefined {
  const key = form.flowKey.trim();
  if (!key) return undefined;
  return defined({
    key,
    concurrency: optionalInteger(form.flowConcurrency, "flow-control concurrency"),
    rate: optionalInteger(form.flowRate, "flow-control rate"),
    period_seconds: optionalInteger(form.flowPeriodSeconds, "flow-control period"),
  });
}

function debounceOf(form: JobForm): Record<string, unknown> | undefined {
  const key = form.debounceKey.trim();
  if (!key) return undefined;
  return defined({
    key,
    delay_seconds: integer(form.debounceDelaySeconds, "debounce delay"),
    max_wait_seconds: optionalInteger(form.debounceMaxWaitSeconds, "debounce max wait"),
  });
}

/** "Name: value" lines → {Name: "value"}; blank lines are skipped. */
export function headersOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (!line) continue;
    const at = line.indexOf(":");
    if (at <= 0) throw new Error(`headers: "${line}" is not Name: value`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

/**
 * What is wrong with a JSON text, as the payload editor shows it while one types (null: valid or
 * empty). The parser's own message, which names the position.
 */
export function jsonProblem(text: string): string | null {
  if (!text.trim()) return null;
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function payloadOf(form: JobForm): unknown {
  if (form.type === "http") {
    const body = form.payload.trim() ? parseJson(form.payload, "request body") : undefined;
    const headers = headersOf(form.headers);
    return {
      url: form.url.trim(),
      method: form.method,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(body === undefined ? {} : { body }),
    };
  }
  return form.payload.trim() ? parseJson(form.payload, "payload") : null;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}

export function recurrenceOfForm(form: JobForm): Recurrence {
  if (form.schedule === "cron")
    return { kind: "cron", expression: form.cron.trim(), timezone: form.timezone };
  if (form.schedule === "interval") return { kind: "interval", seconds: Number(form.intervalSeconds) };
  return { kind: "once" };
}

/** The submit body (POST /v1/jobs). Throws a readable Error for an entry that cannot be sent. */
export function submitBody(form: JobForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: form.type.trim(),
    payload: payloadOf(form),
    priority: integer(form.priority, "priority"),
    max_retries: integer(form.maxRetries, "max retries"),
    timeout_seconds: integer(form.timeoutSeconds, "timeout"),
  };
  if (form.name.trim()) body.name = form.name.trim();
  const retryDelay = integer(form.retryDelaySeconds, "retry delay");
  if (retryDelay !== DEFAULT_RETRY_DELAY_SECONDS) body.retry_delay_seconds = retryDelay;
  if (form.retryPolicy !== DEFAULT_RETRY_POLICY) body.retry_policy = form.retryPolicy;
  const expires = optionalInteger(form.expiresAfterSeconds, "expires after");
  if (expires !== undefined) body.expires_after_seconds = expires;
  if (form.callbackUrl.trim()) body.callback_url = form.callbackUrl.trim();
  if (form.resultLocation.trim()) body.result_location = form.resultLocation.trim();
  if (form.runAt) body.run_at = new Date(form.runAt).toISOString();
  if (form.schedule === "interval") body.interval_seconds = integer(form.intervalSeconds, "interval");
  if (form.schedule === "cron") {
    body.cron = form.cron.trim();
    body.timezone = form.timezone;
  }
  const resources = pairs(form.resources, "resources", units);
  if (Object.keys(resources).length) body.resources = resources;
  const labels = pairs(form.labels, "labels", (v) => v);
  if (Object.keys(labels).length) body.labels = labels;
  const flowControl = flowControlOf(form);
  if (flowControl) body.flow_control = flowControl;
  if (form.schedule === "once") {
    const debounce = debounceOf(form);
    if (debounce) body.debounce = debounce;
  } else {
    if (form.overlap !== DEFAULT_OVERLAP) body.overlap = form.overlap;
    if (form.catchUp !== DEFAULT_CATCH_UP) body.catch_up = form.catchUp;
    // The window matters only to `all`; the form shows it only then.
    const window = form.catchUp === "all" ? integer(form.catchUpWindowSeconds, "catch-up window") : undefined;
    if (window !== undefined && window !== DEFAULT_CATCH_UP_WINDOW_SECONDS)
      body.catch_up_window_seconds = window;
  }
  const dependsOn = jobIdsOf(form.dependsOn);
  if (dependsOn.length) {
    body.depends_on = dependsOn;
    if (form.onDependencyFailure !== DEFAULT_DEPENDENCY_FAILURE)
      body.on_dependency_failure = form.onDependencyFailure;
  }
  return body;
}

/** The form filled from an existing job, for the editor. */
export function formOfJob(job: Job): JobForm {
  const flow = job.flow_control;
  const debounce: Debounce | null | undefined = job.debounce;
  const http = job.type === "http" && job.payload && typeof job.payload === "object";
  const payload = job.payload as {
    url?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
  } | null;
  return {
    ...emptyForm(),
    type: job.type,
    name: job.name ?? "",
    url: http ? (payload?.url ?? "") : "",
    method: http ? (payload?.method ?? "POST") : "POST",
    headers: http
      ? Object.entries(payload?.headers ?? {})
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n")
      : "",
    payload: http
      ? payload?.body === undefined
        ? ""
        : JSON.stringify(payload.body)
      : job.payload === null
        ? ""
        : JSON.stringify(job.payload),
    schedule: job.cron ? "cron" : job.interval_seconds ? "interval" : "once",
    intervalSeconds: String(job.interval_seconds ?? 60),
    cron: job.cron ?? "*/5 * * * *",
    timezone: job.timezone ?? "UTC",
    priority: String(job.priority),
    maxRetries: String(job.max_retries),
    timeoutSeconds: String(job.timeout_seconds),
    retryDelaySeconds: String(job.retry_delay_seconds),
    retryPolicy: job.retry_policy,
    expiresAfterSeconds: numberText(job.expires_after_seconds),
    callbackUrl: job.callback_url ?? "",
    resultLocation: job.result_location ?? "",
    resources: Object.entries(job.resources)
      .map(([k, v]) => `${k}:${v}`)
      .join(", "),
    labels: Object.entries(job.labels ?? {})
      .map(([k, v]) => `${k}:${v}`)
      .join(", "),
    flowKey: flow?.key ?? "",
    flowConcurrency: numberText(flow?.concurrency),
    flowRate: numberText(flow?.rate),
    flowPeriodSeconds: numberText(flow?.period_seconds),
    overlap: job.overlap ?? DEFAULT_OVERLAP,
    catchUp: job.catch_up ?? DEFAULT_CATCH_UP,
    catchUpWindowSeconds: String(job.catch_up_window_seconds ?? DEFAULT_CATCH_UP_WINDOW_SECONDS),
    debounceKey: debounce?.key ?? "",
    debounceDelaySeconds: numberText(debounce?.delay_seconds),
    debounceMaxWaitSeconds: numberText(debounce?.max_wait_seconds),
    dependsOn: (job.depends_on ?? []).join(", "),
    onDependencyFailure: job.on_dependency_failure ?? DEFAULT_DEPENDENCY_FAILURE,
  };
}

const numberText = (n: number | null | undefined) => (n === null || n === undefined ? "" : String(n));

/** What a PATCH sends for a field the edited form no longer has: cleared, or back to its default. */
const CLEARED: Record<string, unknown> = {
  interval_seconds: null,
  cron: null,
  timezone: null,
  name: null,
  resources: {},
  labels: {},
  flow_control: null,
  overlap: DEFAULT_OVERLAP,
  catch_up: DEFAULT_CATCH_UP,
  catch_up_window_seconds: DEFAULT_CATCH_UP_WINDOW_SECONDS,
  retry_delay_seconds: DEFAULT_RETRY_DELAY_SECONDS,
  retry_policy: DEFAULT_RETRY_POLICY,
  expires_after_seconds: null,
  callback_url: null,
};

/** Submit fields PATCH does not take: a job's type, debounce, dependencies and result location (submit only). */
const NOT_PATCHED = new Set(["type", "debounce", "depends_on", "on_dependency_failure", "result_location"]);

/**
 * The fields of `after` that differ from `before` (both submit bodies), with removals explicit: a field
 * the new form no longer has is cleared or set back to its default (cron → interval clears the cron, an
 * emptied flow-control key sends `flow_control: null`, a recurring job made one-shot gets `overlap` and
 * `catch_up` back to their defaults, which a one-shot job must have).
 */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>) {
  const change: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (NOT_PATCHED.has(key)) continue;
    if (JSON.stringify(value) !== JSON.stringify(before[key])) change[key] = value;
  }
  for (const [key, cleared] of Object.entries(CLEARED)) {
    if (key in before && !(key in after)) change[key] = cleared;
  }
  return change;
}
