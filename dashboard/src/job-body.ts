// A job's fields as form state (the submit and edit forms), and their translation to API bodies: the
// submit body, and for an edit only what changed. Bad entries (not JSON, a label without a colon) are
// reported here, before anything is sent. No DOM: tested in node (job-body.test.ts).
import type { Recurrence } from "../../src/core/schedule";
import type { Job } from "./api";

export type ScheduleKind = "once" | "interval" | "cron";

export interface JobForm {
  type: string;
  name: string;
  url: string;
  method: string;
  payload: string;
  schedule: ScheduleKind;
  runAt: string;
  intervalSeconds: string;
  cron: string;
  timezone: string;
  priority: string;
  maxRetries: string;
  timeoutSeconds: string;
  resources: string;
  labels: string;
}

export const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export const emptyForm = (): JobForm => ({
  type: "noop",
  name: "",
  url: "",
  method: "POST",
  payload: "",
  schedule: "once",
  runAt: "",
  intervalSeconds: "60",
  cron: "*/5 * * * *",
  timezone: BROWSER_ZONE,
  priority: "50",
  maxRetries: "3",
  timeoutSeconds: "60",
  resources: "",
  labels: "",
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

function payloadOf(form: JobForm): unknown {
  if (form.type === "http") {
    const body = form.payload.trim() ? parseJson(form.payload, "request body") : undefined;
    return { url: form.url.trim(), method: form.method, ...(body === undefined ? {} : { body }) };
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
  return body;
}

/** The form filled from an existing job, for the editor. */
export function formOfJob(job: Job): JobForm {
  const http = job.type === "http" && job.payload && typeof job.payload === "object";
  const payload = job.payload as { url?: string; method?: string; body?: unknown } | null;
  return {
    ...emptyForm(),
    type: job.type,
    name: job.name ?? "",
    url: http ? (payload?.url ?? "") : "",
    method: http ? (payload?.method ?? "POST") : "POST",
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
    resources: Object.entries(job.resources)
      .map(([k, v]) => `${k}:${v}`)
      .join(", "),
    labels: Object.entries(job.labels ?? {})
      .map(([k, v]) => `${k}:${v}`)
      .join(", "),
  };
}

/** The fields of `after` that differ from `before` (both submit bodies), with schedule switches explicit. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>) {
  const change: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (key === "type") continue;
    if (JSON.stringify(value) !== JSON.stringify(before[key])) change[key] = value;
  }
  // A schedule field the new form no longer has is cleared (e.g. cron → interval, or back to once).
  for (const key of ["interval_seconds", "cron", "timezone", "name", "resources", "labels"]) {
    if (key in before && !(key in after)) change[key] = key === "resources" || key === "labels" ? {} : null;
  }
  return change;
}
