// What the capacity run watches besides the jobs: the machine's load and, with --operations, the billed
// operations the server logs (`operations` events, LOG_OPERATIONS=true), summed by phase.
import os from "node:os";
import { parseEvent } from "../../harness/log-events";
import { mean, round } from "../../harness/stats";
import { dollarsPerMillionJobs } from "../cost/price";

/** The 1-minute load average, sampled every 5 s, so each step can say how busy the machine was. */
export function loadSampler() {
  const samples: { at: number; load1: number }[] = [];
  const timer = setInterval(() => samples.push({ at: Date.now(), load1: os.loadavg()[0] ?? 0 }), 5_000);
  return {
    during(from: number, to: number) {
      const xs = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.load1);
      if (xs.length === 0) xs.push(os.loadavg()[0] ?? 0);
      return { min: Math.min(...xs), max: Math.max(...xs), mean: round(mean(xs) ?? 0, 2) };
    },
    stop: () => clearInterval(timer),
  };
}

/** Sums of every counted operation, as `<phase>.<operation>` and `all.<operation>`. */
export class OperationTotals {
  private readonly counts: Record<string, number> = {};

  add(text: string): void {
    if (!text.includes('"operations"')) return;
    const e = parseEvent(text);
    if (e?.event !== "operations") return;
    for (const [k, v] of Object.entries(e)) {
      if (typeof v !== "number") continue;
      for (const key of [`${String(e.phase)}.${k}`, `all.${k}`])
        this.counts[key] = (this.counts[key] ?? 0) + v;
    }
  }

  snapshot = (): Record<string, number> => ({ ...this.counts });

  /** What the jobs between two snapshots used, per job; operations that did not occur are left out. */
  perJob(before: Record<string, number>, after: Record<string, number>, jobs: number) {
    return Object.fromEntries(
      Object.keys(after)
        .sort()
        .map((k) => [k, round(((after[k] ?? 0) - (before[k] ?? 0)) / jobs, 2)])
        .filter(([, v]) => v !== 0),
    );
  }

  /** The per-job sums of all phases priced as the cost benchmark prices them (bench/cost/price.ts). */
  static usdPerMillion(perJob: Record<string, number>): number {
    const all = (k: string) => perJob[`all.${k}`] ?? 0;
    const priced = dollarsPerMillionJobs({
      doRequests: all("doRequests"),
      sqlRowsRead: all("sqlRowsRead"),
      sqlRowsWritten: all("sqlRowsWritten"),
      d1RowsRead: all("d1RowsRead"),
      d1RowsWritten: all("d1RowsWritten"),
      queueMessages: all("queueMessages"),
      workerInvocations: all("workerInvocations"),
    });
    return round(priced.total, 2);
  }
}
