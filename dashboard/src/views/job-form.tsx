// The fields a job is submitted or edited with, and the preview of a recurring job's next runs.
import { RETRY_POLICIES } from "../../../src/core/retry-policy";
import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from "../../../src/core/state";
import { DEPENDENCY_FAILURE_POLICIES, DEPENDENCY_FAILURE_TEXT, MAX_DEPENDENCIES } from "../dependencies";
import { relativeTime } from "../format";
import { BROWSER_ZONE, type JobForm, jsonProblem, recurrenceOfForm } from "../job-body";
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
              {inZone(at, zone)} <span class="ago">{relativeTime(at)}</span>
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

function Choice<T extends string>(props: {
  label: string;
  value: T;
  options: readonly T[];
  describe: Record<T, string>;
  set: (v: T) => void;
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.set(e.currentTarget.value as T)}>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {props.describe[o]}
          </option>
        ))}
      </select>
    </label>
  );
}

const OVERLAP_TEXT = {
  skip: "skip (default): an occurrence due while the previous one runs is skipped",
  buffer_one: "buffer_one: it runs as soon as the previous one ends",
  cancel_other: "cancel_other: the running attempt is cancelled",
} as const;

const CATCH_UP_TEXT = {
  none: "none (default): missed occurrences are skipped",
  one: "one: one run for all that were missed",
  all: "all: each missed occurrence runs, within a window",
} as const;

/** Overlap and catch-up: recurring schedules only. */
function RecurringPolicy(props: { form: JobForm; set: Set }) {
  const { form, set } = props;
  return (
    <>
      <Choice
        label="Overlap"
        value={form.overlap}
        options={OVERLAP_POLICIES}
        describe={OVERLAP_TEXT}
        set={(overlap) => set({ overlap })}
      />
      <Choice
        label="Catch up"
        value={form.catchUp}
        options={CATCH_UP_POLICIES}
        describe={CATCH_UP_TEXT}
        set={(catchUp) => set({ catchUp })}
      />
      {form.catchUp === "all" && (
        <Field
          label="Catch-up window (seconds)"
          value={form.catchUpWindowSeconds}
          set={(catchUpWindowSeconds) => set({ catchUpWindowSeconds })}
        />
      )}
    </>
  );
}

function FlowControlFields(props: { form: JobForm; set: Set }) {
  const { form, set } = props;
  return (
    <fieldset>
      <legend>Flow control per key</legend>
      <p class="hint">
        Limits shared by all your jobs with the same key (no set-up). Give concurrency, rate or both; an empty
        key means none.
      </p>
      <Field
        label="Flow-control key"
        value={form.flowKey}
        set={(flowKey) => set({ flowKey })}
        placeholder="e.g. customer-42"
      />
      {form.flowKey.trim() && (
        <div class="row">
          <Field
            label="Concurrency (at once)"
            value={form.flowConcurrency}
            set={(flowConcurrency) => set({ flowConcurrency })}
          />
          <Field
            label="Rate (starts per period)"
            value={form.flowRate}
            set={(flowRate) => set({ flowRate })}
          />
          <Field
            label="Period (seconds)"
            value={form.flowPeriodSeconds}
            set={(flowPeriodSeconds) => set({ flowPeriodSeconds })}
            placeholder="1"
          />
        </div>
      )}
    </fieldset>
  );
}

/** Debounce: one-shot jobs, at submit only (PATCH does not take it, so the editor only shows it). */
function DebounceFields(props: { form: JobForm; set: Set; fixed?: boolean }) {
  const { form, set } = props;
  if (props.fixed) {
    return form.debounceKey ? (
      <p class="hint" data-testid="debounce-fixed">
        Debounce key {form.debounceKey}, delay {form.debounceDelaySeconds} s
        {form.debounceMaxWaitSeconds && `, max wait ${form.debounceMaxWaitSeconds} s`} (set at submit; it
        cannot be changed)
      </p>
    ) : null;
  }
  return (
    <fieldset>
      <legend>Debounce</legend>
      <p class="hint">
        A later submit with the same key replaces this job while it has not started, and it runs the delay
        after the latest submit (but no later than the max wait after the first).
      </p>
      <Field label="Debounce key" value={form.debounceKey} set={(debounceKey) => set({ debounceKey })} />
      {form.debounceKey.trim() && (
        <div class="row">
          <Field
            label="Delay (seconds)"
            value={form.debounceDelaySeconds}
            set={(debounceDelaySeconds) => set({ debounceDelaySeconds })}
          />
          <Field
            label="Max wait (seconds)"
            value={form.debounceMaxWaitSeconds}
            set={(debounceMaxWaitSeconds) => set({ debounceMaxWaitSeconds })}
            placeholder="none"
          />
        </div>
      )}
    </fieldset>
  );
}

/** Dependencies: at submit only (PATCH does not take them, so the editor only shows them). */
function DependencyFields(props: { form: JobForm; set: Set; fixed?: boolean }) {
  const { form, set } = props;
  if (props.fixed) {
    return form.dependsOn ? (
      <p class="hint" data-testid="dependencies-fixed">
        Depends on {form.dependsOn}; on dependency failure: {form.onDependencyFailure} (set at submit; they
        cannot be changed)
      </p>
    ) : null;
  }
  return (
    <fieldset>
      <legend>Dependencies</legend>
      <p class="hint">
        The job runs only once every job named here has succeeded (at most {MAX_DEPENDENCIES} of your jobs).
      </p>
      <Field
        label="Depends on"
        value={form.dependsOn}
        set={(dependsOn) => set({ dependsOn })}
        placeholder="job ids, separated by commas or spaces"
      />
      {form.dependsOn.trim() && (
        <Choice
          label="On dependency failure"
          value={form.onDependencyFailure}
          options={DEPENDENCY_FAILURE_POLICIES}
          describe={DEPENDENCY_FAILURE_TEXT}
          set={(onDependencyFailure) => set({ onDependencyFailure })}
        />
      )}
    </fieldset>
  );
}

/** The payload's JSON, checked as one types: the parser's message under it, the box marked. */
function JsonEditor(props: { label: string; value: string; set: (v: string) => void }) {
  const problem = jsonProblem(props.value);
  return (
    <label>
      {props.label}
      <textarea
        class={problem ? "invalid" : undefined}
        aria-invalid={problem ? "true" : undefined}
        value={props.value}
        rows={5}
        spellcheck={false}
        placeholder='{"any": "JSON"}'
        onInput={(e) => props.set(e.currentTarget.value)}
      />
      {problem ? (
        <span class="error" data-testid="payload-problem">
          Not valid JSON: {problem}
        </span>
      ) : (
        <span class="hint" data-testid="payload-ok">
          {props.value.trim() ? "Valid JSON" : "Empty: no payload"}
        </span>
      )}
    </label>
  );
}

const RETRY_POLICY_TEXT = {
  all: "all (default): any failure is retried",
  transient: "transient: only network errors, timeouts, 408, 425, 429 and 5xx",
} as const;

/** Retries, timeouts, expiry, the callback and where results go. */
function DeliveryFields(props: { form: JobForm; set: Set; editing?: boolean }) {
  const { form, set } = props;
  return (
    <fieldset>
      <legend>Retries and delivery</legend>
      <div class="row">
        <Field label="Max retries" value={form.maxRetries} set={(maxRetries) => set({ maxRetries })} />
        <Field
          label="Retry delay (seconds)"
          value={form.retryDelaySeconds}
          set={(retryDelaySeconds) => set({ retryDelaySeconds })}
        />
      </div>
      <Choice
        label="Retry policy"
        value={form.retryPolicy}
        options={RETRY_POLICIES}
        describe={RETRY_POLICY_TEXT}
        set={(retryPolicy) => set({ retryPolicy })}
      />
      <div class="row">
        <Field
          label="Timeout (seconds)"
          value={form.timeoutSeconds}
          set={(timeoutSeconds) => set({ timeoutSeconds })}
        />
        <Field
          label="Expires after (seconds late)"
          value={form.expiresAfterSeconds}
          set={(expiresAfterSeconds) => set({ expiresAfterSeconds })}
          placeholder="never"
        />
      </div>
      <Field
        label="Callback URL"
        value={form.callbackUrl}
        set={(callbackUrl) => set({ callbackUrl })}
        placeholder="https://… (gets the job after each finished occurrence)"
      />
      {props.editing ? (
        form.resultLocation && (
          <p class="hint">Results go to {form.resultLocation} (set at submit; it cannot be changed)</p>
        )
      ) : (
        <Field
          label="Result location"
          value={form.resultLocation}
          set={(resultLocation) => set({ resultLocation })}
          placeholder="r2://prefix/ (empty: kept inline)"
        />
      )}
    </fieldset>
  );
}

/**
 * The fields of a job. `editing`: the editor's form, without what PATCH cannot change (the type is
 * hidden, a debounce and dependencies are shown read-only).
 */
export function JobFields(props: { form: JobForm; set: Set; editing?: boolean }) {
  const { form, set } = props;
  return (
    <>
      {!props.editing && (
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
      {form.type === "http" && (
        <label>
          Headers (one Name: value a line)
          <textarea
            value={form.headers}
            rows={2}
            placeholder="Authorization: Bearer …"
            onInput={(e) => set({ headers: e.currentTarget.value })}
          />
        </label>
      )}
      <JsonEditor
        label={form.type === "http" ? "Request body (JSON)" : "Payload (JSON)"}
        value={form.payload}
        set={(payload) => set({ payload })}
      />
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
        {form.schedule === "once" ? (
          props.editing && <DebounceFields form={form} set={set} fixed />
        ) : (
          <RecurringPolicy form={form} set={set} />
        )}
      </fieldset>
      {form.schedule === "once" && !props.editing && <DebounceFields form={form} set={set} />}
      <DependencyFields form={form} set={set} fixed={props.editing} />
      <Field label="Priority (0–100)" value={form.priority} set={(priority) => set({ priority })} />
      <DeliveryFields form={form} set={set} editing={props.editing} />
      <Field
        label="Resources (pool:units, …)"
        value={form.resources}
        set={(resources) => set({ resources })}
      />
      <Field label="Labels (key:value, …)" value={form.labels} set={(labels) => set({ labels })} />
      <FlowControlFields form={form} set={set} />
    </>
  );
}
