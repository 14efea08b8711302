// Pending callbacks (docs/design.md `callback_url`): the outbox of job objects to POST after each finished
// occurrence.
//
// recordCallback(db, url, snapshot, occurrence, trace, now, sent, t) → CallbackRef
//   writes callbacks[job, occurrence] (insert, or replace under the next try number), with the job's
//   trace context (sent with each try).
//   Rows written: 2 (the row, its callbacks_deadline entry), new or replaced.
// claimDueCallbacks(db, now, t, limit) → (CallbackRef & {userId})[]
//   reads ≤ limit due rows (callbacks_deadline); writes each one's sends and deadline.
//   Rows written: 2 per row.
// postponeCallbacks(db, refs, at) → void
//   writes the deadline of each row still at the ref's try. Rows written: 2 per row moved.
// callbackToDeliver(db, ref) → {ok, row} | not_found | stale
//   reads callbacks[job, occurrence]. Rows written: 0.
// settleCallback(db, ref, outcome, now, random) → {ok, verdict} | not_found | stale
//   reads callbacks[job, occurrence]; deletes it (delivered, given up) or moves it to its next try.
//   Rows written: 1 when deleted, 2 for a retry; 0 if refused.
//
// The row is the truth; a queue message is a cache of it. Every row has a deadline the alarm enforces
// (the retry time, or the end of the wait for a try's report), so a lost message or a crashed consumer
// delays a callback, never loses it. Nothing here touches `jobs`: a callback's fate never changes the
// job's outcome.
import { and, asc, eq, lte, sql } from "drizzle-orm";
import { type CallbackTry, callbackReportDeadlineMs, callbackVerdict } from "../../core/callback-policy";
import type { JobView } from "../../core/job";
import type { TraceHeaders } from "../../core/trace-context";
import type { ShardDb } from "../db";
import type { CallbackRef, CallbackRefusal, Refused } from "../rpc";
import { type CallbackRow, callbacks } from "../schema";
import { prepared } from "./prepared";

/** The shard's dispatch deadline (ShardTimings), the base of the wait for a try's report. */
type ReportWait = { dispatchDeadlineMs: number };

/**
 * recordCallback: an occurrence of a job with a callback_url has finished; `snapshot` is the job as
 * it stands at that moment. Invariants: written in the same synchronous step as the finish (so a
 * finished occurrence's callback cannot be lost); one row per (job, occurrence), and should the same
 * occurrence finish again its row is replaced under a higher try number, so a report for the older
 * snapshot is refused as stale. `sent`: the caller sends the first message itself right now (the
 * deadline is then the wait for its report); otherwise the row is due at once and the alarm sends it.
 * `trace`: the job's trace context, delivered with every try.
 */
export function recordCallback(
  db: ShardDb,
  url: string,
  snapshot: JobView,
  occurrence: number,
  trace: TraceHeaders,
  now: number,
  sent: boolean,
  t: ReportWait,
): CallbackRef {
  const deadline = sent ? now + callbackReportDeadlineMs(t.dispatchDeadlineMs, 0) : now;
  const { traceparent, tracestate } = trace;
  const values = {
    url,
    body: JSON.stringify(snapshot),
    sends: sent ? 1 : 0,
    deadline,
    traceparent,
    tracestate,
  };
  const row = db
    .insert(callbacks)
    .values({ jobId: snapshot.id, occurrence, attempt: 1, ...values })
    .onConflictDoUpdate({
      target: [callbacks.jobId, callbacks.occurrence],
      set: { ...values, attempt: sql`${callbacks.attempt} + 1` },
    })
    .returning({ attempt: callbacks.attempt })
    .get();
  return { jobId: snapshot.id, occurrence, attempt: row?.attempt ?? 1 };
}

/**
 * claimDueCallbacks (alarm): rows whose deadline has passed get a message, under their current try
 * number: a try due after its backoff, or a try whose message was lost (no report by the deadline),
 * sent again, the same try, so whichever copy arrives first delivers it. Invariant: each send moves
 * the deadline to the end of the wait for that send's report, doubling with each message already
 * sent for the try, so a slow queue gets a bounded number of extra copies.
 */
export function claimDueCallbacks(
  db: ShardDb,
  now: number,
  t: ReportWait,
  limit: number,
): (CallbackRef & { userId: string })[] {
  const due = prepared(db, "callbacks.due", (db) =>
    db
      .select({
        jobId: callbacks.jobId,
        occurrence: callbacks.occurrence,
        attempt: callbacks.attempt,
        sends: callbacks.sends,
        // The snapshot names the user; a callback row outlives nothing it needs.
        userId: sql<string>`json_extract(${callbacks.body}, '$.user_id')`,
      })
      .from(callbacks)
      .where(lte(callbacks.deadline, sql.placeholder("now")))
      .orderBy(asc(callbacks.deadline))
      .limit(sql.placeholder("limit"))
      .prepare(),
  ).all({ now, limit });
  if (due.length === 0) return [];
  const sent = prepared(db, "callbacks.sent", (db) =>
    db
      .update(callbacks)
      .set({ sends: sql`${sql.placeholder("sends")}`, deadline: sql`${sql.placeholder("deadline")}` })
      .where(
        and(
          eq(callbacks.jobId, sql.placeholder("jobId")),
          eq(callbacks.occurrence, sql.placeholder("occurrence")),
        ),
      )
      .prepare(),
  );
  for (const d of due) {
    sent.run({
      jobId: d.jobId,
      occurrence: d.occurrence,
      sends: d.sends + 1,
      deadline: now + callbackReportDeadlineMs(t.dispatchDeadlineMs, d.sends),
    });
  }
  return due.map(({ jobId, occurrence, attempt, userId }) => ({ jobId, occurrence, attempt, userId }));
}

/** A send failed: the rows are due again at `at` (only the tries that were sent). */
export function postponeCallbacks(db: ShardDb, refs: CallbackRef[], at: number): void {
  for (const r of refs) {
    db.update(callbacks).set({ deadline: at }).where(whereTry(r)).run();
  }
}

function whereTry(r: CallbackRef) {
  return and(
    eq(callbacks.jobId, r.jobId),
    eq(callbacks.occurrence, r.occurrence),
    eq(callbacks.attempt, r.attempt),
  );
}

function findCallback(db: ShardDb, r: CallbackRef): CallbackRow | Refused<CallbackRefusal> {
  const row = db
    .select()
    .from(callbacks)
    .where(and(eq(callbacks.jobId, r.jobId), eq(callbacks.occurrence, r.occurrence)))
    .get();
  if (!row) return { ok: false, reason: "not_found" };
  return row.attempt === r.attempt ? row : { ok: false, reason: "stale" };
}

/**
 * callbackToDeliver: what the consumer POSTs for a try. Reads only: a try is not "begun", because
 * a copy of the same try delivering twice is at-least-once delivery the webhook-id covers, and a
 * begin write would cost a row per callback. Refused when the row is gone (delivered, given up) or
 * has moved to a later try.
 */
export function callbackToDeliver(
  db: ShardDb,
  r: CallbackRef,
): { ok: true; row: CallbackRow } | Refused<CallbackRefusal> {
  const row = findCallback(db, r);
  return "ok" in row ? row : { ok: true, row };
}

/**
 * settleCallback: the consumer's report of a try. Invariants: only the row's current try is
 * accepted (fenced like an attempt), so a late report of an older try or of a replaced snapshot
 * changes nothing; delivered or given up (after CALLBACK_MAX_TRIES, or a refused target) deletes the
 * row; a failure with tries left makes the next try due after its backoff under the next number.
 */
export function settleCallback(
  db: ShardDb,
  r: CallbackRef,
  outcome: CallbackTry,
  now: number,
  random: () => number,
): { ok: true; verdict: ReturnType<typeof callbackVerdict> } | Refused<CallbackRefusal> {
  const row = findCallback(db, r);
  if ("ok" in row) return row;
  const verdict = callbackVerdict(row.attempt, outcome, now, random);
  if (verdict.kind === "retry") {
    db.update(callbacks)
      .set({ attempt: row.attempt + 1, sends: 0, deadline: verdict.at })
      .where(whereTry(r))
      .run();
  } else {
    db.delete(callbacks).where(whereTry(r)).run();
  }
  return { ok: true, verdict };
}
