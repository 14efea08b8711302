// The user's figures in the Prometheus text exposition format (version 0.0.4), for
// `GET /v1/metrics` with `Accept: text/plain`. Every figure over the window is a gauge or a summary
// of that window, named `…_last_hour`: it goes down as minutes leave the window, which a counter
// (`…_total`) must never do. Pure.
import { ATTEMPT_OUTCOMES, FINAL_STATUSES, LIVE_STATUSES, type UserMetrics } from "./metrics";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  type: "gauge" | "summary";
  samples: { suffix?: string; labels?: Labels; value: number }[];
}

/** Label values escape backslash, double quote and newline, as the format requires. */
function labelText(labels: Labels | undefined): string {
  const pairs = Object.entries(labels ?? {});
  if (pairs.length === 0) return "";
  const escaped = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
  return `{${pairs.map(([k, v]) => `${k}="${escaped(v)}"`).join(",")}}`;
}

function familyText(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of f.samples) lines.push(`${f.name}${s.suffix ?? ""}${labelText(s.labels)} ${s.value}`);
  return lines.join("\n");
}

const seconds = (ms: number | null) => (ms === null ? Number.NaN : ms / 1000);

export function metricsText(m: UserMetrics): string {
  const lateness = m.lateness_ms;
  const families: Family[] = [
    {
      name: "scheduler_jobs",
      help: "Jobs in each unfinished status now.",
      type: "gauge",
      samples: LIVE_STATUSES.map((status) => ({ labels: { status }, value: m.jobs[status] })),
    },
    {
      name: "scheduler_jobs_finished_last_hour",
      help: "Jobs that finished in the last hour, by final status.",
      type: "gauge",
      samples: FINAL_STATUSES.map((status) => ({ labels: { status }, value: m.jobs_finished[status] })),
    },
    {
      name: "scheduler_attempts_last_hour",
      help: "Attempts that ended in the last hour, by outcome.",
      type: "gauge",
      samples: ATTEMPT_OUTCOMES.map((outcome) => ({ labels: { outcome }, value: m.attempts[outcome] })),
    },
    {
      name: "scheduler_attempt_failures_last_hour",
      help: "Attempts that failed, timed out or expired in the last hour.",
      type: "gauge",
      samples: [{ value: m.failures }],
    },
    {
      name: "scheduler_attempt_lateness_seconds_last_hour",
      help: "Start minus scheduled time of the attempts that ended in the last hour (log-scale buckets, at most 1.5x coarse).",
      type: "summary",
      samples: [
        { labels: { quantile: "0.5" }, value: seconds(lateness.p50) },
        { labels: { quantile: "0.99" }, value: seconds(lateness.p99) },
        { suffix: "_sum", value: lateness.sum / 1000 },
        { suffix: "_count", value: lateness.count },
      ],
    },
    {
      name: "scheduler_attempt_lateness_max_seconds_last_hour",
      help: "The largest lateness of an attempt that ended in the last hour.",
      type: "gauge",
      samples: [{ value: seconds(lateness.max) }],
    },
    {
      name: "scheduler_due_jobs_not_dispatched",
      help: "Scheduled jobs whose due time has passed and that are not dispatched yet.",
      type: "gauge",
      samples: [{ value: m.due_not_dispatched }],
    },
    {
      name: "scheduler_pool_capacity",
      help: "Units a resource pool holds.",
      type: "gauge",
      samples: m.pools.map((p) => ({ labels: { pool: p.name }, value: p.capacity })),
    },
    {
      name: "scheduler_pool_in_use",
      help: "Units of a resource pool held by attempts now.",
      type: "gauge",
      samples: m.pools.map((p) => ({ labels: { pool: p.name }, value: p.in_use })),
    },
    {
      name: "scheduler_pool_waiting",
      help: "Due jobs waiting for units of a resource pool.",
      type: "gauge",
      samples: m.pools.map((p) => ({ labels: { pool: p.name }, value: p.waiting })),
    },
  ];
  return `${families.map(familyText).join("\n")}\n`;
}
