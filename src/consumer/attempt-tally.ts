// What the consumer logs about the attempts it ran: one `attempts_reported` line per consumer batch per
// shard, summing them (what the capacity and cost benchmarks count completions from; with the longest
// its messages waited in the queue, where a job's lateness before its begin goes), and, only with
// LOG_ATTEMPTS=true, one `attempt_finished` line per attempt as well. A line per attempt was a quarter
// of the consumer's CPU in a herd, and each line is billed.
import { log } from "../log";

/** `cancelled`: stopped at its cutoff, replaced by its job's next occurrence (overlap cancel_other). */
export type AttemptOutcomeName = "succeeded" | "failed" | "timed_out" | "cancelled";

/** One attempt the consumer ran, once its report was answered (or could not be delivered). */
export interface AttemptEnd {
  jobId: string;
  attempt: number;
  outcome: AttemptOutcomeName;
  latenessMs: number;
  durationMs: number;
  /**
   * "accepted", the shard's refusal, "unreported" when the shard could not be reached, or "replaced"
   * when the attempt was stopped at its overlap cutoff and not reported.
   */
  report: string;
}

export class AttemptTally {
  private attempts = 0;
  private accepted = 0;
  private unreported = 0;
  private readonly outcomes: Record<AttemptOutcomeName, number> = {
    succeeded: 0,
    failed: 0,
    timed_out: 0,
    cancelled: 0,
  };
  /** The accepted attempts' lateness: one entry per completion. */
  private readonly lateness: number[] = [];
  private durationMax = 0;

  /**
   * `perAttempt`: LOG_ATTEMPTS, each attempt also logs its own line. `queueWaitMs`: the longest the
   * shard's messages in the batch waited in the queue, from their send to the batch's start (unknown:
   * undefined, logged as null).
   */
  constructor(
    private readonly userId: string,
    private readonly shard: number,
    private readonly perAttempt: boolean,
    private readonly queueWaitMs?: number,
  ) {}

  add(end: AttemptEnd): void {
    this.attempts++;
    this.outcomes[end.outcome]++;
    this.durationMax = Math.max(this.durationMax, end.durationMs);
    if (end.report === "accepted") {
      this.accepted++;
      this.lateness.push(end.latenessMs);
    } else if (end.report === "unreported") this.unreported++;
    if (this.perAttempt) {
      log("attempt_finished", {
        job_id: end.jobId,
        user_id: this.userId,
        attempt: end.attempt,
        outcome: end.outcome,
        lateness_ms: end.latenessMs,
        duration_ms: end.durationMs,
        report: end.report,
      });
    }
  }

  /** Logs the shard's line for the batch; nothing when no attempt ran (every begin was refused). */
  log(): void {
    if (this.attempts === 0) return;
    log("attempts_reported", {
      user_id: this.userId,
      shard: this.shard,
      attempts: this.attempts,
      accepted: this.accepted,
      refused: this.attempts - this.accepted - this.unreported,
      unreported: this.unreported,
      outcomes: this.outcomes,
      lateness_ms: this.lateness,
      duration_ms_max: this.durationMax,
      queue_wait_ms_max: this.queueWaitMs ?? null,
    });
  }
}
