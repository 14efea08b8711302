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

function steady(r: any): string {
  return (
    failed(r) ??
    `lateness p50 ${n(r.lateness_ms.p50)} ms, p99 ${n(r.lateness_ms.p99)} ms; ${r.duplicates} duplicates; ` +
      `${r.ran}/${r.submitted} ran` +
      (r.submit.created < r.params.rate * r.params.seconds ? ` (${r.submit.created} accepted)` : "") +
      // A system that cannot take 100 submits a second is measured at the rate it could take.
      (r.submit.achieved_per_s < 0.95 * r.params.rate
        ? `; submits kept up at ${n(r.submit.achieved_per_s)}/s only`
        : "")
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
const both = (b: any, s: any) => b && s && !b.error && !s.error;

export function comparisonRows(bullmq: Results, scheduler: Results): Row[] {
  const rows: Row[] = [];
  const a = [bullmq.singles, scheduler.singles];
  const p = a[0]?.params ?? a[1]?.params;
  if (p)
    rows.push([
      `submit, single POSTs, ${p.clients} clients, ${n(p.jobs)} jobs`,
      singles(a[0]),
      singles(a[1]),
      "",
      "",
    ]);

  const [bb, sb] = [bullmq.batch, scheduler.batch];
  const bp = bb?.params ?? sb?.params;
  if (bp) {
    const ok = both(bb, sb) && bb.available && sb.available && sb.jobs_per_s >= bb.jobs_per_s;
    rows.push([
      `batch submit, ${n(bp.jobs)} jobs, ${bp.perRequest} per request`,
      bb ? batch(bb) : "not run",
      sb ? batch(sb) : "not run",
      "jobs/s ≥ BullMQ's",
      both(bb, sb) ? verdict(ok) : "",
    ]);
  }

  const [bs, ss] = [bullmq.steady, scheduler.steady];
  const sp = bs?.params ?? ss?.params;
  if (sp) {
    const ok =
      both(bs, ss) &&
      ss.lateness_ms.p99 !== null &&
      ss.lateness_ms.p99 <= bs.lateness_ms.p99 &&
      ss.duplicates === 0 &&
      ss.all_ran;
    rows.push([
      `steady ${sp.rate} jobs/s for ${sp.seconds} s, each due ${sp.dueAfterMs / 1000} s after its submit`,
      bs ? steady(bs) : "not run",
      ss ? steady(ss) : "not run",
      "p99 ≤ BullMQ's, 0 duplicates, all run",
      both(bs, ss) ? verdict(ok) : "",
    ]);
  }

  const [bh, sh] = [bullmq.herd, scheduler.herd];
  const hp = bh?.params ?? sh?.params;
  if (hp) {
    const ok = both(bh, sh) && sh.fired_per_s !== null && sh.fired_per_s >= bh.fired_per_s;
    rows.push([
      `herd: ${n(hp.jobs)} jobs due at one instant`,
      bh ? herd(bh) : "not run",
      sh ? herd(sh) : "not run",
      "fired/s ≥ BullMQ's",
      both(bh, sh) ? verdict(ok) : "",
    ]);
  }
  return rows;
}

/** A Markdown table (pipes), readable in a terminal and pasteable into docs. */
export function markdownTable(rows: Row[]): string {
  const head: Row = ["scenario", "BullMQ + Redis", "this project", "target (issue #8)", "verdict"];
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
