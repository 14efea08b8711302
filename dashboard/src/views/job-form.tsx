// The fields a job is submitted or edited with, as form state, and their translation to the API body.
// Bad entries (not JSON, a label without a colon) are reported here, before anything is sent.
import type { Recurrence } from "../../../src/core/schedule";
import type { Job } from "../api";
import { inZone, previewRuns } from "../preview";

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

const ZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

export function CronPreview(props: { form: JobForm; runAt?: number }) {
  const rec = recurrenceOfForm(props.form);
  if (rec.kind === "once") return null;
  const preview = previewRuns(rec, Date.now(), 5, props.runAt);
  const zone = rec.kind === "cron" ? rec.timezone : BROWSER_ZONE;
  return (
    <div class="preview" data-testid="run-preview">
      <strong>Next five runs</strong>
      {"error" in preview ? (
        <p class="error">{preview.error}</p>
      ) : (
        <ol>
          {preview.runs.map((at) => (
            <li key={at.getTime()} title={at.toISOString()}>
              {inZone(at, zone)}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

type Set = (change: Partial<JobForm>) => void;

function Field(props: { label: string; value: string; set: (v: string) => void; placeholder?: string }) {
  return (
    <label>
      {props.label}
      <input
        type="text"
        value={props.value}
        placeholder={props.placeholder}
        onInput={(e) => props.set(e.currentTarget.value)}
      />
    </label>
  );
}

/** The editable fields; `typeFixed` hides the type (a job's type cannot change). */
export function JobFields(props: { form: JobForm; set: Set; typeFixed?: boolean }) {
  const { form, set } = props;
  return (
    <>
      {!props.typeFixed && (
        <label>
          Type
          <select value={form.type} onChange={(e) => set({ type: e.currentTarget.value })}>
            <option value="noop">noop (succeeds at once)</option>
            <option value="http">http (calls a webhook)</option>
          </select>
        </label>
      )}
      <Field label="Name" value={form.name} set={(name) => set({ name })} />
      {form.type === "http" && (
        <>
          <Field label="URL" value={form.url} set={(url) => set({ url })} placeholder="https://…" />
          <label>
            Method
            <select value={form.method} onChange={(e) => set({ method: e.currentTarget.value })}>
              {["POST", "PUT", "PATCH", "GET", "DELETE"].map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
        </>
      )}
      <label>
        {form.type === "http" ? "Request body (JSON)" : "Payload (JSON)"}
        <textarea value={form.payload} onInput={(e) => set({ payload: e.currentTarget.value })} rows={3} />
      </label>
      <fieldset>
        <legend>Schedule</legend>
        {(["once", "interval", "cron"] as const).map((kind) => (
          <label key={kind} class="inline">
            <input
              type="radio"
              name="schedule"
              checked={form.schedule === kind}
              onChange={() => set({ schedule: kind })}
            />
            {kind === "once" ? "Once" : kind === "interval" ? "Every N seconds" : "Cron"}
          </label>
        ))}
        <label>
          Run at (first or only run; empty = now)
          <input
            type="datetime-local"
            value={form.runAt}
            onInput={(e) => set({ runAt: e.currentTarget.value })}
          />
        </label>
        {form.schedule === "interval" && (
          <Field
            label="Interval (seconds)"
            value={form.intervalSeconds}
            set={(intervalSeconds) => set({ intervalSeconds })}
          />
        )}
        {form.schedule === "cron" && (
          <>
            <Field label="Cron (5 fields)" value={form.cron} set={(cron) => set({ cron })} />
            <label>
              Time zone
              <input
                list="zones"
                value={form.timezone}
                onInput={(e) => set({ timezone: e.currentTarget.value })}
              />
              <datalist id="zones">
                {ZONES.map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </label>
          </>
        )}
        <CronPreview form={form} runAt={form.runAt ? new Date(form.runAt).getTime() : undefined} />
      </fieldset>
      <Field label="Priority (0–100)" value={form.priority} set={(priority) => set({ priority })} />
      <Field label="Max retries" value={form.maxRetries} set={(maxRetries) => set({ maxRetries })} />
      <Field
        label="Timeout (seconds)"
        value={form.timeoutSeconds}
        set={(timeoutSeconds) => set({ timeoutSeconds })}
      />
      <Field
        label="Resources (pool:units, …)"
        value={form.resources}
        set={(resources) => set({ resources })}
      />
      <Field label="Labels (key:value, …)" value={form.labels} set={(labels) => set({ labels })} />
    </>
  );
}
