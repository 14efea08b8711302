// Dispatch at submit: which of a submit's new jobs go out with the submit itself, written queued under
// attempt 1, instead of being written scheduled for the alarm to claim a moment later. Pure; `now` is an
// argument.
//
// Why it is exact (docs/architecture.md, "Dispatch at submit"): the shard calls this only when no
// scheduled job of its own is due (`room` is 0 otherwise) and gives it the room the alarm's claim would
// have (its batch size, less what the in-flight window holds). So the new due jobs are the only due
// jobs, and taking them in compareDue's order up to that room is what the alarm's claimDue would claim
// if it ran at this instant. Only jobs the claim decides with no state of its own are taken: no pool or
// flow-control key (needs_pools), no debounce (a pending job a later submit may replace), no dependency
// (linked after the insert), no cancel_other overlap (its lease is bounded by its next occurrence),
// and none already past its expiry (the claim fails those). Everything else waits for the alarm as
// before. The attempt is fenced as any claim's: attempt 1 is written with the row, begin accepts one
// queued → running per attempt number.

import { isExpired } from "./expiry";
import type { NewJob } from "./job";
import { compareDue } from "./priority";

/** What the decision reads of a new job. */
export type FreshJob = Pick<
  NewJob,
  | "id"
  | "priority"
  | "runAt"
  | "resources"
  | "flowControl"
  | "debounce"
  | "dependsOn"
  | "blockedBy"
  | "overlap"
  | "expiresAfterSeconds"
>;

/** Whether the claim would decide this job on its own fields alone, were it due. */
export function claimableAlone(job: FreshJob, now: number): boolean {
  return (
    job.runAt <= now &&
    Object.keys(job.resources).length === 0 &&
    job.flowControl === null &&
    job.debounce === null &&
    job.dependsOn === null &&
    job.blockedBy === null &&
    job.overlap !== "cancel_other" &&
    !isExpired(job.runAt, job.expiresAfterSeconds, now)
  );
}

/**
 * dispatchAtSubmit: the ids of `jobs` to write queued and send now, in dispatch order. `room()` is the
 * claim's room at this instant (0 when the shard has a scheduled job of its own due); it is asked only
 * when some job could go, so a submit of jobs due later reads nothing for it.
 */
export function dispatchAtSubmit(
  jobs: readonly FreshJob[],
  now: number,
  agingSeconds: number,
  room: () => number,
): string[] {
  const candidates = jobs.filter((j) => claimableAlone(j, now));
  if (candidates.length === 0) return [];
  const take = room();
  if (take <= 0) return [];
  return candidates
    .sort((a, b) => compareDue(a, b, now, agingSeconds))
    .slice(0, take)
    .map((j) => j.id);
}
