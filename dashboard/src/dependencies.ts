// Job dependencies (docs/design.md "Dependencies") as the dashboard reads them: the job object's fields,
// and how the job page tells them (each dependency waiting or done, the blocked line, why a job failed
// with dependency_failed). No DOM: tested in node (dependencies.test.ts).

import type { DependencyPolicy } from "../../src/core/dependencies";
import { FINISHED_STATUSES } from "../../src/core/state";
import type { Job } from "./api";

// The API's own lists and limits (src/core/dependencies.ts), restated here so the bundle takes no zod:
// the types hold them equal.
/** on_dependency_failure: what a job does when a job it depends on fails or is cancelled. */
export const DEPENDENCY_FAILURE_POLICIES = ["fail", "run"] as const satisfies readonly DependencyPolicy[];
export type DependencyFailure = DependencyPolicy;
export const DEFAULT_DEPENDENCY_FAILURE: DependencyFailure = "fail";

/** The most job ids one submit's depends_on may name (MAX_DEPENDENCIES in src/core/dependencies.ts). */
export const MAX_DEPENDENCIES = 100;

/** last_error of a job failed because a job it depends on failed or was cancelled. */
export const DEPENDENCY_FAILED = "dependency_failed";

/** How the job page marks one dependency. */
export type DependencyState = "waiting" | "done" | "not_succeeded";
export const DEPENDENCY_STATE_TEXT: Record<DependencyState, string> = {
  waiting: "waiting",
  done: "done",
  not_succeeded: "not succeeded",
};

const FINISHED: ReadonlySet<string> = new Set(FINISHED_STATUSES);

/**
 * The job's dependencies in its own order: `waiting` while in blocked_by, `done` once not. A job that
 * has itself finished (failed with dependency_failed, cancelled) waits for nothing any more, so its
 * dependencies still in blocked_by read `not_succeeded`.
 */
export function dependenciesOf(job: Job): { id: string; state: DependencyState }[] {
  const blocked = new Set(job.blocked_by ?? []);
  const finished = FINISHED.has(job.status);
  return (job.depends_on ?? []).map((id) => ({
    id,
    state: !blocked.has(id) ? "done" : finished ? "not_succeeded" : "waiting",
  }));
}

/** "Blocked by 2 dependencies" while an unfinished job waits on some; null otherwise. */
export function blockedText(job: Job): string | null {
  const n = job.blocked_by?.length ?? 0;
  if (n === 0 || FINISHED.has(job.status)) return null;
  return `Blocked by ${n} ${n === 1 ? "dependency" : "dependencies"}`;
}

/** The policy as the job page and the submit form's select tell it. */
export const DEPENDENCY_FAILURE_TEXT: Record<DependencyFailure, string> = {
  fail: "fail (default): if a dependency fails or is cancelled, this job fails too",
  run: "run: this job runs even if a dependency fails or is cancelled",
};

/** A reader's account of last_error `dependency_failed`; null for any other error. */
export function dependencyFailedText(job: Job): string | null {
  if (job.last_error !== DEPENDENCY_FAILED) return null;
  return (
    "This job failed without being run: a job it depends on failed or was cancelled, and it is set to " +
    "fail when that happens (on dependency failure: fail). Its own dependents that are set to fail have " +
    'failed the same way. To have it run even so, submit it again with "On dependency failure" set to run.'
  );
}
