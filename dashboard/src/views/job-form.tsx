// The fields a job is submitted or edited with, and the preview of a recurring job's next runs.
import { BROWSER_ZONE, type JobForm, recurrenceOfForm } from "../job-body";
import { inZone, previewRuns } from "../preview";

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
