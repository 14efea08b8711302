// The benchmark's terminal output: one table row per figure, with the target and a verdict.

type Row = [scenario: string, figure: string, value: string, target: string, verdict: string];

export function table(rows: Row[]): string {
  const head: Row = ["scenario", "figure", "measured", "target / reference", "verdict"];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  const line = (r: Row) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("-+-"), ...rows.map(line)].join("\n");
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

// biome-ignore lint/suspicious/noExplicitAny: the scenario summaries are plain JSON
export function rowsFor(results: Record<string, any>): Row[] {
  const rows: Row[] = [];
  const p = results.pool;
  if (p) {
    rows.push(
      [
        "pool",
        "held utilisation mean(in_use)/C",
        pct(p.held_utilisation),
        "≈100% while waiting",
        verdict(p.held_utilisation >= 0.9),
      ],
      [
        "pool",
        "executing utilisation (target busy)",
        pct(p.executing_utilisation),
        "≈100% ideal",
        verdict(p.executing_utilisation >= 0.8),
      ],
      [
        "pool",
        "max in_use / capacity",
        `${p.max_in_use} / ${p.params.capacity}`,
        "never above C",
        verdict(p.in_use_never_above_capacity),
      ],
      [
        "pool",
        "max concurrent at target",
        String(p.target_max_concurrent),
        `≤ ${p.params.capacity}`,
        verdict(p.target_max_concurrent <= p.params.capacity),
      ],
      [
        "pool",
        "wall time (due → last finish)",
        `${p.wall_ms} ms`,
        `ideal ${p.ideal_ms} ms`,
        `${p.wall_over_ideal}× ideal`,
      ],
      ["pool", "throughput", `${p.throughput_per_s}/s`, `ideal ${p.ideal_throughput_per_s}/s`, ""],
      ["pool", "claim → begin per job (est.)", `${p.claim_to_begin_ms_estimate} ms`, "", ""],
    );
  }
  const f = results.flood;
  if (f) {
    rows.push(
      [
        "flood",
        "low job lateness",
        `${f.low.lateness_ms} ms`,
        `bound ${f.low.documented_bound_ms} ms (${f.low.aging_part_ms} + cycle ${f.dispatch_cycle_ms})`,
        verdict(f.low.within_documented_bound),
      ],
      [
        "flood",
        "low job lateness vs bound + backlog",
        `${f.low.lateness_ms} ms`,
        `${f.low.bound_with_backlog_ms} ms (${f.low.of_which_waiting_at_t0} waiting at t0)`,
        verdict(f.low.within_bound_with_backlog),
      ],
      [
        "flood",
        "aging order rule (job by job)",
        f.aging_rule.holds
          ? "holds"
          : `${f.aging_rule.highs_due_after_cut_started_before_low} overtook, ${f.aging_rule.highs_due_before_cut_and_claim_started_after_low} skipped`,
        "0 violations",
        verdict(f.aging_rule.holds),
      ],
      [
        "flood",
        "high jobs lateness p50 / p99",
        `${f.high_lateness_ms.p50} / ${f.high_lateness_ms.p99} ms`,
        "",
        "",
      ],
      ["flood", "capacity-1 dispatch cycle", `${f.dispatch_cycle_ms} ms`, "", ""],
    );
  }
  const h = results.herd;
  if (h) {
    rows.push(
      [
        "herd",
        "submit throughput",
        `${h.submit.per_s}/s`,
        "",
        `p99 ${h.submit.latency_ms.p99} ms, ${h.submit.errors} errors`,
      ],
      [
        "herd",
        "B lateness, max of samples",
        `${h.b.max_lateness_ms} ms`,
        "≲ 1000 ms",
        verdict(h.b.max_lateness_ms !== null && h.b.max_lateness_ms <= 1000),
      ],
      [
        "herd",
        "B lateness, each",
        h.b.samples.map((s: { lateness_ms: number | null }) => s.lateness_ms).join(", "),
        "",
        "",
      ],
      [
        "herd",
        `A drain (${h.submit.jobs} jobs)`,
        `${h.a.drain_ms} ms`,
        "",
        `${h.a.statuses.succeeded ?? 0} succeeded`,
      ],
      ["herd", "A throughput", `${h.a.throughput_per_s}/s`, "", ""],
    );
  }
  const b = results.batch;
  if (b && !b.error) {
    rows.push(
      [
        "batch",
        `submit throughput, ${b.params.jobs} jobs, ${b.params.batchSize} a request`,
        `${b.jobs_per_s} jobs/s`,
        "",
        `${b.requests_per_s} requests/s, ${b.params.concurrency} in flight`,
      ],
      [
        "batch",
        "request latency p50 / p99",
        `${b.request_latency_ms.p50} / ${b.request_latency_ms.p99} ms`,
        "",
        "",
      ],
      [
        "batch",
        "every item 201, in order, distinct",
        `${b.created_distinct} distinct, ${b.wrong_items} wrong`,
        `${b.params.jobs}, 0`,
        verdict(b.created_distinct === b.params.jobs && b.wrong_items === 0),
      ],
    );
  }
  for (const [name, r] of Object.entries(results)) {
    if (r?.error) rows.push([name, "ERROR", String(r.error).slice(0, 120), "", "FAILED"]);
  }
  return rows;
}

/** Puts arrays of numbers (and of such arrays' lines) on one line each. */
export function compactArrays(json: string): string {
  return json.replace(
    /\[\s+([-\d.,\s]*?)\s+\]/g,
    (_, inner: string) => `[${inner.split(/,\s*/).join(", ")}]`,
  );
}
