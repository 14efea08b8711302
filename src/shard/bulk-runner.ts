// Bulk cancel and retry on one shard, in bounded steps that yield: each step one transaction over at
// most a few hundred rows (src/shard/sql/bulk.ts), re-armed, with a turn of the event loop between
// steps so begins, heartbeats, reads and the alarm are served meanwhile; the whole still answered in
// one request with the exact count. A retry holds the unfinished-job places it will fill, so submits
// between its steps cannot take them.
import { recordOperations } from "../metering/operations";
import type { ShardContext } from "./context";
import type { BulkRetryOptions, BulkRetryResult, JobFilter } from "./rpc";
import { type BulkAction, type BulkWalk, bulkStep, countStep, startWalk } from "./sql/bulk";
import { poolWaitersExist } from "./sql/pools";
import { unfinishedJobs } from "./sql/submit";

export class BulkRunner {
  /**
   * Awaited between the steps of a bulk action: a turn of the event loop, so the shard's other
   * requests (heartbeats, begins, the alarm) run between steps. Tests replace it to hold a step.
   */
  betweenSteps: () => PromiseLike<void> = () => scheduler.wait(0);
  /** Unfinished-job places held by bulk retries in progress; a submit counts them as taken. */
  private held = 0;

  constructor(private readonly s: ShardContext) {}

  /** The cap a submit is held to: the user's (or the global one), less what bulk retries hold. */
  room(maxUnfinished: number | undefined): number {
    return (maxUnfinished ?? this.s.policy.maxUnfinished) - this.held;
  }

  cancel(filter: JobFilter): Promise<number> {
    return this.run("cancel", filter, Number.POSITIVE_INFINITY);
  }

  /**
   * A bulk retry must not take the shard past its unfinished-jobs cap (a retention window of failed
   * jobs could otherwise come back at once). It counts what it would move (in steps), refuses when
   * that does not fit, and otherwise holds that many places and moves at most that many.
   */
  async retry(filter: JobFilter, options: BulkRetryOptions): Promise<BulkRetryResult> {
    const { db } = this.s;
    const cap = options.maxUnfinished ?? this.s.policy.maxUnfinished;
    let matching = 0;
    for (let walk = startWalk(db, filter); walk; ) {
      const at: BulkWalk = walk;
      const step = this.metered(() => countStep(db, "retry", filter, at));
      matching += step.matching;
      walk = step.rest;
      if (walk) await this.betweenSteps();
    }
    // From here to the first step, synchronous: the count of unfinished jobs and the hold agree.
    const unfinished = unfinishedJobs(db) + this.held;
    if (unfinished + matching > cap)
      return { ok: false, reason: "too_many_unfinished", matching, unfinished, cap };
    if (options.dryRun) return { ok: true, matched: matching };
    return { ok: true, matched: await this.run("retry", filter, matching) };
  }

  /**
   * Walks the shard in bulkStep's bounded steps, each one atomic and re-armed, with a turn of the
   * event loop between them; moves at most `limit` jobs (a retry's held places, which are given back
   * as its jobs become unfinished). Answers the exact number moved.
   */
  private async run(action: BulkAction, filter: JobFilter, limit: number): Promise<number> {
    const { db, timings } = this.s;
    let held = action === "retry" ? limit : 0;
    this.held += held;
    let matched = 0;
    try {
      for (let walk = startWalk(db, filter); walk && matched < limit; ) {
        const at: BulkWalk = walk;
        const now = this.s.now();
        const step = this.metered(() => bulkStep(db, action, filter, at, now, timings, limit - matched));
        matched += step.moved;
        const given = Math.min(held, step.moved);
        held -= given;
        this.held -= given;
        await this.s.rearm(step.poolsMoved && poolWaitersExist(db, now));
        walk = step.rest;
        if (walk && matched < limit) await this.betweenSteps();
      }
    } finally {
      this.held -= held;
    }
    return matched;
  }

  /**
   * A step's rows, billed to the `other` phase at once: a request served between two steps must not
   * take them as its own (meterMethods bills what is left when a method ends).
   */
  private metered<T>(step: () => T): T {
    const { value, rows } = this.s.sqlMeter.measure(step);
    recordOperations("other", rows);
    return value;
  }
}
