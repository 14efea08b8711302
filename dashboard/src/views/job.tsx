// One job, live over its WebSocket watch (src/watch.ts: each change as it happens; read every few
// seconds if the watch cannot open): its fields, attempts as a timeline, result and errors, the state
// of its flow-control key, its dependencies and dependents, and the actions its status allows (cancel,
// pause, resume, run now, retry, edit).
import { useEffect, useState } from "preact/hooks";
import {
  call,
  type Debounce,
  type Dependents,
  describeError,
  FINISHED,
  type FlowKey,
  isRecurring,
  type Job,
} from "../api";
import { ErrorLine, Section, StatusBadge, Time } from "../components";
import {
  blockedText,
  DEFAULT_DEPENDENCY_FAILURE,
  DEPENDENCY_FAILURE_TEXT,
  DEPENDENCY_STATE_TEXT,
  dependenciesOf,
  dependencyFailedText,
} from "../dependencies";
import { json } from "../format";
import { usePolling } from "../poll";
import { Link } from "../router";
import { useJobWatch } from "../watch";
import { EditForm } from "./edit";
import { Timeline } from "./timeline";

const FLOW_KEY_REFRESH_MS = 2_000;

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

/** "key k: at most 2 at once, 5 starts per 1 s". */
function flowControlText(flow: NonNullable<Job["flow_control"]>): string {
  const limits = [
    flow.concurrency === null ? null : `at most ${flow.concurrency} at once`,
    flow.rate === null ? null : `${flow.rate} starts per ${flow.period_seconds} s`,
  ].filter((l) => l !== null);
  return `key ${flow.key}: ${limits.join(", ")}`;
}

/** "key k, 5 s after the latest submit, at most 60 s after the first". */
function debounceText(d: Debounce): string {
  const maxWait = d.max_wait_seconds ? `, at most ${d.max_wait_seconds} s after the first` : "";
  return `key ${d.key}, ${d.delay_seconds} s after the latest submit${maxWait}`;
}

/** How the job's flow-control key stands now (GET /v1/flow-control/:key), re-read every two seconds. */
function FlowKeyPanel(props: { flowKey: string; concurrency: number | null }) {
  const polled = usePolling(
    () => call<FlowKey>("GET", `/v1/flow-control/${encodeURIComponent(props.flowKey)}`),
    FLOW_KEY_REFRESH_MS,
    [props.flowKey],
  );
  const key = polled.data;
  return (
    <Section title={`Flow-control key ${props.flowKey}`}>
      <ErrorLine error={polled.error} />
      <table class="flow-key" data-flow-key={props.flowKey}>
        <thead>
          <tr>
            <th>Running</th>
            <th>Waiting</th>
            <th>Started in the last period</th>
            {props.concurrency !== null && <th>Use</th>}
          </tr>
        </thead>
        <tbody>
          <tr>
            <td data-field="running">{key?.running ?? "—"}</td>
            <td data-field="waiting">{key?.waiting ?? "—"}</td>
            <td data-field="started_last_period">{key?.started_last_period ?? "—"}</td>
            {props.concurrency !== null && (
              <td>
                <meter min={0} max={props.concurrency} value={key?.running ?? 0} />
              </td>
            )}
          </tr>
        </tbody>
      </table>
      <p class="hint">Shared by all your jobs with this key.</p>
    </Section>
  );
}

/** The job's attempts so far: the newest attempt's number (1 for the job's first, retries included). */
export const attemptsMade = (job: Job) => job.attempts[0]?.number ?? 0;

/** Why a job shows no result: not finished yet, or how it ended (a failure says its error). */
function noResultText(job: Job): string {
  if (job.status === "failed")
    return `No result: the job failed${job.last_error ? `: ${job.last_error}` : "."}`;
  if (job.status === "cancelled") return "No result: the job was cancelled.";
  if (job.status === "succeeded") return "No result: it succeeded without one.";
  if (job.last_error)
    return `None yet: the job has not finished (its last attempt failed: ${job.last_error}).`;
  return "None yet: the job has not finished.";
}

/** A link to another job's page. */
function JobLink(props: { id: string }) {
  return <Link to={`/jobs/${encodeURIComponent(props.id)}`}>{props.id}</Link>;
}

/**
 * What the job waits on, from the job object itself (so the watch keeps it current): each dependency
 * linked and marked waiting (in blocked_by) or done, how many still block it, and its failure policy.
 */
function DependenciesSection(props: { job: Job }) {
  const dependencies = dependenciesOf(props.job);
  if (dependencies.length === 0) return null;
  const blocked = blockedText(props.job);
  return (
    <Section title="Dependencies">
      {blocked && (
        <p class="blocked" data-testid="blocked">
          {blocked}
        </p>
      )}
      <ul class="job-links dependencies">
        {dependencies.map((d) => (
          <li key={d.id} data-dependency={d.id} data-state={d.state}>
            <JobLink id={d.id} />{" "}
            <span class={`dependency-${d.state}`}>{DEPENDENCY_STATE_TEXT[d.state]}</span>
          </li>
        ))}
      </ul>
      <p class="hint">
        On dependency failure:{" "}
        <span data-field="on_dependency_failure">
          {DEPENDENCY_FAILURE_TEXT[props.job.on_dependency_failure ?? DEFAULT_DEPENDENCY_FAILURE]}
        </span>
      </p>
    </Section>
  );
}

/**
 * The ids of the jobs that wait on this one (GET /v1/jobs/:id/dependents), read once when the page
 * opens. Any failure (the route missing on an older server included) reads as none: the section is
 * extra, and the page must not break for it.
 */
function useDependents(id: string): string[] {
  const [dependents, setDependents] = useState<string[]>([]);
  useEffect(() => {
    let current = true;
    setDependents([]);
    call<Dependents>("GET", `/v1/jobs/${encodeURIComponent(id)}/dependents`).then(
      (answer) => {
        if (current && Array.isArray(answer?.dependents)) setDependents(answer.dependents);
      },
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [id]);
  return dependents;
}

function DependentsSection(props: { dependents: string[] }) {
  if (props.dependents.length === 0) return null;
  return (
    <Section title="Dependents">
      <ul class="job-links dependents">
        {props.dependents.map((id) => (
          <li key={id} data-dependent={id}>
            <JobLink id={id} />
          </li>
        ))}
      </ul>
      <p class="hint">Your jobs that wait on this one.</p>
    </Section>
  );
}

export function JobView(props: { id: string }) {
  const polled = useJobWatch(props.id);
  const dependents = useDependents(props.id);
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
  const dependencyFailed = dependencyFailedText(job);
  return (
    <>
      <p>
        <Link to="/jobs">← Jobs</Link>
      </p>
      <h1>
        {job.name ?? job.id} <StatusBadge status={job.status} />{" "}
        <span class="live" data-live={String(polled.live)} title="changes arrive as they happen">
          {polled.live ? "live" : ""}
        </span>
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
        <dt title="each run of the schedule (a one-shot job has one; a retry of a finished job starts another)">
          occurrences finished
        </dt>
        <dd data-field="occurrences">{job.runs}</dd>
        <dt title="every try, retries included, over all occurrences">attempts</dt>
        <dd data-field="attempts">{attemptsMade(job)}</dd>
        <dt>retries (this occurrence)</dt>
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
        {job.flow_control && (
          <>
            <dt>flow control</dt>
            <dd data-field="flow_control">{flowControlText(job.flow_control)}</dd>
          </>
        )}
        {isRecurring(job) && (
          <>
            <dt>overlap</dt>
            <dd data-field="overlap">{job.overlap}</dd>
            <dt>catch up</dt>
            <dd data-field="catch_up">
              {job.catch_up === "all" ? `all, within ${job.catch_up_window_seconds} s` : job.catch_up}
            </dd>
          </>
        )}
        {job.debounce && (
          <>
            <dt>debounce</dt>
            <dd data-field="debounce">{debounceText(job.debounce)}</dd>
          </>
        )}
        <dt>created</dt>
        <dd>
          <Time iso={job.created_at} />
        </dd>
      </dl>
      {job.flow_control && (
        <FlowKeyPanel flowKey={job.flow_control.key} concurrency={job.flow_control.concurrency} />
      )}
      <DependenciesSection job={job} />
      <DependentsSection dependents={dependents} />
      <Section title="Attempts">
        <Timeline attempts={job.attempts} now={Date.now()} />
      </Section>
      <Section title="Result">
        {job.result === null ? (
          <p class={job.status === "failed" ? "error" : "hint"} data-testid="no-result">
            {noResultText(job)}
          </p>
        ) : (
          <pre class="result">{json(job.result)}</pre>
        )}
        {job.result_location !== null && job.result !== null && <StoredResult id={job.id} />}
      </Section>
      {job.last_error && (
        <Section title="Last error">
          <p class="error">{job.last_error}</p>
          {dependencyFailed && <p data-testid="dependency-failed">{dependencyFailed}</p>}
        </Section>
      )}
      <Section title="Payload">
        <pre>{json(job.payload)}</pre>
      </Section>
    </>
  );
}
