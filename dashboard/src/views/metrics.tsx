// The last hour from GET /v1/metrics: attempts per minute by outcome, lateness p50/p99 per minute,
// and the current totals. Charts are uPlot (canvas, ~50 KB), re-read every ten seconds.
import { Fragment } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { UserMetrics } from "../../../src/core/metrics";
import { call } from "../api";
import { ErrorLine, Section } from "../components";
import { clockTime, duration, formatInstant, localZoneName } from "../format";
import { usePolling } from "../poll";

const REFRESH_MS = 10_000;

/** The metrics answer's own type (src/core/metrics.ts): the page cannot drift from what the API sends. */
type Metrics = UserMetrics;

type Outcome = keyof Metrics["per_minute"][number]["attempts"];
// Typed by the answer's outcomes, so a new outcome fails the typecheck until it has a colour.
const OUTCOME_COLOURS: Record<Outcome, string> = {
  succeeded: "#2e7d32",
  failed: "#c62828",
  timed_out: "#ef6c00",
  cancelled: "#757575",
  expired: "#6a1b9a",
};

function Chart(props: { title: string; data: uPlot.AlignedData; series: uPlot.Series[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join();

  // Rebuilt only when the series change; new data goes through setData below.
  useEffect(() => {
    if (!box.current) return;
    // The page's own colours (light or dark), read from its CSS variables.
    const css = getComputedStyle(box.current);
    const ink = css.getPropertyValue("--muted").trim() || "#5f6b7a";
    const grid = { stroke: css.getPropertyValue("--border-soft").trim() || "#e8ebef", width: 1 };
    const axis = { stroke: ink, grid, ticks: grid };
    const opts: uPlot.Options = {
      width: Math.max(280, (box.current.clientWidth || 900) - 16),
      height: 220,
      // Times as every view writes them: the legend in full, the ticks as clock times in the zone named.
      series: [{ value: (_u, v) => (v === null ? "—" : formatInstant(v * 1000)) }, ...props.series],
      axes: [
        {
          ...axis,
          label: `time (${localZoneName()})`,
          values: (_u, splits) => splits.map((s) => clockTime(s * 1000)),
        },
        { ...axis, label: props.unit },
      ],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    };
    plot.current = new uPlot(opts, props.data, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);

  return (
    <Section title={props.title}>
      <div ref={box} class="chart" />
    </Section>
  );
}

export function MetricsView() {
  const polled = usePolling(() => call<Metrics>("GET", "/v1/metrics"), REFRESH_MS, []);
  const m = polled.data;
  if (!m) return <ErrorLine error={polled.error} />;
  const minutes = m.per_minute ?? [];
  const xs = minutes.map((p) => new Date(p.minute).getTime() / 1000);
  const outcomes = Object.keys(OUTCOME_COLOURS) as Outcome[];
  const perOutcome = outcomes.map((o) => minutes.map((p) => p.attempts[o]));
  const p50 = minutes.map((p) => p.lateness_ms?.p50 ?? null);
  const p99 = minutes.map((p) => p.lateness_ms?.p99 ?? null);

  return (
    <>
      <h1>Last hour</h1>
      <ErrorLine error={polled.error} />
      <dl class="fields totals">
        {Object.entries(m.jobs ?? {}).map(([status, n]) => (
          <Fragment key={status}>
            <dt>{status} now</dt>
            <dd data-metric={`jobs.${status}`}>{n}</dd>
          </Fragment>
        ))}
        <dt>attempts</dt>
        <dd data-metric="attempts.total">{m.attempts?.total ?? 0}</dd>
        <dt>failures</dt>
        <dd>{m.failures ?? 0}</dd>
        <dt>lateness p50 / p99 / max</dt>
        <dd>
          {duration(m.lateness_ms?.p50)} / {duration(m.lateness_ms?.p99)} / {duration(m.lateness_ms?.max)}
        </dd>
        <dt>due, not dispatched</dt>
        <dd>{m.due_not_dispatched ?? 0}</dd>
      </dl>
      <Chart
        title="Attempts per minute by outcome"
        unit="attempts"
        data={[xs, ...perOutcome]}
        series={outcomes.map((o) => ({ label: o, stroke: OUTCOME_COLOURS[o], width: 2 }))}
      />
      <Chart
        title="Lateness per minute"
        unit="ms"
        data={[xs, p50, p99]}
        series={[
          // Minutes without attempts have no lateness: points, so a lone minute still shows.
          { label: "p50", stroke: "#1565c0", width: 2, points: { show: true, size: 6 } },
          { label: "p99", stroke: "#c62828", width: 2, points: { show: true, size: 6 } },
        ]}
      />
    </>
  );
}
