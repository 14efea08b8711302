// finish and finishMany: the consumer's reports of the attempts it ran, many in one request (its group
// commit, src/consumer/report-batcher.ts). Each report is fenced on its own exactly as a lone finish
// (finishAttempt: a refused one changes nothing and does not affect the others); what they share is
// paid once per request: one metrics-minute upsert, one send of the callbacks they finished, one re-arm
// (none when every report was refused: nothing changed).
//
// finishReports(s, reports) → FinishResult[] (in order)
//   per report: finishAttempt's reads and writes without its minute row (4 rows + 1 per pool held; 0
//   if refused), the job's view, and its callback row when it finished an occurrence with a
//   callback_url (billed to the callback phase). Then metric_minutes[minute of now] once for all of
//   them (1 row; 0 if none was accepted), in the same synchronous step as the changes it counts.
import type { ShardContext } from "./context";
import { sendCallbacks } from "./dispatch-sender";
import type { CallbackRef, FinishReport, FinishResult } from "./rpc";
import { finishAttempt } from "./sql/attempts";
import { countInMinute, MinuteTally } from "./sql/metrics";
import { poolWaitersExist } from "./sql/pools";
import { viewJob } from "./sql/view";
import { recordFinishedCallback } from "./tick";

export async function finishReports(s: ShardContext, reports: FinishReport[]): Promise<FinishResult[]> {
  const now = s.now();
  const minute = new MinuteTally();
  const results: FinishResult[] = [];
  const callbacks: (CallbackRef & { userId: string })[] = [];
  let accepted = 0;
  let released = false;
  let failure: { error: unknown } | null = null;
  try {
    for (const { jobId, attempt, report } of reports) {
      const out = finishAttempt(s.db, jobId, attempt, report, now, s.random, s.timings, minute);
      if (!out.ok) {
        results.push(out);
        continue;
      }
      const view = viewJob(s.db, out.job);
      // Recorded in the same step as the finish; its first message goes out at once, not at an alarm.
      const callback = recordFinishedCallback(s, out, () => view, now, true);
      if (callback) callbacks.push(callback);
      accepted++;
      // Units freed, a flow-control key's slot given back (the row's own update: flow-control.ts), or
      // a job naming pools that waited on this one due now (it does not drive the alarm by itself).
      released ||= out.released || out.job.flowKey !== null || out.pooledDue;
      results.push({ ok: true, view });
    }
  } catch (error) {
    // A report that broke the shard fails the request (the consumer tries its group again), but the
    // reports before it are committed: they are counted, their callbacks sent and the alarm re-armed.
    failure = { error };
  }
  // Still synchronous with every change above: the minute counts exactly what was committed.
  countInMinute(s.db, now, minute);
  if (accepted > 0 || failure) {
    await sendCallbacks(s, callbacks, now);
    // Released units or slots dispatch the next waiting job at once, not at its next due time.
    await s.rearm(released && poolWaitersExist(s.db, now));
  }
  if (failure) throw failure.error;
  return results;
}
