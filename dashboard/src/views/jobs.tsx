// The job list: filters (status, type, name prefix, labels) kept in the URL, cursor paging, and the
// page re-read every two seconds so statuses change in place.
import { useState } from "preact/hooks";
import { call, JOB_STATUSES, type JobPage } from "../api";
import { ErrorLine, StatusBadge, Time } from "../components";
import { usePolling } from "../poll";
import { Link, navigate, route } from "../router";

const REFRESH_MS = 2_000;
const FILTERS = ["status", "type", "name", "label"] as const;

function queryOf(search: string): URLSearchParams {
  return new URLSearchParams(search.split("?")[1] ?? "");
}

export function JobsView() {
  const query = queryOf(route.value);
  const [draft, setDraft] = useState(() => ({
    status: query.get("status") ?? "",
    type: query.get("type") ?? "",
    name: query.get("name") ?? "",
    label: query.getAll("label").join(", "),
  }));
  // Cursors of the pages before this one, for "Previous"; the URL holds the current one.
  const [earlier, setEarlier] = useState<string[]>([]);

  const apiQuery = new URLSearchParams();
  for (const key of FILTERS) for (const v of query.getAll(key)) apiQuery.append(key, v);
  const cursor = query.get("cursor");
  if (cursor) apiQuery.set("cursor", cursor);
  apiQuery.set("limit", "20");
  const listed = usePolling(() => call<JobPage>("GET", `/v1/jobs?${apiQuery}`), REFRESH_MS, [
    apiQuery.toString(),
  ]);

  function apply(e: Event) {
    e.preventDefault();
    const next = new URLSearchParams();
    if (draft.status) next.set("status", draft.status);
    if (draft.type.trim()) next.set("type", draft.type.trim());
    if (draft.name.trim()) next.set("name", draft.name.trim());
    for (const label of draft.label.split(",").map((l) => l.trim())) if (label) next.append("label", label);
    setEarlier([]);
    navigate(`/jobs${next.size ? `?${next}` : ""}`);
  }

  function page(to: string | null, back: boolean) {
    const next = queryOf(route.value);
    if (to) next.set("cursor", to);
    else next.delete("cursor");
    setEarlier(back ? earlier.slice(0, -1) : [...earlier, cursor ?? ""]);
    navigate(`/jobs?${next}`);
  }

  const jobs = listed.data?.jobs ?? [];
  return (
    <>
      <h1>Jobs</h1>
      <form class="filters" onSubmit={apply}>
        <label>
          Status
          <select
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}
          >
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <input value={draft.type} onInput={(e) => setDraft({ ...draft, type: e.currentTarget.value })} />
        </label>
        <label>
          Name starts with
          <input value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
        </label>
        <label>
          Labels (key:value, …)
          <input value={draft.label} onInput={(e) => setDraft({ ...draft, label: e.currentTarget.value })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={listed.error} />
      <table class="jobs">
        <thead>
          <tr>
            <th>Status</th>
            <th>Name</th>
            <th>Type</th>
            <th>Schedule</th>
            <th>Next / last run</th>
            <th>Runs</th>
            <th>Priority</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} data-job-id={job.id}>
              <td>
                <StatusBadge status={job.status} />
              </td>
              <td>
                <Link to={`/jobs/${job.id}`}>{job.name ?? job.id}</Link>
              </td>
              <td>{job.type}</td>
              <td>{job.cron ?? (job.interval_seconds ? `every ${job.interval_seconds} s` : "once")}</td>
              <td>
                <Time iso={job.run_at} />
              </td>
              <td>{job.runs}</td>
              <td>{job.priority}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {listed.data && jobs.length === 0 && (
        <p class="hint">No jobs match (the list follows changes within a few seconds).</p>
      )}
      <div class="pager">
        <button type="button" disabled={!cursor} onClick={() => page(earlier.at(-1) || null, true)}>
          Previous
        </button>
        <button
          type="button"
          disabled={!listed.data?.next_cursor}
          onClick={() => page(listed.data?.next_cursor ?? null, false)}
        >
          Next
        </button>
      </div>
    </>
  );
}
