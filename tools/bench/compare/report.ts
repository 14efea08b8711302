// The side-by-side table of a comparison run, with the issue's targets (#8 part 4) and a verdict where
// both systems produced the figure.
// biome-ignore-all lint/suspicious/noExplicitAny: scenario results are plain JSON, read loosely here

type Results = Record<string, any>;
type Row = [scenario: string, bullmq: string, scheduler: string, target: string, verdict: string];

const n = (x: number | null | undefined, unit = "") =>
  x === null || x === undefined || Number.isNaN(x)
    ? "n/a"
    : `${Math.round(x).toLocaleString("en-US")}${unit}`;

const failed = (r: any) => (r?.error ? `FAILED: ${String(r.error).slice(0, 80)}` : null);

function singles(r: any): string {
  return (
    failed(r) ??
    `${n(r.jobs_per_s)} jobs/s (p50 ${n(r.request_latency_ms.p50)} ms, p99 ${n(r.request_latency_ms.p99)} ms)` +
      (r.refused ? `, ${r.refused} refused` : "")
  );
}

function batch(r: any): string {
  if (failed(r)) return failed(r) as string;
  if (!r.available) return "no batch endpoint";
  return `${n(r.jobs_per_s)} jobs/s (p99 ${n(r.request_latency_ms.p99)} ms a request)${r.refused ? `, ${r.refused} refused` : ""}`;
}

/** How busy the machine was during the scenario (tools/harness/cpu-window.ts), where it was read. */
function machineBusy(r: any): string {
  const cpu = r.cpu;
  if (typeof cpu?.machine_busy_cores !== "number") return "";
  const busiest = cpu.processes?.[0]?.main_thread;
  const part = (x: number | null | undefined) => (typeof x === "number" ? x.toFixed(2) : "n/a");
  const thread = busiest
    ? `; its busiest thread running ${part(busiest.running)}, blocked on I/O ${part(busiest.blocked_on_io)}, waiting for a core ${part(busiest.waiting_for_cpu)}`
    : "";
  return `; machine ${cpu.machine_busy_cores.toFixed(2)} of ${cpu.cores} cores busy (system ${cpu.system_cores.toFixed(2)}, load driver ${cpu.harness_cores.toFixed(2)})${thread}`;
}

function steady(r: any): string {
  return (
    failed(r) ??
    `lateness p50 ${n(r.lateness_ms.p50)} ms, p99 ${n(r.lateness_ms.p99)} ms; ${r.duplicates} duplicates; ` +
      `${r.ran}/${r.submitted} ran` +
      (r.submit.created < r.params.rate * r.params.seconds ? ` (${r.submit.created} accepted)` : "") +
      // A system that cannot take 100 submits a second is measured at the rate it could take.
      (r.submit.achieved_per_s < 0.95 * r.params.rate
        ? `; submits kept up at ${n(r.submit.achieved_per_s)}/s only`
        : "") +
      machineBusy(r)
  );
}

function herd(r: any): string {
  return (
    failed(r) ??
    `${n(r.fired_per_s)} fired/s (submitted by ${r.submitted_by}), lateness p50 ${n(r.lateness_ms.p50)} ms, p99 ${n(r.lateness_ms.p99)} ms; ` +
      `${r.ran}/${r.submitted} ran, ${r.duplicates} duplicates` +
      (r.submit.finished_before_due ? "" : "; submission finished AFTER the due time")
  );
}

const verdict = (ok: boolean) => (ok ? "met" : "MISSED");

interface Comparison {
  key: string;
  label(params: any): string;
  cell(result: any): string;
  /** The issue's target for this project, judged when both systems produced the figure. */
  target?: { text: string; met(bullmq: any, scheduler: any): boolean };
}

const COMPARISONS: Comparison[] = [
  {
    key: "singles",
    label: (p) => `submit, single POSTs, ${p.clients} clients, ${n(p.jobs)} jobs`,
    cell: singles,
  },
  {
    key: "batch",
    label: (p) => `batch submit, ${n(p.jobs)} jobs, ${p.perRequest} per request`,
    cell: batch,
    target: {
      text: "jobs/s ≥ BullMQ's",
      met: (b, s) => b.available && s.available && s.jobs_per_s >= b.jobs_per_s,
    },
  },
  {
    key: "steady",
    label: (p) =>
      `steady ${p.rate} jobs/s for ${p.seconds} s, each due ${p.dueAfterMs / 1000} s after its submit`,
    cell: steady,
    target: {
      text: "p99 ≤ BullMQ's, 0 duplicates, all run",
      met: (b, s) =>
        s.lateness_ms.p99 !== null &&
        s.lateness_ms.p99 <= b.lateness_ms.p99 &&
        s.duplicates === 0 &&
        s.all_ran,
    },
  },
  {
    key: "steady300",
    label: (p) =>
      `steady ${p.rate} jobs/s for ${p.seconds} s, each due ${p.dueAfterMs / 1000} s after its submit`,
    cell: steady,
    target: {
      text: "p99 ≤ 1 s (issue 16), 0 duplicates, all run",
      met: (_b, s) =>
        s.lateness_ms.p99 !== null && s.lateness_ms.p99 <= 1000 && s.duplicates === 0 && s.all_ran,
    },
  },
  {
    key: "herd",
    label: (p) => `herd: ${n(p.jobs)} jobs due at one instant`,
    cell: herd,
    target: {
      text: "fired/s ≥ BullMQ's",
      met: (b, s) => s.fired_per_s !== null && s.fired_per_s >= b.fired_per_s,
    },
  },
];

export function comparisonRows(bullmq: Results, scheduler: Results): Row[] {
  return COMPARISONS.flatMap((c): Row[] => {
    const [b, s] = [bullmq[c.key], scheduler[c.key]];
    const params = b?.params ?? s?.params;
    if (!params) return [];
    const judged = c.target && b && s && !b.error && !s.error;
    return [
      [
        c.label(params),
        b ? c.cell(b) : "not run",
        s ? c.cell(s) : "not run",
        c.target?.text ?? "",
        judged ? verdict(c.target?.met(b, s) === true) : "",
      ],
    ];
  });
}

/** A Markdown table (pipes), readable in a terminal and pasteable into docs. */
export function markdownTable(rows: Row[]): string {
  const head: Row = ["scenario", "BullMQ + Redis", "this project", "target (issue #8)", "verdict"];
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
