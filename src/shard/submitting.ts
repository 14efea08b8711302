// The shard's submit RPCs: admit and write the jobs (src/shard/sql/submit.ts), send those dispatched at
// submit, re-arm, and answer each job as the API shows it.
//
// Dispatch at submit: a submit whose new jobs are the only due ones writes them queued under attempt 1
// (src/core/dispatch-at-submit.ts decides which; src/shard/sql/create-jobs.ts writes them in the
// insert's own row) and sends their messages itself, as the alarm would have a moment later. What the
// alarm saves is the claim's two rows written per job and its run; a failed send puts the jobs back as
// any failed claim's (dispatch-sender.ts), and a lost one is sent again at its dispatch lease.
//
// The sends are group-committed (src/core/coalescer.ts): the jobs of submits that arrive while one of
// the shard's submit sends is in flight go out together in the next, up to JOBS_PER_MESSAGE a message,
// so concurrent single submits share queue messages as an alarm run's claims do.
import { Coalescer } from "../core/coalescer";
import type { LoadWindow } from "../core/hot-shard";
import { indexCopyDue } from "../core/index-copy-time";
import type { NewJob } from "../core/job";
import { compareDue } from "../core/priority";
import type { ShardContext } from "./context";
import { sendClaims } from "./dispatch-sender";
import { noteLoad } from "./growth";
import type * as R from "./rpc";
import type { JobRow } from "./schema";
import { claimRoomNow } from "./sql/claim";
import type { Claim } from "./sql/dispatch";
import { poolWaitersExist } from "./sql/pools";
import * as submits from "./sql/submit";
import { toJobView, viewJob } from "./sql/view";

/** The shard's submit sends, group-committed: one per object, each flush sent at its own time. */
export function submitSender(c: ShardContext): Coalescer<Claim> {
  return new Coalescer((claims) => sendClaims(c, claims, c.now()));
}

/** What a submit RPC works with: the shard's context, its load window, and its unfinished-jobs cap. */
export interface Submitter {
  context: ShardContext;
  load: LoadWindow;
  /** The cap for this request (the account's, else the shard's: BulkRunner.room). */
  cap(maxUnfinished: number | undefined): number;
  /** The shard's submit sends, group-committed (one per object: sendClaims at the flush's time). */
  sends: Coalescer<Claim>;
}

export async function submitOne(
  s: Submitter,
  spec: NewJob,
  idempotency: R.Idempotency | undefined,
  maxUnfinished: number | undefined,
  known: R.KnownDependencies | undefined,
): Promise<R.SubmitResult> {
  const { context: c } = s;
  const now = c.now();
  const out = submits.insertJob(
    c.db,
    spec,
    idempotency,
    now,
    s.cap(maxUnfinished),
    c.timings,
    known,
    dispatch(c, now),
  );
  if (!out.ok) return out;
  if (!out.replayed && !out.replaced) await sendDispatched(s, [out.job], now);
  const floor = wakeFloor(c, out, now);
  if (floor === null) await c.rearm(out.job.needsPools && poolWaitersExist(c.db, now));
  else await c.rearmFrom(floor);
  const result = submitted(c, out);
  await noteLoad(c, s.load, "submitted", 1, spec.userId, now);
  return result;
}

export async function submitMany(
  s: Submitter,
  batch: R.NewSubmission[],
  maxUnfinished: number | undefined,
  known: R.KnownDependencies | undefined,
): Promise<R.SubmitBatchResult> {
  const { context: c } = s;
  const now = c.now();
  const out = submits.insertJobs(c.db, batch, now, s.cap(maxUnfinished), c.timings, known, dispatch(c, now));
  if (!out.ok) return out;
  await sendDispatched(
    s,
    out.outcomes.flatMap((o) => (o.ok && !o.replayed && !o.replaced ? [o.job] : [])),
    now,
  );
  const pooled = out.outcomes.some((o) => o.ok && !o.replayed && o.job.needsPools);
  await c.rearm(pooled && poolWaitersExist(c.db, now));
  const userId = batch[0]?.spec.userId;
  if (userId) await noteLoad(c, s.load, "submitted", batch.length, userId, now);
  return { ok: true, results: out.outcomes.map((o) => (o.ok ? submitted(c, o) : o)) };
}

/**
 * The earliest deadline a submit's outcome can have added, when it is a plain job's creation left
 * scheduled: its row's deadline (its run_at) and its index copy (at indexCopyDue of its creation or
 * later: the watermark's copy time is its first new row's). Null when the submit may have added or
 * moved others, or its row may have changed since: a job dispatched at submit (a failed send puts it
 * back due in a second, with a PATCH that waited for it applied), a replaced pending job, dependencies
 * with their messages, pools and their waiters. Those re-arm in full.
 */
function wakeFloor(c: ShardContext, out: Extract<submits.InsertOutcome, { ok: true }>, now: number) {
  const job = out.job;
  if (out.replaced || job.status !== "scheduled" || job.needsPools || job.deadline === null) return null;
  if ((job.dependsOn?.length ?? 0) > 0) return null;
  return Math.min(job.deadline, indexCopyDue(now, c.timings.indexFlushDelayMs));
}

/** What insertJob and insertJobs need to dispatch this submit's due jobs (their room asked lazily). */
function dispatch(c: ShardContext, now: number): submits.SubmitDispatch {
  return {
    agingSeconds: c.policy.agingSeconds,
    leaseMs: c.timings.dispatchDeadlineMs,
    room: () => claimRoomNow(c.db, now, c.policy),
  };
}

/**
 * Sends the jobs a submit created queued (`created`: only jobs this submit wrote, not replays), in the
 * claim's order, and counts them as dispatched for the hot-shard window.
 */
async function sendDispatched(s: Submitter, created: readonly JobRow[], now: number): Promise<void> {
  const { context: c } = s;
  const queued = created.filter((job) => job.status === "queued");
  const [first] = queued;
  if (!first) return;
  const ordered = queued.sort((a, b) => compareDue(a, b, now, c.policy.agingSeconds));
  await s.sends.add(ordered.map((job) => ({ id: job.id, userId: job.userId, attempt: job.attempt })));
  await noteLoad(c, s.load, "dispatched", ordered.length, first.userId, now);
}

/**
 * An accepted submit as it crosses the RPC: the job as the API shows it, not its row. A job just
 * created has no attempts, so only a replay reads them.
 */
function submitted(c: ShardContext, out: Extract<submits.InsertOutcome, { ok: true }>): R.SubmitItemResult {
  // A replaced pending job never began: it has no attempts either.
  const view = out.replayed ? viewJob(c.db, out.job) : toJobView(out.job, []);
  return { ok: true, replayed: out.replayed, ...(out.replaced ? { replaced: true } : {}), view };
}
