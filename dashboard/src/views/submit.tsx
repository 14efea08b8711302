// Submit a job; a recurring one shows its next five runs (in its time zone) before it is sent.
import { useState } from "preact/hooks";
import { call, describeError, type Job } from "../api";
import { ErrorLine } from "../components";
import { emptyForm, type JobForm, submitBody } from "../job-body";
import { navigate } from "../router";
import { JobFields } from "./job-form";

export function SubmitView() {
  const [form, setForm] = useState<JobForm>(emptyForm);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const job = await call<Job>("POST", "/v1/jobs", submitBody(form));
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Submit a job</h1>
      <form class="job-form" onSubmit={submit}>
        <JobFields form={form} set={(change) => setForm({ ...form, ...change })} />
        <ErrorLine error={error} />
        <button type="submit" disabled={busy}>
          Submit
        </button>
      </form>
    </>
  );
}
