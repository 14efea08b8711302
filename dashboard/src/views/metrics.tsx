// GET /v1/metrics?range=1h|24h|7d: the current totals (over the last hour) and, over the range picked,
// attempts by outcome and lateness p50/p99 per step of its `series` (a minute over 1 h, an hour over
// 24 h or 7 d). Charts are uPlot (canvas, ~50 KB), re-read every ten seconds.
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricsRange, UserMetrics } from "../../../src/core/metrics";
import { call } from "../api";
import { ErrorLine, Section } from "../components";
import { clockTime, dayAndTime, duration, formatInstant, localZoneName } from "../format";
import { usePolling } from "../poll";

const REFRESH_MS = 10_000;

/** The metrics answer's own type (src/core/metrics.ts): the page cannot drift from what the API sends. */
type Metrics = UserMetrics;

type Outcome = keyof NonNullable<Metrics["series"]>["points"][number]["attempts"];

// The ranges the API serves (src/core/metrics.ts METRICS_RANGES), as the selector names them.
const RANGES: Record<MetricsRange, string> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
};
// Typed by the answer's outcomes, so a new outcome fails the typecheck until it has a colour.
const OUTCOME_COLOURS: Record<Outcome, string> = {
  succeeded: "#2e7d32",
  failed: "#c62828",
  timed_out: "#ef6c00",
  cancelled: "#757575",
  expired: "#6a1b9a",
};

function Chart(props: {
  title: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  unit: string;
  /** Ticks with the date too (over days), else clock times. */
  days: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${props.series.map((s) => s.label).join()}|${props.days}`;
  const tick = props.days ? dayAndTime : clockTime;

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
          // Room for a date with the time: over 7 days the ticks fall a day or so apart.
          space: props.days ? 110 : 50,
          values: (_u, splits) => splits.map((s) => tick(s * 1000)),
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
      <div ref={box} class="chart" data-points={props.data[0].length} />
    </Section>
  );
}

export function MetricsView() {
  const [range, setRange] = useState<MetricsRange>("1h");
  const polled = usePolling(() => call<Metrics>("GET", `/v1/metrics?range=${range}`), REFRESH_MS, [range]);
  const m = polled.data;
  if (!m) return <ErrorLine error={polled.error} />;
  const points = m.series?.points ?? [];
  const step = (m.series?.step_seconds ?? 60) === 60 ? "minute" : "hour";
  const xs = points.map((p) => new Date(p.start).getTime() / 1000);
  const outcomes = Object.keys(OUTCOME_COLOURS) as Outcome[];
  const perOutcome = outcomes.map((o) => points.map((p) => p.attempts[o]));
  const p50 = points.map((p) => p.lateness_ms?.p50 ?? null);
  const p99 = points.map((p) => p.lateness_ms?.p99 ?? null);
  const days = range === "7d";

  return (
    <>
      <h1>Metrics</h1>
      <ErrorLine error={polled.error} />
      <h2>Last hour</h2>
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
      <ul class="tabs" aria-label="Chart range">
        {(Object.keys(RANGES) as MetricsRange[]).map((r) => (
          <li key={r} data-range={r}>
            <a
              href={`#range-${r}`}
              aria-current={r === range ? "page" : undefined}
              onClick={(e) => {
                e.preventDefault();
                setRange(r);
              }}
            >
              {RANGES[r]}
            </a>
          </li>
        ))}
      </ul>
      {points.length > 0 && (
        <p class="hint" data-testid="chart-span">
          {formatInstant(points[0]?.start ?? "")} to {formatInstant(points.at(-1)?.start ?? "")}, one point
          per {step}
        </p>
      )}
      <Chart
        title={`Attempts per ${step} by outcome`}
        unit="attempts"
        days={days}
        data={[xs, ...perOutcome]}
        series={outcomes.map((o) => ({ label: o, stroke: OUTCOME_COLOURS[o], width: 2 }))}
      />
      <Chart
        title={`Lateness per ${step}`}
        unit="ms"
        days={days}
        data={[xs, p50, p99]}
        series={[
          // Steps without attempts have no lateness: points, so a lone step still shows.
          { label: "p50", stroke: "#1565c0", width: 2, points: { show: true, size: 6 } },
          { label: "p99", stroke: "#c62828", width: 2, points: { show: true, size: 6 } },
        ]}
      />
    </>
  );
}
