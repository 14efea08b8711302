// The job list: status tabs with counts (GET /v1/metrics), a search by id (opens the job) or name prefix,
// the type and labels filters, a time range on when jobs were created (last hour / 24 h / 7 d or two
// date-times: created_after / created_before), all kept in the URL; cursor paging; the page re-read every two seconds so
// statuses change in place; rows picked with checkboxes for a bulk cancel or retry (POST /v1/jobs/cancel
// and /retry with their ids).
import { useEffect, useRef, useState } from "preact/hooks";
import type { JobFilterInput } from "../../../src/api/schemas";
import type { UserMetrics } from "../../../src/core/metrics";
import { call, describeError, JOB_STATUSES, JOB_TYPES, type JobPage } from "../api";
import { ErrorLine, StatusBadge, Time } from "../components";
import { formatInstant } from "../format";
import { usePolling } from "../poll";
import { Link, navigate, route } from "../router";

const REFRESH_MS = 2_000;
const COUNTS_REFRESH_MS = 10_000;
const FILTERS = ["status", "type", "name", "label", "created_after", "created_before"] as const;
/** The time range's quick picks: created within this long before the moment one is picked. */
const RECENT: [string, number][] = [
  ["Last hour", 3_600_000],
  ["Last 24 h", 86_400_000],
  ["Last 7 d", 7 * 86_400_000],
];
/** A search that reads as a job id opens that job instead of filtering by name. */
const JOB_ID = /^job_[A-Za-z0-9_-]+$/;

function queryOf(search: string): URLSearchParams {
  return new URLSearchParams(search.split("?")[1] ?? "");
}

/** The list's URL with `change` applied to its query, back on the first page. */
function listUrl(change: (q: URLSearchParams) => void): string {
  const next = queryOf(route.value);
  next.delete("cursor");
  change(next);
  return `/jobs${next.size ? `?${next}` : ""}`;
}

/** An instant as a datetime-local input shows it (the browser's zone, to the second); "" for none. */
function toLocalInput(iso: string | null): string {
  const d = new Date(iso ?? "");
  if (!iso || Number.isNaN(d.getTime())) return "";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A datetime-local input's value (local time, no zone) as an RFC 3339 instant; "" for none. */
function fromLocalInput(value: string): string {
  const d = new Date(value);
  return value && !Number.isNaN(d.getTime()) ? d.toISOString() : "";
}

/** The range in words: "created 2026-12-04 14:05:00 UTC+1 to now". */
function rangeText(after: string | null, before: string | null): string | null {
  if (!after && !before) return null;
  return `created ${after ? formatInstant(after) : "any time"} to ${before ? `before ${formatInstant(before)}` : "now"}`;
}

/**
 * Each status's count for its tab: unfinished statuses as they are now, finished ones over the metrics
 * window (the last hour), which is all GET /v1/metrics keeps of them.
 */
function countsOf(m: UserMetrics | null): Partial<Record<string, { n: number; title: string }>> {
  if (!m) return {};
  const out: Partial<Record<string, { n: number; title: string }>> = {};
  for (const [s, n] of Object.entries(m.jobs)) out[s] = { n, title: `${n} ${s} now` };
  const hours = Math.round(m.window_seconds / 3600);
  for (const [s, n] of Object.entries(m.jobs_finished))
    out[s] = { n, title: `${n} ${s} in the last ${hours === 1 ? "hour" : `${hours} hours`}` };
  return out;
}

/**
 * The list's filters as a bulk request's filter (POST /v1/jobs/cancel and /retry take the same
 * status, type, name prefix, labels and created_before), or null when nothing is filtered ("all your
 * jobs" is never one click away) or when the list is bounded by created_after, which the bulk filter
 * cannot say: "all matching" would reach further than the list.
 */
function bulkFilterOf(q: URLSearchParams): Omit<JobFilterInput, "ids"> | null {
  if (q.get("created_after")) return null;
  const filter: Omit<JobFilterInput, "ids"> = {};
  const before = q.get("created_before");
  if (before) filter.created_before = before;
  const status = q.get("status");
  if (status) filter.status = status as JobFilterInput["status"];
  const type = q.get("type");
  if (type) filter.type = type;
  const name = q.get("name");
  if (name) filter.name = name;
  const labels = Object.fromEntries(
    q.getAll("label").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
  );
  if (Object.keys(labels).length) filter.labels = labels;
  return Object.keys(filter).length ? filter : null;
}

const filterText = (f: object) =>
  Object.entries(f)
    .map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");

function StatusTabs(props: { current: string; metrics: UserMetrics | null }) {
  const counts = countsOf(props.metrics);
  const tab = (status: string, label: string) => {
    const count = counts[status];
    return (
      <li key={status || "all"} data-tab={status || "all"}>
        <Link
          to={listUrl((q) => (status ? q.set("status", status) : q.delete("status")))}
          current={props.current === status}
          title={count?.title}
        >
          {label}
          {count && <span class="count">{count.n}</span>}
        </Link>
      </li>
    );
  };
  return (
    <ul class="tabs" aria-label="Status">
      {tab("", "all")}
      {JOB_STATUSES.map((s) => tab(s, s))}
    </ul>
  );
}

export function JobsView() {
  const query = queryOf(route.value);
  const fromQuery = () => ({
    type: query.get("type") ?? "",
    search: query.get("name") ?? "",
    label: query.getAll("label").join(", "),
    from: toLocalInput(query.get("created_after")),
    to: toLocalInput(query.get("created_before")),
  });
  const [draft, setDraft] = useState(fromQuery);
  // Cursors of the pages before this one, for "Previous"; the URL holds the current one.
  const [earlier, setEarlier] = useState<string[]>([]);
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [bulkNote, setBulkNote] = useState<string | null>(null);
  const [bulkError, setBulkError] = useState<string | null>(null);

  // The URL changed from outside the form (a tab, the nav's Jobs link, back): the form follows it, and a
  // bulk action's note belongs to the list it was made on.
  const filterKey = [
    query.get("type"),
    query.get("name"),
    query.get("created_after"),
    query.get("created_before"),
    ...query.getAll("label"),
  ].join("\n");
  // Only on a change: on mount the form already holds the URL's filters, and an effect run then (after
  // the first paint) would wipe what was typed meanwhile.
  const followedKey = useRef(filterKey);
  useEffect(() => {
    if (followedKey.current === filterKey) return;
    followedKey.current = filterKey;
    setDraft(fromQuery());
    setBulkNote(null);
  }, [filterKey]);

  const apiQuery = new URLSearchParams();
  for (const key of FILTERS) for (const v of query.getAll(key)) apiQuery.append(key, v);
  const cursor = query.get("cursor");
  if (cursor) apiQuery.set("cursor", cursor);
  apiQuery.set("limit", "20");
  const listed = usePolling(() => call<JobPage>("GET", `/v1/jobs?${apiQuery}`), REFRESH_MS, [
    apiQuery.toString(),
  ]);
  const metrics = usePolling(() => call<UserMetrics>("GET", "/v1/metrics"), COUNTS_REFRESH_MS, []);
  // A tab opened reads the counts again, so its count agrees with the rows it lists.
  const status = query.get("status") ?? "";
  useEffect(() => metrics.refresh(), [status]);

  function apply(e: Event) {
    e.preventDefault();
    const search = draft.search.trim();
    if (JOB_ID.test(search)) {
      navigate(`/jobs/${encodeURIComponent(search)}`);
      return;
    }
    setEarlier([]);
    setPicked(new Set());
    navigate(
      listUrl((next) => {
        for (const key of ["type", "name", "label"]) next.delete(key);
        if (draft.type) next.set("type", draft.type);
        if (search) next.set("name", search);
        for (const label of draft.label.split(",").map((l) => l.trim()))
          if (label) next.append("label", label);
        // A bound the inputs still show as it was keeps its milliseconds (a quick pick's); else the input's.
        for (const [key, value] of [
          ["created_after", draft.from],
          ["created_before", draft.to],
        ] as const) {
          if (value === toLocalInput(next.get(key))) continue;
          const iso = fromLocalInput(value);
          if (iso) next.set(key, iso);
          else next.delete(key);
        }
      }),
    );
  }

  /** A quick pick: created within `ms` before now (fixed now, so the pages' cursors stay valid); null: any time. */
  function recent(ms: number | null) {
    setEarlier([]);
    setPicked(new Set());
    navigate(
      listUrl((next) => {
        next.delete("created_after");
        next.delete("created_before");
        if (ms !== null) next.set("created_after", new Date(Date.now() - ms).toISOString());
      }),
    );
  }

  function page(to: string | null, back: boolean) {
    const next = queryOf(route.value);
    if (to) next.set("cursor", to);
    else next.delete("cursor");
    setEarlier(back ? earlier.slice(0, -1) : [...earlier, cursor ?? ""]);
    navigate(`/jobs?${next}`);
  }

  async function bulk(action: "cancel" | "retry") {
    const ids = [...picked];
    if (!confirm(`${action === "cancel" ? "Cancel" : "Retry"} ${ids.length} selected job(s)?`)) return;
    setBulkError(null);
    setBulkNote(null);
    try {
      const { matched } = await call<{ matched: number }>("POST", `/v1/jobs/${action}`, { ids });
      setBulkNote(
        `${action === "cancel" ? "Cancelled" : "Retried"} ${matched} of ${ids.length} selected` +
          (matched < ids.length
            ? ` (the others were not ${action === "cancel" ? "unfinished" : "failed or cancelled"})`
            : ""),
      );
      setPicked(new Set());
      listed.refresh();
      metrics.refresh();
    } catch (err) {
      setBulkError(describeError(err));
    }
  }

  /** Every job the filters match, on every page. */
  async function bulkMatching(
    action: "cancel" | "retry",
    filter: NonNullable<ReturnType<typeof bulkFilterOf>>,
  ) {
    const verb = action === "cancel" ? "Cancel" : "Retry";
    if (!confirm(`${verb} every job matching ${filterText(filter)} (every page, not only this one)?`)) return;
    setBulkError(null);
    setBulkNote(null);
    try {
      const { matched } = await call<{ matched: number }>("POST", `/v1/jobs/${action}`, filter);
      setBulkNote(
        `${action === "cancel" ? "Cancelled" : "Retried"} ${matched} matching ${filterText(filter)}`,
      );
      setPicked(new Set());
      listed.refresh();
      metrics.refresh();
    } catch (err) {
      setBulkError(describeError(err));
    }
  }

  const bulkFilter = bulkFilterOf(query);
  const created = rangeText(query.get("created_after"), query.get("created_before"));
  const jobs = listed.data?.jobs ?? [];
  const allPicked = jobs.length > 0 && jobs.every((j) => picked.has(j.id));
  const toggle = (id: string) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };
  return (
    <>
      <h1>Jobs</h1>
      <StatusTabs current={query.get("status") ?? ""} metrics={metrics.data} />
      <form class="filters" onSubmit={apply}>
        <label>
          Search: job id or name prefix
          <input
            type="search"
            value={draft.search}
            placeholder="job_… or a name"
            onInput={(e) => setDraft({ ...draft, search: e.currentTarget.value })}
          />
        </label>
        <label>
          Type
          <select value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.currentTarget.value })}>
            <option value="">any</option>
            {JOB_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Labels (key:value, …)
          <input value={draft.label} onInput={(e) => setDraft({ ...draft, label: e.currentTarget.value })} />
        </label>
        <label>
          Created from
          <input
            type="datetime-local"
            step={1}
            value={draft.from}
            onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
          />
        </label>
        <label>
          Created before
          <input
            type="datetime-local"
            step={1}
            value={draft.to}
            onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <div class="actions time-range" data-testid="created-range">
        <span class="hint">Created:</span>
        {RECENT.map(([label, ms]) => (
          <button key={label} type="button" onClick={() => recent(ms)}>
            {label}
          </button>
        ))}
        <button type="button" onClick={() => recent(null)} disabled={!created}>
          Any time
        </button>
        {created && (
          <span class="hint" data-testid="time-range">
            {created}
          </span>
        )}
      </div>
      <ErrorLine error={listed.error} />
      {picked.size > 0 && (
        <div class="bulk" data-testid="bulk">
          <span>{picked.size} selected</span>
          <button type="button" onClick={() => bulk("cancel")}>
            Cancel selected
          </button>
          <button type="button" onClick={() => bulk("retry")}>
            Retry selected
          </button>
          <button type="button" onClick={() => setPicked(new Set())}>
            Clear
          </button>
        </div>
      )}
      {bulkFilter && picked.size === 0 && jobs.length > 0 && (
        <div class="actions">
          <button type="button" class="danger" onClick={() => bulkMatching("cancel", bulkFilter)}>
            Cancel all matching
          </button>
          <button type="button" onClick={() => bulkMatching("retry", bulkFilter)}>
            Retry all matching
          </button>
        </div>
      )}
      {bulkNote && (
        <p class="hint" role="status" data-testid="bulk-result">
          {bulkNote}
        </p>
      )}
      <ErrorLine error={bulkError} />
      <table class="jobs">
        <thead>
          <tr>
            <th>
              <input
                type="checkbox"
                aria-label="Select all on this page"
                checked={allPicked}
                onChange={() => setPicked(allPicked ? new Set() : new Set(jobs.map((j) => j.id)))}
              />
            </th>
            <th>Status</th>
            <th>Name</th>
            <th>Type</th>
            <th>Schedule</th>
            <th>Next / last run</th>
            <th title="occurrences finished">Occurrences</th>
            <th title="attempts made, retries included">Attempts</th>
            <th>Last error</th>
            <th>Priority</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} data-job-id={job.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${job.name ?? job.id}`}
                  checked={picked.has(job.id)}
                  onChange={() => toggle(job.id)}
                />
              </td>
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
              <td>{job.attempts[0]?.number ?? 0}</td>
              <td class="last-error" title={job.last_error ?? ""}>
                {job.last_error ?? ""}
              </td>
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
