// One dispatch message: begin the fenced attempt on the shard, run its executor while heartbeating
// the attempt, report back (with the other reports to its shard: src/consumer/report-batcher.ts).

import { configOf, heartbeatIntervalMs } from "../config";
import { shardOfJobId } from "../core/ids";
import type { DispatchMessage } from "../dispatch/message";
import type { Env } from "../env";
import { configuredHostCheck } from "../executors/host-check";
import { getExecutor } from "../executors/registry";
import type { ExecutionOutcome } from "../executors/types";
import { shardStub } from "../shard/address";
import type { AttemptReport, BeginResult, BegunAttempt, FinishResult, TaskShardRpc } from "../shard/rpc";
import { type AttemptOutcomeName, AttemptTally } from "./attempt-tally";
import { type HeartbeatTimer, startHeartbeat } from "./heartbeat";
import { ReportBatcher } from "./report-batcher";
import { storeResult } from "./results";
import { BatchSecrets } from "./secrets";

export interface AttemptDeps {
  timer?: HeartbeatTimer;
  /** The batch's signing secrets; a lone attempt gets its own. */
  secrets?: BatchSecrets;
  /** Where the batch's reports to this attempt's shard go together; a lone attempt gets its own. */
  reports?: ReportBatcher;
  /** What the batch logs about this shard's attempts; a lone attempt gets its own, logged at its end. */
  tally?: AttemptTally;
}

export type AttemptRun =
  | { kind: "skipped"; reason: string }
  | { kind: "settled"; shard: number; settled: FinishResult };

function toReport(outcome: ExecutionOutcome, result: unknown): AttemptReport {
  if (outcome.ok) return { outcome: { ok: true }, result };
  return {
    outcome: {
      ok: false,
      retryAfterMs: outcome.retryAfterMs,
      permanent: outcome.permanent,
      httpStatus: outcome.httpStatus,
    },
    error: outcome.error,
    timedOut: outcome.timedOut === true,
  };
}

/**
 * An attempt replaced by its job's next occurrence (overlap cancel_other) at its cutoff: the call was
 * stopped there, and nothing is reported, since the shard's alarm cancels the attempt at that time
 * and a report could only race it. Its shard's other reports no longer wait for it.
 */
function abandon(
  msg: DispatchMessage,
  begun: BegunAttempt,
  reports: ReportBatcher,
  tally: AttemptTally,
  durationMs: number,
): AttemptRun {
  reports.abandoned();
  tally.add({
    jobId: msg.job_id,
    attempt: msg.attempt,
    outcome: "cancelled",
    latenessMs: begun.latenessMs,
    durationMs,
    report: "replaced",
  });
  return { kind: "skipped", reason: "replaced by the next occurrence (overlap cancel_other)" };
}

/** How the attempt ended, as its attempt record will say. */
function outcomeName(outcome: ExecutionOutcome): AttemptOutcomeName {
  if (outcome.ok) return "succeeded";
  return outcome.timedOut ? "timed_out" : "failed";
}

/**
 * Runs one attempt. Throws only when the shard could not be reached, so the message is retried;
 * the fencing number makes that retry harmless once the attempt has begun. From begin until the
 * report is accepted the attempt is heartbeated, so the shard can tell a dead consumer from a slow one.
 */
export async function runAttempt(
  env: Env,
  msg: DispatchMessage,
  deps: AttemptDeps = {},
): Promise<AttemptRun> {
  const shard = shardOfJobId(msg.job_id);
  if (shard === null) return { kind: "skipped", reason: "malformed job id" };
  const stub = shardStub(env, msg.user_id, shard);
  return runBegun(env, msg, shard, stub, await stub.begin(msg.job_id, msg.attempt), deps);
}

/**
 * Runs an attempt whose begin the shard has answered (the consumer begins a batch's attempts of one
 * shard together): a refused begin is skipped; an accepted one is executed, heartbeated and reported.
 */
export async function runBegun(
  env: Env,
  msg: DispatchMessage,
  shard: number,
  stub: TaskShardRpc,
  begun: BeginResult,
  deps: AttemptDeps = {},
): Promise<AttemptRun> {
  if (!begun.ok) return { kind: "skipped", reason: begun.reason };
  const config = configOf(env);
  const heartbeat = startHeartbeat({
    intervalMs: heartbeatIntervalMs(config),
    beat: () => stub.heartbeat(msg.job_id, msg.attempt),
    timer: deps.timer,
    fields: { job_id: msg.job_id, user_id: msg.user_id, attempt: msg.attempt },
  });
  const tally = deps.tally ?? new AttemptTally(msg.user_id, shard, config.LOG_ATTEMPTS);
  const shared: Shared = {
    secrets: deps.secrets ?? new BatchSecrets(env),
    reports: deps.reports ?? new ReportBatcher(stub),
    tally,
  };
  // Its report is now expected: its shard's other reports of this batch may wait for it (the linger).
  shared.reports.began();
  try {
    return await executeAndReport(env, msg, shard, begun, shared);
  } finally {
    heartbeat.stop();
    if (!deps.tally) tally.log();
  }
}

/** What an attempt shares with the rest of its batch: secrets, its shard's reports and log line. */
interface Shared {
  secrets: BatchSecrets;
  reports: ReportBatcher;
  tally: AttemptTally;
}

/** Runs the begun attempt's executor and reports its outcome to the shard. */
async function executeAndReport(
  env: Env,
  msg: DispatchMessage,
  shard: number,
  begun: BegunAttempt,
  { secrets, reports, tally }: Shared,
): Promise<AttemptRun> {
  const started = Date.now();
  const executor = getExecutor(begun.type);
  // overlap cancel_other: the shard replaces this attempt at its cutoff; the call stops there too.
  const timeoutMs = begun.timeoutSeconds * 1000;
  const cutoffMs = begun.cutoffAt === null ? Number.POSITIVE_INFINITY : begun.cutoffAt - started;
  let outcome: ExecutionOutcome;
  let result: unknown = null;
  if (!executor) outcome = { ok: false, error: `no executor for type "${begun.type}"`, permanent: true };
  else if (cutoffMs <= 0) return abandon(msg, begun, reports, tally, 0);
  else {
    outcome = await executor.execute({
      jobId: msg.job_id,
      occurrence: begun.occurrence,
      attempt: msg.attempt,
      payload: begun.payload,
      timeoutMs: Math.min(timeoutMs, cutoffMs),
      signingSecrets: await secrets.of(msg.user_id, begun.signingSecrets),
      allowPrivateTargets: configOf(env).ALLOW_PRIVATE_TARGETS,
      checkHost: configuredHostCheck(configOf(env)),
      trace: { traceparent: begun.traceparent, tracestate: begun.tracestate },
    });
    // Stopped by the cutoff, not by its own timeout: the shard cancels it (no report to race that).
    if (!outcome.ok && outcome.timedOut && cutoffMs < timeoutMs)
      return abandon(msg, begun, reports, tally, Date.now() - started);
    if (outcome.ok) {
      result = begun.resultLocation
        ? await storeResult(env.RESULTS, begun.resultLocation, msg, begun.occurrence, outcome.result)
        : outcome.result;
    }
  }
  const durationMs = Date.now() - started;
  const report = toReport(outcome, result);
  // "accepted", the shard's refusal, or "unreported" when the shard could not be reached.
  let reported = "unreported";
  try {
    const settled = await reports.report({ jobId: msg.job_id, attempt: msg.attempt, report });
    reported = settled.ok ? "accepted" : settled.reason;
    return { kind: "settled", shard, settled };
  } finally {
    tally.add({
      jobId: msg.job_id,
      attempt: msg.attempt,
      outcome: outcomeName(outcome),
      latenessMs: begun.latenessMs,
      durationMs,
      report: reported,
    });
  }
}
