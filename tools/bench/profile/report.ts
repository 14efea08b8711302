// The profile run's results file (docs/results/profile/<date>-<commit>-<what>.json) and the table it
// prints. The figure issue 16 targets is `herd.isolate.busy_ms_per_job` (≤ 2 ms).
import type { ProfileSummary } from "./summary";

/** CPU time over the herd's window, from /proc (ms), and per job. */
export interface CpuFigures {
  /** The workerd thread that ran the most (workerd runs every isolate on one): ms, per job, share of a core. */
  workerd_thread: { tid: number; name: string; ms: number; ms_per_job: number; share_of_core: number } | null;
  /** Every thread of the user Worker's workerd process. */
  workerd_process_ms: number;
  /** Its busiest threads (the V8 profiler's sampler, `v8:ProfEvntProc`, among them while it runs). */
  workerd_threads: { tid: number; name: string; ms: number }[];
  /** The whole server's process group: dev.mjs, wrangler's node, both workerds, esbuild. */
  process_group_ms: number;
  process_group_ms_per_job: number;
  /** This process: the load driver and the webhook target (and the inspector client). */
  harness_ms: number;
}

export interface ProfileReport {
  started_at: string;
  command: string;
  commit: string | null;
  dirty: boolean;
  load1_before: number;
  load1_after: number;
  /** What was profiled: the inspector's target and the bundle its frames were located through. */
  isolate: { target: string; targets_listed: number; bundle: string | null; sampling_interval_us: number };
  submit: {
    jobs: number;
    accepted: number;
    batches: number;
    ms: number;
    lead_ms: number;
    finished_before_due: boolean;
    isolate: ProfileSummary;
    /** The workerd thread and the process group over the submits (older reports lack it). */
    cpu?: CpuFigures;
  };
  herd: {
    jobs: number;
    received: number;
    /** Due time → first receipt at the target. */
    due_to_first_ms: number;
    /** First receipt → last receipt: the window every figure below is over. */
    window_ms: number;
    received_per_s: number;
    isolate: ProfileSummary;
    cpu: CpuFigures;
  };
  /** The profile file, relative to the project (null when it was not kept). */
  cpuprofile: string | null;
  cpuprofile_bytes: number;
}

const num = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => ((widths[i] ?? 0) < 0 ? c.padEnd(-(widths[i] ?? 0)) : c.padStart(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}

/** The report as a table for the terminal. */
export function formatReport(r: ProfileReport): string {
  const h = r.herd;
  const s = h.isolate;
  const jobs = Math.max(1, h.received);
  const out: string[] = [];
  out.push(
    `herd of ${num(h.jobs)} http jobs (one user, one shard) on ${r.commit?.slice(0, 7) ?? "no commit"}` +
      `${r.dirty ? "+dirty" : ""}, load ${r.load1_before} → ${r.load1_after}`,
    `window: first receipt → last receipt ${num(h.window_ms)} ms, ${num(h.received)} received ` +
      `(${num(h.received_per_s, 1)}/s); due → first receipt ${num(h.due_to_first_ms)} ms`,
    "",
    `worker isolate (V8 profile of "${r.isolate.target}", sampling every ${r.isolate.sampling_interval_us} µs asked, ` +
      `${s.median_interval_us} µs median)`,
    `  sampled ${num(s.sampled_ms)} ms of the window (unsampled ${num(s.unsampled_ms)}: the isolate was not running)`,
    `  idle ${num(s.idle_ms)}  program ${num(s.program_ms)}  GC ${num(s.gc_ms)}  functions ${num(s.functions_ms)}` +
      `  → busy ${num(s.busy_ms)} ms (${num(100 * s.busy_share_of_window)} % of the window)`,
    `  BUSY PER JOB ${num(s.busy_ms_per_job, 2)} ms (issue 16: ≤ 2 ms; upper bound, each sample until the next: ` +
      `${num(s.busy_ms_per_job_uncapped, 2)} ms)`,
    "",
    "CPU over the same window (/proc)",
  );
  const c = h.cpu;
  if (c.workerd_thread) {
    const t = c.workerd_thread;
    out.push(
      `  workerd thread ${t.tid} (${t.name}): ${num(t.ms)} ms = ${num(t.ms_per_job, 2)} ms/job, ` +
        `${num(100 * t.share_of_core)} % of a core`,
    );
  }
  out.push(
    `  workerd process, all threads: ${num(c.workerd_process_ms)} ms = ${num(c.workerd_process_ms / jobs, 2)} ms/job` +
      ` (${c.workerd_threads.map((t) => `${t.name} ${num(t.ms)}`).join(", ")})`,
    `  process group (wrangler, both workerds, esbuild): ${num(c.process_group_ms)} ms = ` +
      `${num(c.process_group_ms_per_job, 2)} ms/job`,
    `  this harness (driver, target, inspector client): ${num(c.harness_ms)} ms`,
    "",
    "busy time by area (self time)",
    pad(["area", "ms", "%", "ms/job"], [-36, 8, 6, 7]),
  );
  for (const a of s.areas)
    out.push(pad([a.area, num(a.ms), num(a.pct, 1), num(a.ms / jobs, 3)], [-36, 8, 6, 7]));
  out.push(
    "",
    `top ${s.top.length} functions by self time`,
    pad(["ms", "%", "function", "location", "area"], [8, 5, -28, -48, 0]),
  );
  for (const f of s.top)
    out.push(
      pad([num(f.self_ms), num(f.pct, 1), f.function.slice(0, 28), f.location, f.area], [8, 5, -28, -48, 0]),
    );
  const sub = r.submit;
  out.push(
    "",
    `submit: ${num(sub.accepted)} of ${num(sub.jobs)} jobs in ${sub.batches} batches, ${num(sub.ms)} ms ` +
      `(due ${num(sub.lead_ms)} ms after the first; ${sub.finished_before_due ? "all in before due" : "NOT all in before due"}), ` +
      `isolate busy ${num(sub.isolate.busy_ms_per_job, 2)} ms/job` +
      (sub.cpu?.workerd_thread
        ? `, workerd thread ${num(sub.cpu.workerd_thread.ms_per_job, 2)} ms/job ` +
          `(${num(sub.cpu.workerd_thread.share_of_core * 100)} % of a core), ` +
          `process group ${num(sub.cpu.process_group_ms_per_job, 2)} ms/job, ` +
          `load driver ${num(sub.cpu.harness_ms / Math.max(1, sub.accepted), 2)} ms/job`
        : ""),
  );
  if (r.cpuprofile) out.push(`profile: ${r.cpuprofile} (${num(r.cpuprofile_bytes / 1024)} KiB)`);
  return `${out.join("\n")}\n`;
}
