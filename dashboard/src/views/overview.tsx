// The landing page: jobs by status (GET /v1/metrics: unfinished ones now, finished ones over its window),
// attempts, failures and lateness over that window, the busiest pools (GET /v1/pools) and flow-control
// keys (GET /v1/flow-control, busiest first), and the latest failed jobs with their errors
// (GET /v1/jobs?status=failed). Re-read every ten seconds.
import type { UserMetrics } from "../../../src/core/metrics";
import { call, type FlowKeyList, JOB_STATUSES, type JobPage, type Pool } from "../api";
import { ErrorLine, Section, StatusBadge, Time } from "../components";
import { duration } from "../format";
import { usePolling } from "../poll";
import { Link } from "../router";

const REFRESH_MS = 10_000;
const BUSIEST = 5;

function Card(props: { figure: string | number; caption: string; to?: string; metric?: string }) {
  const body = (
    <>
      <span class="figure" data-metric={props.metric}>
        {props.figure}
      </span>
      <span class="caption">{props.caption}</span>
    </>
  );
  return props.to ? (
    <Link to={props.to} class="card">
      {body}
    </Link>
  ) : (
    <div class="card">{body}</div>
  );
}

/** Fullest first (in use over capacity), then the most waiting. */
function busiest(pools: Pool[]): Pool[] {
  const use = (p: Pool) => p.in_use / Math.max(1, p.capacity);
  return [...pools].sort((a, b) => use(b) - use(a) || b.waiting - a.waiting).slice(0, BUSIEST);
}

export function OverviewView() {
  const metrics = usePolling(() => call<UserMetrics>("GET", "/v1/metrics"), REFRESH_MS, []);
  const pools = usePolling(() => call<{ pools: Pool[] }>("GET", "/v1/pools"), REFRESH_MS, []);
  const keys = usePolling(() => call<FlowKeyList>("GET", "/v1/flow-control"), REFRESH_MS, []);
  const failed = usePolling(() => call<JobPage>("GET", "/v1/jobs?status=failed&limit=10"), REFRESH_MS, []);
  const m = metrics.data;
  const window = m ? `last ${Math.round(m.window_seconds / 60)} min` : "last hour";
  const counts: Partial<Record<string, number>> = { ...m?.jobs, ...m?.jobs_finished };
  const finished = new Set(Object.keys(m?.jobs_finished ?? {}));

  return (
    <>
      <h1>Overview</h1>
      <ErrorLine error={metrics.error ?? pools.error ?? keys.error ?? failed.error} />
      <Section title="Jobs by status">
        <div class="cards">
          {JOB_STATUSES.map((s) => (
            <Card
              key={s}
              to={`/jobs?status=${s}`}
              figure={m ? (counts[s] ?? 0) : "…"}
              caption={finished.has(s) ? `${s}, ${window}` : `${s} now`}
              metric={`jobs.${s}`}
            />
          ))}
        </div>
      </Section>
      <Section title={`Attempts, ${window}`}>
        <div class="cards">
          <Card figure={m ? m.attempts.total : "…"} caption="attempts" metric="attempts.total" />
          <Card figure={m ? m.failures : "…"} caption="failures" metric="failures" />
          <Card figure={m ? duration(m.lateness_ms.p50) : "…"} caption="lateness p50" />
          <Card figure={m ? duration(m.lateness_ms.p99) : "…"} caption="lateness p99" />
          <Card figure={m ? m.due_not_dispatched : "…"} caption="due, not dispatched" />
        </div>
        <p class="hint">
          <Link to="/metrics">Charts over 1 h, 24 h and 7 d →</Link>
        </p>
      </Section>
      <Section title="Busiest pools">
        {pools.data && pools.data.pools.length === 0 ? (
          <p class="hint">
            No pools. <Link to="/pools">Create one →</Link>
          </p>
        ) : (
          <table class="busiest-pools">
            <thead>
              <tr>
                <th>Pool</th>
                <th>In use / capacity</th>
                <th>Waiting</th>
                <th>Use</th>
              </tr>
            </thead>
            <tbody>
              {busiest(pools.data?.pools ?? []).map((p) => (
                <tr key={p.name} data-pool={p.name}>
                  <td>
                    <Link to="/pools">{p.name}</Link>
                  </td>
                  <td>
                    {p.in_use} / {p.capacity}
                  </td>
                  <td>{p.waiting}</td>
                  <td>
                    <meter min={0} max={Math.max(1, p.capacity)} value={p.in_use} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Busiest keys">
        {keys.data && keys.data.keys.length === 0 ? (
          <p class="hint">No flow-control keys in use.</p>
        ) : (
          <table class="busiest-keys">
            <thead>
              <tr>
                <th>Flow-control key</th>
                <th title="attempts holding one of the key's slots">Running</th>
                <th title="due jobs of the key not yet claimed">Waiting</th>
                <th title="attempts begun within the key's period">Started, last period</th>
              </tr>
            </thead>
            <tbody>
              {(keys.data?.keys ?? []).slice(0, BUSIEST).map((k) => (
                <tr key={k.key} data-flow-key={k.key}>
                  <td>{k.key}</td>
                  <td>{k.running}</td>
                  <td>{k.waiting}</td>
                  <td>{k.started_last_period}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Recent failures">
        {failed.data && failed.data.jobs.length === 0 ? (
          <p class="hint">No failed jobs.</p>
        ) : (
          <table class="recent-failures">
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th>Failed</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {(failed.data?.jobs ?? []).map((job) => (
                <tr key={job.id} data-job-id={job.id}>
                  <td>
                    <Link to={`/jobs/${encodeURIComponent(job.id)}`}>{job.name ?? job.id}</Link>
                  </td>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td>
                    <Time iso={job.attempts[0]?.finished_at ?? job.run_at} />
                  </td>
                  <td class="last-error" title={job.last_error ?? ""}>
                    {job.last_error ?? "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {(failed.data?.jobs.length ?? 0) > 0 && (
          <p class="hint">
            <Link to="/jobs?status=failed">All failed jobs →</Link>
          </p>
        )}
      </Section>
    </>
  );
}
