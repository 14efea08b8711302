// Figures in the Prometheus text exposition format (version 0.0.4), for `GET /v1/metrics` and
// `GET /v1/admin/metrics` with `Accept: text/plain`. What is counted since a shard started is a
// counter (`…_total`: the shards' running totals, which only grow), lateness is a cumulative histogram
// (`_bucket`, `_sum`, `_count`), and what holds now is a gauge; so `rate()` and
// `histogram_quantile()` work, and series add up across shards and users (`sum by`). The last hour's
// window figures and percentiles are in the JSON answer only. Pure.
import { ATTEMPT_OUTCOMES, FINAL_STATUSES, LIVE_STATUSES, type UserMetrics } from "./metrics";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  samples: { suffix?: string; labels?: Labels; value: number }[];
}

/** One set of figures and the labels its series carry (none for a user's own; `user_id` for admin). */
export interface LabelledMetrics {
  labels: Labels;
  metrics: UserMetrics;
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

/** A family's samples for every labelled set, in order (a family's samples are contiguous). */
type SamplesOf = (m: UserMetrics) => { suffix?: string; labels?: Labels; value: number }[];

/** The families, and how each one's samples come from one set of figures. */
const FAMILIES: (Omit<Family, "samples"> & { of: SamplesOf })[] = [
  {
    name: "scheduler_jobs",
    help: "Jobs in each unfinished status now.",
    type: "gauge",
    of: (m) => LIVE_STATUSES.map((status) => ({ labels: { status }, value: m.jobs[status] })),
  },
  {
    name: "scheduler_due_jobs_not_dispatched",
    help: "Scheduled jobs whose due time has passed and that are not dispatched yet.",
    type: "gauge",
    of: (m) => [{ value: m.due_not_dispatched }],
  },
  {
    name: "scheduler_attempts_total",
    help: "Attempts that ended, by outcome (an occurrence that expired unstarted counts as expired).",
    type: "counter",
    of: (m) =>
      ATTEMPT_OUTCOMES.map((outcome) => ({ labels: { outcome }, value: m.totals.attempts[outcome] })),
  },
  {
    name: "scheduler_jobs_finished_total",
    help: "Jobs that finished, by final status.",
    type: "counter",
    of: (m) =>
      FINAL_STATUSES.map((status) => ({ labels: { status }, value: m.totals.jobs_finished[status] })),
  },
  {
    name: "scheduler_lateness_seconds",
    help: "Start minus scheduled time of each attempt that ended (exact at each bound: lateness is whole ms).",
    type: "histogram",
    of: (m) => {
      const l = m.totals.lateness_ms;
      return [
        ...l.buckets.map((b) => ({ suffix: "_bucket", labels: { le: String(b.le / 1000) }, value: b.count })),
        { suffix: "_bucket", labels: { le: "+Inf" }, value: l.count },
        { suffix: "_sum", value: l.sum / 1000 },
        { suffix: "_count", value: l.count },
      ];
    },
  },
  {
    name: "scheduler_pool_capacity",
    help: "Units a resource pool holds.",
    type: "gauge",
    of: (m) => m.pools.map((p) => ({ labels: { pool: p.name }, value: p.capacity })),
  },
  {
    name: "scheduler_pool_in_use",
    help: "Units of a resource pool held by attempts now.",
    type: "gauge",
    of: (m) => m.pools.map((p) => ({ labels: { pool: p.name }, value: p.in_use })),
  },
  {
    name: "scheduler_pool_waiting",
    help: "Due jobs waiting for units of a resource pool.",
    type: "gauge",
    of: (m) => m.pools.map((p) => ({ labels: { pool: p.name }, value: p.waiting })),
  },
];

/**
 * The text of one or many sets of figures: each family once, with the samples of every set (each
 * set's labels first, the family's own after, so `le` stays last on a bucket). Extra gauges (the
 * admin route's own) come after.
 */
export function metricsText(
  sets: UserMetrics | readonly LabelledMetrics[],
  extra: { name: string; help: string; value: number }[] = [],
): string {
  const list = Array.isArray(sets) ? sets : [{ labels: {}, metrics: sets as UserMetrics }];
  const families: Family[] = FAMILIES.map(({ of, ...f }) => ({
    ...f,
    samples: list.flatMap(({ labels, metrics }) =>
      of(metrics).map((s) => ({ ...s, labels: { ...labels, ...s.labels } })),
    ),
  }));
  for (const e of extra)
    families.push({ name: e.name, help: e.help, type: "gauge", samples: [{ value: e.value }] });
  return `${families.map(familyText).join("\n")}\n`;
}

/**
 * GET /v1/admin/metrics as text: each user's series labelled `user_id` (so one that does not answer
 * leaves a gap rather than lowering a sum), and how many users the answer holds and left out.
 */
export function adminMetricsText(
  users: readonly { userId: string; metrics: UserMetrics }[],
  unavailable: number,
): string {
  return metricsText(
    users.map((u) => ({ labels: { user_id: u.userId }, metrics: u.metrics })),
    [
      {
        name: "scheduler_admin_users_scraped",
        help: "Users whose figures this answer holds.",
        value: users.length,
      },
      {
        name: "scheduler_admin_users_unavailable",
        help: "Users of this page whose shards did not answer (left out of this answer).",
        value: unavailable,
      },
    ],
  );
}
