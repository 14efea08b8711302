// One job, re-read every second: its fields, attempts as a timeline, result and errors, and the
// actions its status allows (cancel, pause, resume, run now, retry, edit).
import { useState } from "preact/hooks";
import { call, describeError, FINISHED, isRecurring, type Job } from "../api";
import { ErrorLine, Section, StatusBadge, Time } from "../components";
import { json } from "../format";
import { usePolling } from "../poll";
import { Link } from "../router";
import { EditForm } from "./edit";
import { Timeline } from "./timeline";

const REFRESH_MS = 1_000;

interface Action {
  label: string;
  method: string;
  path: string;
  allowed: (job: Job) => boolean;
  confirm?: string;
}

const ACTIONS: Action[] = [
  {
    label: "Pause",
    method: "POST",
    path: "pause",
    allowed: (j) => !FINISHED.has(j.status) && j.status !== "paused",
  },
  { label: "Resume", method: "POST", path: "resume", allowed: (j) => j.status === "paused" },
  {
    label: "Run now",
    method: "POST",
    path: "run",
    // The contract refuses it (409) for queued, running and paused jobs.
    allowed: (j) => j.status === "scheduled",
  },
  {
    label: "Retry",
    method: "POST",
    path: "retry",
    allowed: (j) => (j.status === "failed" || j.status === "cancelled") && !isRecurring(j),
  },
  {
    label: "Cancel",
    method: "DELETE",
    path: "",
    allowed: (j) => !FINISHED.has(j.status),
    confirm: "Cancel this job? A recurring job will have no further occurrences.",
  },
];

/** A result kept in the results bucket (result_location): read back through GET /v1/jobs/:id/result. */
function StoredResult(props: { id: string }) {
  const [text, setText] = useState<string | null>(null);
  async function load() {
    try {
      const body = await call<unknown>("GET", `/v1/jobs/${encodeURIComponent(props.id)}/result`);
      setText(typeof body === "string" ? body : json(body));
    } catch (err) {
      setText(describeError(err));
    }
  }
  return text === null ? (
    <button type="button" onClick={load}>
      Load the stored result
    </button>
  ) : (
    <pre class="result">{text}</pre>
  );
}

export function JobView(props: { id: string }) {
  const polled = usePolling(() => call<Job>("GET", `/v1/jobs/${encodeURIComponent(props.id)}`), REFRESH_MS, [
    props.id,
  ]);
  const [actionError, setActionError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const job = polled.data;

  async function act(action: Action) {
    if (action.confirm && !confirm(action.confirm)) return;
    setActionError(null);
    try {
      const suffix = action.path ? `/${action.path}` : "";
      await call<Job>(action.method, `/v1/jobs/${encodeURIComponent(props.id)}${suffix}`);
      polled.refresh();
    } catch (err) {
      setActionError(describeError(err));
    }
  }

  if (!job) return <ErrorLine error={polled.error ?? null} />;
  return (
    <>
      <p>
        <Link to="/jobs">← Jobs</Link>
      </p>
      <h1>
        {job.name ?? job.id} <StatusBadge status={job.status} />
      </h1>
      <div class="actions">
        {ACTIONS.filter((a) => a.allowed(job)).map((a) => (
          <button key={a.label} type="button" onClick={() => act(a)}>
            {a.label}
          </button>
        ))}
        {!FINISHED.has(job.status) && (
          <button type="button" onClick={() => setEditing(!editing)}>
            {editing ? "Close editor" : "Edit"}
          </button>
        )}
      </div>
      <ErrorLine error={actionError ?? polled.error} />
      {editing && (
        <EditForm
          job={job}
          onSaved={() => {
            setEditing(false);
            polled.refresh();
          }}
        />
      )}
      <dl class="fields">
        <dt>id</dt>
        <dd>{job.id}</dd>
        <dt>type</dt>
        <dd>{job.type}</dd>
        <dt>schedule</dt>
        <dd>
          {job.cron
            ? `cron ${job.cron} (${job.timezone ?? "UTC"})`
            : job.interval_seconds
              ? `every ${job.interval_seconds} s`
              : "once"}
        </dd>
        <dt>run at</dt>
        <dd>
          <Time iso={job.run_at} />
        </dd>
        <dt>priority</dt>
        <dd>{job.priority}</dd>
        <dt>runs</dt>
        <dd>{job.runs}</dd>
        <dt>retries</dt>
        <dd>
          {job.current_retries} of {job.max_retries}
        </dd>
        <dt>resources</dt>
        <dd>{Object.keys(job.resources).length ? json(job.resources) : "none"}</dd>
        <dt>labels</dt>
        <dd>
          {Object.entries(job.labels ?? {})
            .map(([k, v]) => `${k}:${v}`)
            .join(", ") || "none"}
        </dd>
        <dt>created</dt>
        <dd>
          <Time iso={job.created_at} />
        </dd>
      </dl>
      <Section title="Attempts">
        <Timeline attempts={job.attempts} now={Date.now()} />
      </Section>
      <Section title="Result">
        <pre class="result">{job.result === null ? "none yet" : json(job.result)}</pre>
        {job.result_location !== null && job.result !== null && <StoredResult id={job.id} />}
      </Section>
      {job.last_error && (
        <Section title="Last error">
          <p class="error">{job.last_error}</p>
        </Section>
      )}
      <Section title="Payload">
        <pre>{json(job.payload)}</pre>
      </Section>
    </>
  );
}
