// Edit a job (PATCH /v1/jobs/:id): only the fields that changed are sent; they apply from the next
// attempt or occurrence.
import { useState } from "preact/hooks";
import { call, describeError, type Job } from "../api";
import { ErrorLine } from "../components";
import { formOfJob, JobFields, type JobForm, submitBody } from "./job-form";

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

export function EditForm(props: { job: Job; onSaved: () => void }) {
  const [original] = useState(() => formOfJob(props.job));
  const [form, setForm] = useState<JobForm>(original);
  const [error, setError] = useState<string | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      const change = changedFields(submitBody(original), submitBody(form));
      if (Object.keys(change).length === 0) return props.onSaved();
      await call<Job>("PATCH", `/v1/jobs/${encodeURIComponent(props.job.id)}`, change);
      props.onSaved();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <form class="job-form editor" onSubmit={save}>
      <JobFields form={form} set={(change) => setForm({ ...form, ...change })} typeFixed />
      <ErrorLine error={error} />
      <button type="submit">Save changes</button>
    </form>
  );
}
