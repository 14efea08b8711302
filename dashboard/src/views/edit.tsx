// Edit a job (PATCH /v1/jobs/:id): only the fields that changed are sent; they apply from the next
// attempt or occurrence.
import { useState } from "preact/hooks";
import { call, describeError, type Job } from "../api";
import { ErrorLine } from "../components";
import { changedFields, formOfJob, type JobForm, submitBody } from "../job-body";
import { JobFields } from "./job-form";

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
      <JobFields form={form} set={(change) => setForm({ ...form, ...change })} editing />
      <ErrorLine error={error} />
      <button type="submit">Save changes</button>
    </form>
  );
}
