// One run of the shard's alarm: give up attempts whose lease passed, send the dependency messages due
// to the user's other shards (src/shard/dependency-outbox.ts), send again what was lost, claim
// what is due in priority order (within the in-flight window), send callback tries, copy changed jobs
// to the D1 index, prune, and last, bounded, remove finished jobs past retention. It answers whether
// more is due at once and which phase of a job's life the run served (what it is billed to).

import type { LoadWindow } from "../core/hot-shard";
import type { JobView } from "../core/job";
import { log } from "../log";
import { type Phase, recordOperations } from "../metering/operations";
import type { ShardContext } from "./context";
import { MESSAGE_BATCH, sendDependencyMessages } from "./dependency-outbox";
import { sendCallbacks, sendClaims } from "./dispatch-sender";
import { noteLoad } from "./growth";
import { flushIndexCopies, removeExpiredJobs } from "./outbound";
import type { AttemptReport, CallbackRef } from "./rpc";
import type { JobRow } from "./schema";
import { attemptInFlight, expiryError, finishAttempt, timeoutBound } from "./sql/attempts";
import { claimDueCallbacks, recordCallback } from "./sql/callbacks";
import { claimDue, inFlight } from "./sql/claim";
import { expiredLeases, promoteBegun, resendLostDispatches } from "./sql/dispatch";
import { pruneIdempotencyKeys } from "./sql/idempotency-keys";
import { rollMetricMinutes } from "./sql/metrics";
import { holdPausedLease, overlapCutoffOf, overlapDue, replaceOverlapped } from "./sql/overlap";
import { viewJob } from "./sql/view";

/** Leases given up per run. */
const LEASE_BATCH = 100;
/** Expired idempotency keys dropped per run. */
const KEY_PRUNE_BATCH = 100;

export interface TickResult {
  /** More is due now (a full batch was claimed with room left, or sent again): wake at once. */
  more: boolean;
  phase: Phase;
  /** When a flow-control key held back by its rate opens again (null: none is), for the alarm. */
  wakeAt: number | null;
}

export async function tick(s: ShardContext, load: LoadWindow): Promise<TickResult> {
  const now = s.now();
  const { db, policy, timings } = s;
  const givenUp = expireLeases(s, now);
  // First, so a dependent its dependency's answer makes due goes out in this same run.
  const told = await sendDependencyMessages(s, now);
  const resends = resendLostDispatches(db, now, timings, policy.batchSize);
  const room = policy.window - inFlight(db);
  const limit = Math.min(policy.batchSize, room);
  const {
    claims,
    expired,
    more: due,
    flowWakeAt,
  } = claimDue(db, now, { limit, agingSeconds: policy.agingSeconds }, timings);
  // An expired occurrence is a finished one: its callback goes out with this run's callbacks.
  for (const e of expired) recordFinishedCallback(s, e, () => viewJob(db, e.job), now, false);
  await sendClaims(s, [...resends, ...claims], now);
  const callbacks = s.sqlMeter.measure(() => claimDueCallbacks(db, now, timings, policy.batchSize));
  // Looking and finding nothing is the alarm's own cost; sending callbacks is theirs.
  recordOperations(callbacks.value.length > 0 ? "callback" : "claim", callbacks.rows);
  await sendCallbacks(s, callbacks.value, now);
  const more =
    told === MESSAGE_BATCH ||
    (due && claims.length < room) ||
    resends.length === policy.batchSize ||
    callbacks.value.length === policy.batchSize;
  const claimedFor = claims[0]?.userId;
  if (claimedFor) await noteLoad(s, load, "dispatched", claims.length, claimedFor, now);
  const indexed = await flushIndexCopies(s, now);
  pruneIdempotencyKeys(db, now, KEY_PRUNE_BATCH);
  rollMetricMinutes(db, now);
  // Last, and bounded: removal never delays a dispatch.
  const removing = await removeExpiredJobs(s, now);
  const dispatching =
    givenUp + told + resends.length + claims.length + expired.length + callbacks.value.length > 0;
  // A run that only copied jobs to the index (or only removed jobs) is theirs: for a quiet shard it is
  // the alarm the index copy (or the removal) asked for.
  const phase = dispatching ? "claim" : indexed > 0 ? "index" : removing > 0 ? "retention" : "claim";
  return { more, phase, wakeAt: flowWakeAt };
}

/**
 * Gives up the attempts whose lease passed; returns how many rows it looked at. First, attempts of
 * cancel_other jobs whose next occurrence came due are replaced (replaceOverlappedAttempts), so what
 * is left past its deadline is a real lease expiry. Begun attempts past their dispatch lease take their
 * running form (promoteBegun, src/shard/sql/begun.ts), so one whose liveness deadline has passed too
 * is given up in this same call.
 */
export function expireLeases(s: ShardContext, now: number): number {
  const replaced = replaceOverlappedAttempts(s, now);
  const promoted = promoteBegun(s.db, now, LEASE_BATCH);
  const expired = expiredLeases(s.db, now, LEASE_BATCH);
  for (const job of expired) {
    const report: AttemptReport = {
      outcome: { ok: false },
      timedOut: true,
      error: expiryError(job, s.timings),
    };
    const out = finishAttempt(s.db, job.id, job.attempt, report, now, s.random, s.timings);
    if (!out.ok) continue;
    // Due at once: the alarm sends it further on in this same run.
    recordFinishedCallback(s, out, () => viewJob(s.db, out.job), now, false);
    // Its consumer never reports (gone, or past the timeout): this is the attempt's only line.
    log("attempt_given_up", {
      job_id: job.id,
      user_id: job.userId,
      attempt: job.attempt,
      outcome: "timed_out",
      lateness_ms: out.latenessMs,
      error: report.error,
    });
  }
  return replaced + promoted + expired.length;
}

/**
 * overlap `cancel_other` (src/shard/sql/overlap.ts): a queued or running attempt whose job's next
 * occurrence is due (cutoff ≤ now) is cancelled and that occurrence scheduled now; this run's claimDue
 * sends it. A deadline that passed before the cutoff is a real lease (left to the steps after this). A
 * paused job's attempt is never replaced (nothing starts while paused): if its deadline was the cutoff,
 * set before the pause, its lease goes on from now, bounded by its timeout. Returns the rows looked at.
 */
function replaceOverlappedAttempts(s: ShardContext, now: number): number {
  const due = overlapDue(s.db, now, LEASE_BATCH);
  for (const job of due) {
    const cutoff = overlapCutoffOf(job);
    if (cutoff === null || cutoff > now) continue;
    if (job.status === "paused") {
      if (job.deadline === cutoff && attemptInFlight(s.db, job)) {
        const lease = Math.min(timeoutBound(job, s.timings), now + s.timings.heartbeatTimeoutMs);
        holdPausedLease(s.db, job.id, lease);
      }
      continue;
    }
    const out = replaceOverlapped(s.db, job, now, s.timings);
    log("attempt_replaced", {
      job_id: job.id,
      user_id: job.userId,
      attempt: job.attempt,
      begun: job.status === "running",
      occurrence: out.job.occurrence,
      released: out.released,
    });
  }
  return due.length;
}

/**
 * After a finished attempt: when it finished an occurrence of a job with a callback_url, records the
 * callback (a snapshot of the job now; `sent`: its first try goes out at once, by the caller). Its rows
 * are billed to the callback phase, so a job without a callback costs what it did before callbacks.
 */
export function recordFinishedCallback(
  s: Pick<ShardContext, "db" | "sqlMeter" | "timings">,
  out: { job: JobRow; finishedOccurrence: number | null },
  view: () => JobView,
  now: number,
  sent: boolean,
): (CallbackRef & { userId: string }) | null {
  const url = out.job.callbackUrl;
  if (url === null || out.finishedOccurrence === null) return null;
  const occurrence = out.finishedOccurrence;
  const trace = { traceparent: out.job.traceparent, tracestate: out.job.tracestate };
  const { value, rows } = s.sqlMeter.measure(() =>
    recordCallback(s.db, url, view(), occurrence, trace, now, sent, s.timings),
  );
  recordOperations("callback", rows);
  return { ...value, userId: out.job.userId };
}
