// begin and beginMany: the consumer begins every attempt of one consumer batch that lives on this shard
// in one request. Each is fenced on its own exactly as a lone begin (begin: a refused one changes
// nothing and does not affect the others); what they share is paid once per request: one read of the
// signing secrets (only the home shard holds them: elsewhere they are empty, src/consumer/secrets.ts)
// and one re-arm (none when every begin was refused: nothing changed).
//
// beginAttempts(s, attempts) → BeginResult[] (in order)
//   per attempt: begin's reads and its one row written (the job row in its begun form; 0 if refused).
import type { ShardContext } from "./context";
import type { AttemptRef, BeginResult } from "./rpc";
import { liveSigningSecrets } from "./sql/accounts";
import { begin } from "./sql/attempts";
import { overlapCutoffOf } from "./sql/overlap";
import { poolWaitersExist } from "./sql/pools";

export async function beginAttempts(s: ShardContext, attempts: AttemptRef[]): Promise<BeginResult[]> {
  const now = s.now();
  let secrets: string[] | null = null;
  let rated = false;
  const results = attempts.map(({ jobId, attempt }): BeginResult => {
    const out = begin(s.db, jobId, attempt, now, s.timings);
    if (!out.ok) return out;
    rated ||= (out.job.flowControl?.rate ?? null) !== null;
    secrets ??= liveSigningSecrets(s.db, now);
    const { type, payload, occurrence, timeoutSeconds, resultLocation, traceparent, tracestate } = out.job;
    const started = { type, payload: payload ?? null, occurrence, timeoutSeconds, resultLocation };
    // The job's trace context rides the begin it answers anyway: no read or request of its own.
    const trace = { traceparent, tracestate };
    return {
      ok: true,
      ...started,
      ...trace,
      signingSecrets: secrets,
      latenessMs: out.latenessMs,
      cutoffAt: overlapCutoffOf(out.job),
    };
  });
  // A key's claims count against its rate until they begin: a key whose window was all claims in
  // flight could not say when it opens again, so the alarm runs at once to work it out anew.
  if (results.some((r) => r.ok)) await s.rearm(rated && poolWaitersExist(s.db, now));
  return results;
}
