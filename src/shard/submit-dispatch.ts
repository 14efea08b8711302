// Dispatch at submit, the shard's side: a submit whose new jobs are the only due ones writes them queued
// under attempt 1 (src/core/dispatch-at-submit.ts decides which; src/shard/sql/create-jobs.ts writes
// them in the insert's own row) and sends their messages itself, as the alarm would have a moment later.
// What the alarm saves is the claim's two rows written per job and its run; a failed send puts the jobs
// back as any failed claim's (dispatch-sender.ts), and a lost one is sent again at its dispatch lease.
import type { LoadWindow } from "../core/hot-shard";
import { compareDue } from "../core/priority";
import type { ShardContext } from "./context";
import { sendClaims } from "./dispatch-sender";
import { noteLoad } from "./growth";
import type { JobRow } from "./schema";
import { claimRoomNow } from "./sql/claim";
import type { SubmitDispatch } from "./sql/submit";

/** What insertJob and insertJobs need to dispatch this submit's due jobs (their room asked lazily). */
export function submitDispatch(s: ShardContext, now: number): SubmitDispatch {
  return {
    agingSeconds: s.policy.agingSeconds,
    leaseMs: s.timings.dispatchDeadlineMs,
    room: () => claimRoomNow(s.db, now, s.policy),
  };
}

/**
 * Sends the jobs a submit created queued (`created`: only jobs this submit wrote, not replays), in the
 * claim's order, and counts them as dispatched for the hot-shard window.
 */
export async function sendDispatched(
  s: ShardContext,
  load: LoadWindow,
  created: readonly JobRow[],
  now: number,
): Promise<void> {
  const queued = created.filter((job) => job.status === "queued");
  const [first] = queued;
  if (!first) return;
  const ordered = queued.sort((a, b) => compareDue(a, b, now, s.policy.agingSeconds));
  await sendClaims(
    s,
    ordered.map((job) => ({ id: job.id, userId: job.userId, attempt: job.attempt })),
    now,
  );
  await noteLoad(s, load, "dispatched", ordered.length, first.userId, now);
}
