// The priority-aging formula as docs/architecture.md states it, for tests to check the scheduler's
// order (src/core/priority.ts compareDue, claimDue's SQL) against. Not used by the scheduler itself.
import type { DueJob } from "../../src/core/priority";

/** priority + wait / aging; with aging off (0), the plain priority. */
export function effectivePriority(job: DueJob, now: number, agingSeconds: number): number {
  if (agingSeconds <= 0) return job.priority;
  return job.priority + Math.max(0, now - job.runAt) / (agingSeconds * 1000);
}

/** The longest a due job waits behind higher priorities (ms), excluding the dispatch cycle. */
export function agingBoundMs(priorityGap: number, agingSeconds: number): number {
  return Math.max(0, priorityGap) * agingSeconds * 1000;
}
