// Job creation with Idempotency-Key semantics, and the read-model (D1) bookkeeping.
//
// insertJob(db, spec, idem?, now, maxUnfinished?, t?, known?, dispatch?) → {ok, replayed, job}
//     | idempotency_conflict | too_many_unfinished | invalid_resources | stale_shards
//   reads idempotency_keys[key], its job and key_fence (keyed), the unfinished count (with a cap, and
//   only when the bound the last submit left says the cap may be reached: UnfinishedRoom), pools; for
//   a job due now that could go alone, the claim's room (`dispatch.room`). Writes the job and its key
//   through createJobs (create-jobs.ts): queued under attempt 1 when dispatched at submit
//   (src/core/dispatch-at-submit.ts; the caller sends it), else scheduled. Rows written: 3 (row, id key,
//   jobs_wake: its index copy is pending by the watermark, index-copy.ts); with a key +3 (row, key,
//   idempotency_keys_job), or +2 when it replaces an expired key not yet pruned; 0 when replayed or
//   refused.
// insertJobs(db, batch, now, maxUnfinished?, t?, known?, dispatch?) → {ok, outcomes}
//     | invalid_resources (items)
//   one transaction; reads pools per pooled item and the unfinished count at most once; decides each
//   item as insertJob would, then writes every job created with one createJobs (one statement per
//   chunk, not per job), those it dispatches at submit queued (up to the claim's room, in its order).
//   Rows written: as insertJob per job created (3, +3 with a key); 0 when a pool check fails.
// unfinishedJobs(db) → number
//   reads the unfinished jobs' jobs_wake entries (a count, ≤ MAX_UNFINISHED_JOBS). Rows written: 0.
// The index copy's own queries (dueForIndex, markIndexed, postponeIndex) are in index-copy.ts; the keys'
// own (a key's live record, the fence of key lookups, pruning) in idempotency-keys.ts.
import { and, inArray, sql } from "drizzle-orm";
import { debouncedRunAt } from "../../core/debounce";
import type { NewJob } from "../../core/job";
import type { ShardDb, ShardTimings } from "../db";
import type { Idempotency, NewSubmission, RefusalOf, SubmitBatchResult, SubmitResult } from "../rpc";
import { inWake, type JobRow, jobs } from "../schema";
import { createJobs, dispatching, recordKeys, type SubmitDispatch } from "./create-jobs";
import { pendingJob, replacePending } from "./debounce";
import { fencedShards, seenKey } from "./idempotency-keys";
import { resourceErrors } from "./pools";
import { prepared } from "./prepared";
import { blockedSpec, type Known, linked, resolvedRefs } from "./submit-dependencies";

export { IDEMPOTENCY_TTL_MS, type SubmitDispatch } from "./create-jobs";

/** Jobs not yet finished in this shard: bounded by MAX_UNFINISHED_JOBS. */
export function unfinishedJobs(db: ShardDb): number {
  const statement = prepared(db, "submit.unfinishedJobs", (d) =>
    d
      .select({ n: sql<number>`count(*)` })
      .from(jobs)
      .where(and(inArray(jobs.status, ["scheduled", "queued", "running", "paused"]), inWake))
      .prepare(),
  );
  return statement.get()?.n ?? 0;
}

/**
 * An upper bound on the shard's unfinished jobs, left by the last submit step that settled: its exact
 * count (or its bound) plus the jobs it created. Only two things make a job unfinished: an insert (a
 * submit, which keeps the bound) and an explicit retry of a failed or cancelled job (which forgets it:
 * forgetUnfinishedBound). Everything else a shard writes only keeps a job unfinished or finishes it,
 * so the bound stays an upper bound while the jobs finish.
 */
const unfinishedBound = new WeakMap<ShardDb, number>();

/** A retry makes a finished job unfinished: the next submit counts exactly. */
export function forgetUnfinishedBound(db: ShardDb): void {
  unfinishedBound.delete(db);
}

/**
 * MAX_UNFINISHED_JOBS as places left: spent by each job created in the same synchronous step, so a
 * batch decides on one figure, not a count per job. The figure is the bound the last submit left
 * (unfinishedBound), counted exactly (unfinishedJobs, one read per unfinished job's index entry) only
 * when there is none or when it says the cap is reached. So a place is never refused while the exact
 * count has room, and never given past the cap: the cap stays exact, and a shard far from it counts
 * nothing per submit (it counted every unfinished job whenever any row had been written since).
 */
class UnfinishedRoom {
  private counted: number | undefined;
  private started = false;
  private exact = false;
  private taken = 0;

  constructor(
    private readonly db: ShardDb,
    private readonly max: number,
  ) {}

  /** Takes a place for one more job; false when the shard is at its cap. */
  take(): boolean {
    if (!this.started) {
      this.started = true;
      this.counted = unfinishedBound.get(this.db);
      // Until this step settles there is no bound: a step that throws leaves the next one to count.
      unfinishedBound.delete(this.db);
    }
    // Without a cap nothing is counted, but a bound there was still grows by what is created.
    if (this.max === Number.POSITIVE_INFINITY) return true;
    if (this.counted === undefined || (!this.exact && this.counted + this.taken >= this.max)) {
      this.counted = unfinishedJobs(this.db);
      this.exact = true;
    }
    if (this.counted + this.taken >= this.max) return false;
    this.taken += 1;
    return true;
  }

  /** The step is over (its writes done or committed) and created `created` jobs: the bound it leaves. */
  settle(created: number): void {
    if (this.counted === undefined) return;
    unfinishedBound.set(this.db, this.counted + created);
  }
}

/** The RPC's answer, with the stored row in place of its view. */
export type InsertOutcome =
  | { ok: true; replayed: boolean; replaced?: true; job: JobRow }
  | RefusalOf<SubmitResult>;
/** One item of a batch: what insertJob answers, bar the pool refusal (a batch checks pools first). */
export type AdmitOutcome = Exclude<InsertOutcome, { reason: "invalid_resources" }>;

/**
 * insertJob: creates the job due at its run_at. Invariants: one Idempotency-Key names at most one
 * job for 24 h; the same key with the same body replays that job, with another body it conflicts;
 * a job naming pools is accepted only if each pool exists and can ever hold its units. Nothing is
 * written unless the job is created.
 */
export function insertJob(
  db: ShardDb,
  spec: NewJob,
  idem: Idempotency | undefined,
  now: number,
  maxUnfinished = Number.POSITIVE_INFINITY,
  t?: ShardTimings,
  known: Known = {},
  dispatch?: SubmitDispatch,
): InsertOutcome {
  const room = new UnfinishedRoom(db, maxUnfinished);
  const submission = { spec: blockedSpec(withDebouncedRunAt(spec, now), known), idempotency: idem };
  const details = Object.keys(spec.resources).length > 0 ? resourceErrors(db, spec.resources) : [];
  const decided = admission(db, submission, now, room);
  if (decided !== CREATE && !isReplace(decided)) return settled(room, decided);
  if (details.length > 0) return settled(room, { ok: false, reason: "invalid_resources", details });
  if (isReplace(decided)) return settled(room, replaced(db, decided.pending, submission, now, t));
  const [created] = createJobs(db, [submission], now, dispatching([submission.spec], now, dispatch));
  if (!created) throw new Error(`job ${spec.id} was not created`);
  room.settle(1);
  return { ok: true, replayed: false, job: linked(db, created, known, now, t) };
}

/** A step that created nothing: the count it took (if any) is still the shard's. */
function settled<T extends InsertOutcome>(room: UnfinishedRoom, outcome: T): T {
  room.settle(0);
  return outcome;
}

/** A submission that is to be created (pools aside: the caller checks them). */
const CREATE = Symbol("create");

/** A debounced submission that takes the place of its key's pending job (src/shard/sql/debounce.ts). */
interface Replace {
  pending: JobRow;
}
const isReplace = (d: unknown): d is Replace => typeof d === "object" && d !== null && "pending" in d;

/** A debounced job, new: due delay_seconds from now (its first submit: src/core/debounce.ts). */
function withDebouncedRunAt(spec: NewJob, now: number): NewJob {
  return spec.debounce ? { ...spec, runAt: debouncedRunAt(spec.debounce, now, now) } : spec;
}

/** Replaces the pending job with the submission, and names it by the submission's key, if any. */
function replaced(
  db: ShardDb,
  pending: JobRow,
  { spec, idempotency: idem }: NewSubmission,
  now: number,
  t: ShardTimings | undefined,
): InsertOutcome {
  // Only a replacement schedules an index copy of its own (a new row's is pending by the watermark).
  if (!t) throw new Error("replacing a debounced job needs the shard's timings");
  const job = replacePending(db, pending, spec, now, t);
  if (idem) recordKeys(db, [{ idem, jobId: job.id }], now);
  return { ok: true, replayed: false, replaced: true, job };
}

/**
 * What becomes of a submission, in the order insertJob has always decided it: its key's live record
 * (a replay or a conflict), then a key placed by a stale shard count, then, for a debounced one, its
 * key's pending job (which it replaces: no new job, so no place is taken), then the cap, which it
 * takes a place of when it is to be created. Writes nothing.
 */
function admission(
  db: ShardDb,
  { spec, idempotency: idem }: NewSubmission,
  now: number,
  room: UnfinishedRoom,
): AdmitOutcome | typeof CREATE | Replace {
  if (idem) {
    const seen = seenKey(db, idem, now);
    if (seen) return seen;
    if (idem.shards < fencedShards(db)) return { ok: false, reason: "stale_shards" };
  }
  const pending = spec.debounce ? pendingJob(db, spec.debounce.key) : undefined;
  if (pending) return { pending };
  return room.take() ? CREATE : { ok: false, reason: "too_many_unfinished" };
}

/**
 * insertJobs: a batch of submissions, in order, in one SQLite transaction. Invariants: all or
 * nothing for bad input: every job naming pools is checked against the pools before the first
 * write, and if any fails nothing is written; otherwise each job gets exactly what insertJob would
 * have given it had they been sent one after another (created, replayed, idempotency_conflict, or
 * too_many_unfinished once MAX_UNFINISHED_JOBS is reached, which is counted once for the batch).
 * Every item is decided first, then the created ones are written together (createJobs): an item
 * whose key an earlier item of the batch creates is answered as that key's record would answer it.
 */
export function insertJobs(
  db: ShardDb,
  submitted: NewSubmission[],
  now: number,
  maxUnfinished = Number.POSITIVE_INFINITY,
  t?: ShardTimings,
  known: Known = {},
  dispatch?: SubmitDispatch,
): { ok: true; outcomes: AdmitOutcome[] } | RefusalOf<SubmitBatchResult> {
  const batch = submitted.map((s) => ({ ...s, spec: withDebouncedRunAt(s.spec, now) }));
  const items = batch.flatMap(({ spec }, index) => {
    const details = Object.keys(spec.resources).length > 0 ? resourceErrors(db, spec.resources) : [];
    return details.length > 0 ? [{ index, details }] : [];
  });
  if (items.length > 0) return { ok: false, reason: "invalid_resources", items };
  const room = new UnfinishedRoom(db, maxUnfinished);
  // A transaction, so a failure part-way (storage, not input) leaves none of the batch behind.
  const outcomes = db.transaction(() => {
    /** Each key an item of this batch creates, with that item. */
    const createdKeys = new Map<string, { bodyHash: string; index: number }>();
    /** Each debounce key an item of this batch creates a job for, with that item. */
    const createdDebounced = new Map<string, number>();
    /** Items that replaced a job: a pending one (its row), or one an earlier item creates (its index). */
    const replacing = new Map<number, JobRow | number>();
    /** Each item's outcome, or the index of the item whose new job answers it (itself, if created). */
    const decided: (AdmitOutcome | number)[] = [];
    /** The job an earlier item answers with (its id), or that item's refusal. */
    const answerOf = (k: number): string | Extract<AdmitOutcome, { ok: false }> => {
      const d = decided[k];
      if (d === undefined) throw new Error(`an item names a later one (@${k})`);
      if (typeof d !== "number") return d.ok ? d.job.id : d;
      const by = replacing.get(k);
      return typeof by === "object" ? by.id : (batch[d] as NewSubmission).spec.id;
    };
    const decide = (submission: NewSubmission, index: number): AdmitOutcome | number => {
      const idem = submission.idempotency;
      const earlier = idem && createdKeys.get(idem.key);
      if (earlier) {
        return earlier.bodyHash === idem.bodyHash
          ? earlier.index
          : { ok: false, reason: "idempotency_conflict" };
      }
      // "@k": the job item k of this request answers with; an item whose dependency was refused is too.
      const refs = resolvedRefs(submission.spec, answerOf, known);
      if (!refs.ok) return refs.refusal;
      if (refs.spec !== submission.spec) {
        submission = { ...submission, spec: refs.spec };
        batch[index] = submission;
      }
      const key = submission.spec.debounce?.key;
      const creator = key === undefined ? undefined : createdDebounced.get(key);
      if (creator !== undefined) {
        // An earlier item creates the key's job: this one's body takes its place, under its id.
        const first = batch[creator] as NewSubmission;
        batch[creator] = { ...first, spec: { ...submission.spec, id: first.spec.id } };
        replacing.set(index, creator);
        return creator;
      }
      const outcome = admission(db, submission, now, room);
      if (isReplace(outcome)) {
        replacing.set(index, outcome.pending);
        return index;
      }
      if (outcome !== CREATE) return outcome;
      if (idem) createdKeys.set(idem.key, { bodyHash: idem.bodyHash, index });
      if (key !== undefined) createdDebounced.set(key, index);
      return index;
    };
    for (const [index, submission] of batch.entries()) decided.push(decide(submission, index));
    const creating = batch.filter((_, index) => decided[index] === index && !replacing.has(index));
    const sending = dispatching(
      creating.map(({ spec }) => spec),
      now,
      dispatch,
    );
    const rows = new Map(createJobs(db, creating, now, sending).map((row) => [row.id, row]));
    // Pending jobs replaced, in order (a later item of the same key replaces it again).
    for (const [index, pending] of replacing) {
      if (typeof pending === "number") continue;
      const out = replaced(db, rows.get(pending.id) ?? pending, batch[index] as NewSubmission, now, t);
      if (out.ok) rows.set(out.job.id, out.job);
    }
    // An item whose body went into an earlier item's new job: its key names that job too.
    recordKeys(
      db,
      [...replacing].flatMap(([index, by]) => {
        const idem = (batch[index] as NewSubmission).idempotency;
        return typeof by === "number" && idem ? [{ idem, jobId: (batch[by] as NewSubmission).spec.id }] : [];
      }),
      now,
    );
    // In order, so a job failed by its dependency fails, in turn, the later items waiting on it.
    for (const { spec } of creating) {
      const row = rows.get(spec.id);
      if (row?.dependsOn) rows.set(spec.id, linked(db, row, known, now, t));
    }
    const answered = decided.map((d, index): AdmitOutcome => {
      if (typeof d !== "number") return d;
      const by = replacing.get(index);
      const id = typeof by === "object" ? by.id : (batch[d] as NewSubmission).spec.id;
      const job = rows.get(id);
      if (!job) throw new Error(`jobs[${d}] was decided but not created`);
      if (by !== undefined) return { ok: true, replayed: false, replaced: true, job };
      return { ok: true, replayed: d !== index, job };
    });
    return { answered, created: creating.length };
  });
  room.settle(outcomes.created);
  return { ok: true, outcomes: outcomes.answered };
}
