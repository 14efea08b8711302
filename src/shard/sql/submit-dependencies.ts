// What a submit does with depends_on (src/shard/sql/submit.ts calls these; no SQL of their own beyond
// linkDependencies'): a job's blocked_by as it is stored, the batch's "@k" references resolved to the
// jobs their items answer with, and a created job linked to its dependencies (dependencies.ts).
import { batchRef, type DependencyOutcome } from "../../core/dependencies";
import type { NewJob } from "../../core/job";
import { findJob, type ShardDb, type ShardTimings } from "../db";
import type { JobRow } from "../schema";
import { linkDependencies } from "./dependencies";

/**
 * The spec as the shard stores it: blocked by its dependencies less those the API knew had succeeded
 * (`known`: outcomes it read on their shards before the submit).
 */
export function blockedSpec(spec: NewJob, known: Known): NewJob {
  if (!spec.dependsOn) return spec;
  const blockedBy = spec.dependsOn.filter((id) => known[id] !== "succeeded");
  return { ...spec, blockedBy: blockedBy.length > 0 ? blockedBy : null };
}

/** A job just created waits on its dependencies (dependencies.ts); the row as it is after that. */
export function linked(
  db: ShardDb,
  job: JobRow,
  known: Known,
  now: number,
  t: ShardTimings | undefined,
): JobRow {
  if (!job.dependsOn) return job;
  if (!t) throw new Error("a job with dependencies needs the shard's timings");
  linkDependencies(db, job.id, known, now, t);
  return findJob(db, job.id) ?? job;
}

/** Outcomes of other shards' dependencies, as the API read them before the submit. */
export type Known = Readonly<Record<string, DependencyOutcome>>;
/** A submit's refusal, as an earlier item of the batch got it. */
type Refusal = { ok: false; reason: string };

/**
 * A batch item's depends_on with each "@k" (the k-th item of this request, always an earlier one) as
 * the id of the job that item answers with, and its blocked_by; or the refusal that item got, which
 * this one shares: a stale shard count (the caller places both again), else dependency_not_created.
 */
export function resolvedRefs<R extends Refusal>(
  spec: NewJob,
  answerOf: (k: number) => string | R,
  known: Known,
): { ok: true; spec: NewJob } | { ok: false; refusal: R | { ok: false; reason: "dependency_not_created" } } {
  if (!spec.dependsOn) return { ok: true, spec };
  const ids: string[] = [];
  for (const entry of spec.dependsOn) {
    const k = batchRef(entry);
    if (k === null) {
      ids.push(entry);
      continue;
    }
    const answer = answerOf(k);
    if (typeof answer !== "string") {
      const stale = answer.reason === "stale_shards";
      return { ok: false, refusal: stale ? answer : { ok: false, reason: "dependency_not_created" } };
    }
    ids.push(answer);
  }
  // Two entries may name one job (an id and the item that replayed it): it is waited on once.
  return { ok: true, spec: blockedSpec({ ...spec, dependsOn: [...new Set(ids)] }, known) };
}
