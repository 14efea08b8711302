// Dependencies (docs/design.md "Dependencies"): what a job waiting on others does when one of them
// finishes, what a dependency's state means to a job that starts waiting on it, and the batch's "@N"
// references. Pure: the shard (src/shard/sql/dependencies.ts) reads and writes the rows.
import { z } from "zod";
import type { JobStatus } from "./state";

/** Most jobs one job may depend on. */
export const MAX_DEPENDENCIES = 100;
/** last_error of a job failed because a job it depends on failed or was cancelled. */
export const DEPENDENCY_FAILED = "dependency_failed";

export const DEPENDENCY_POLICIES = ["fail", "run"] as const;
export const DependencyPolicySchema = z.enum(DEPENDENCY_POLICIES);
/** on_dependency_failure: `fail` (the dependent fails with dependency_failed) or `run` (it runs anyway). */
export type DependencyPolicy = z.infer<typeof DependencyPolicySchema>;

/** How a dependency's occurrence ended, for its dependents: a cancel counts as a failure. */
export type DependencyOutcome = "succeeded" | "failed";
/** A dependency's state for a job that starts waiting on it: `pending` until an occurrence finishes. */
export type DependencyState = DependencyOutcome | "pending";

const BATCH_REF = /^@(0|[1-9][0-9]{0,3})$/;

/** The index an `"@N"` entry of depends_on names (an earlier item of the same batch), or null. */
export function batchRef(entry: string): number | null {
  const match = BATCH_REF.exec(entry);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * What a job that starts waiting on this one hears at once: a one-shot job that succeeded has
 * succeeded; one that failed or was cancelled has failed; a recurring job counts its next finished
 * occurrence (pending), unless it was cancelled (it has no next one). Anything unfinished is pending.
 */
export function dependencyState(job: {
  status: JobStatus;
  intervalSeconds: number | null;
  cron: string | null;
}): DependencyState {
  if (job.status === "cancelled") return "failed";
  const recurring = job.intervalSeconds !== null || job.cron !== null;
  if (recurring) return "pending";
  if (job.status === "succeeded") return "succeeded";
  if (job.status === "failed") return "failed";
  return "pending";
}

/** The dependent as afterDependency needs it. */
export interface Dependent {
  status: JobStatus;
  blockedBy: string[] | null;
  onDependencyFailure: DependencyPolicy;
  runAt: number;
}

export type DependencyStep =
  /** Nothing changes: the job does not wait on it (any more), or is finished. A repeat lands here. */
  | { kind: "ignore" }
  /** Still blocked, by these. */
  | { kind: "wait"; blockedBy: string[] }
  /** No longer blocked: due at runAt (its own run_at, or now if that has passed). */
  | { kind: "unblock"; runAt: number }
  /** Fails with dependency_failed (and its own dependents hear it failed). */
  | { kind: "fail" };

/**
 * afterDependency: `depId` finished an occurrence with `outcome`; what becomes of a job blocked by it.
 * A dependency that succeeded (or failed, for a job that says `run`) leaves the blocked set; the job
 * becomes due when the set is empty, at the moment the last one left (lateness counts from then) or at
 * its own run_at if later. A failure otherwise fails the job. Only an unfinished job that is still
 * blocked by `depId` moves, so a repeated or late message changes nothing.
 */
export function afterDependency(
  job: Dependent,
  depId: string,
  outcome: DependencyOutcome,
  now: number,
): DependencyStep {
  const finished = job.status === "succeeded" || job.status === "failed" || job.status === "cancelled";
  if (finished || !job.blockedBy?.includes(depId)) return { kind: "ignore" };
  if (outcome === "failed" && job.onDependencyFailure === "fail") return { kind: "fail" };
  const blockedBy = job.blockedBy.filter((id) => id !== depId);
  if (blockedBy.length > 0) return { kind: "wait", blockedBy };
  return { kind: "unblock", runAt: Math.max(job.runAt, now) };
}

/** A scheduled job's deadline (its due time): none while a dependency blocks it. */
export function dueDeadline(job: { blockedBy: string[] | null }, runAt: number): number | null {
  return job.blockedBy && job.blockedBy.length > 0 ? null : runAt;
}
