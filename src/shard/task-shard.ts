// The TaskShard Durable Object: one per user shard, its SQLite the source of truth. This class only
// wires storage, the alarm and RPC to the query modules; every mutation ends by re-arming the alarm
// to the earliest deadline in the shard.

import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import migrations from "../../migrations/shard/migrations.js";
import { configOf } from "../config";
import type { CallbackTry } from "../core/callback-policy";
import { LoadWindow } from "../core/hot-shard";
import type { JobView, NewJob } from "../core/job";
import type { JobPatch } from "../core/job-patch";
import { jobRuleErrors, rulesOfRow } from "../core/job-rules";
import type { ShardMetrics } from "../core/metrics";
import { dispatchQueueOf } from "../core/queue-choice";
import { dispatchQueue } from "../dispatch/queues";
import type { Env } from "../env";
import { executorChecks } from "../executors/rule-checks";
import { log } from "../log";
import { meterMethods } from "../metering/meter-methods";
import { logOperations, type Phase, recordOperations } from "../metering/operations";
import { SqlMeter } from "../metering/sql-meter";
import { homeStub } from "./address";
import { AlarmTimer } from "./alarm-timer";
import { type DispatchPolicy, dispatchPolicy, shardTimings } from "./config";
import { findJob, type ShardDb } from "./db";
import { type SenderContext, sendCallbacks, sendClaims } from "./dispatch-sender";
import { flushIndexCopies, type Outbound, removeExpiredJobs } from "./outbound";
import type {
  AccountInit,
  AccountLimits,
  AccountResult,
  AddKeyResult,
  AttemptRef,
  AttemptReport,
  AuthenticateResult,
  BeginCallbackResult,
  BeginResult,
  BulkResult,
  BulkRetryOptions,
  BulkRetryResult,
  CallbackRef,
  CancelResult,
  ControlResult,
  DeletePoolResult,
  FinishCallbackResult,
  FinishResult,
  GetResult,
  GrowShardsResult,
  HeartbeatResult,
  Idempotency,
  JobFilter,
  KeyLookup,
  KeyView,
  NewSubmission,
  PatchResult,
  PoolView,
  RevokeKeyResult,
  RotateSigningSecretResult,
  SetLimitsResult,
  SetShardsResult,
  SubmitBatchResult,
  SubmitItemResult,
  SubmitResult,
  TaskShardRpc,
} from "./rpc";
import * as schema from "./schema";
import * as accounts from "./sql/accounts";
import { begin, cancel, expiryError, finishAttempt, heartbeat } from "./sql/attempts";
import { type BulkAction, type BulkWalk, bulkStep, countStep, startWalk } from "./sql/bulk";
import { callbackToDeliver, claimDueCallbacks, recordCallback, settleCallback } from "./sql/callbacks";
import { claimDue, inFlight } from "./sql/claim";
import { applyControl, type Control, patchJob } from "./sql/controls";
import { expiredLeases, resendLostDispatches } from "./sql/dispatch";
import { pruneMetricMinutes, readMetrics } from "./sql/metrics";
import * as pools from "./sql/pools";
import * as submits from "./sql/submit";
import { viewJob } from "./sql/view";

const LEASE_BATCH = 100;

export class TaskShard extends DurableObject<Env> implements TaskShardRpc {
  private readonly db: ShardDb;
  /** Counts the SQLite rows each request reads and writes (see meterMethods at the end). */
  readonly sqlMeter: SqlMeter;
  private readonly timings;
  /** ARCHIVE_FINISHED: removed jobs are first written to the results bucket. */
  private readonly archiveFinished: boolean;
  /** DISPATCH_QUEUES: how many dispatch queues the shards spread over. */
  private dispatchQueues: number;
  /** This shard's submit and dispatch rates over the current window (hot shards grow the user). */
  private load: LoadWindow;
  /** SHARD_CEILING: the most shards a user grows to by itself, unless an admin set the user's own. */
  private readonly shardCeiling: number;
  private readonly policy: DispatchPolicy;
  /** ALLOW_PRIVATE_TARGETS: a PATCH is checked by the same target rules as a submit. */
  private readonly allowPrivateTargets: boolean;
  /** The shard's clock; tests replace it to move time without sleeping. */
  clock: () => number = Date.now;
  private readonly timer: AlarmTimer;
  random: () => number = Math.random;
  /** What the latest alarm run did, so its request is billed to that phase (meterMethods below). */
  alarmPhase: Phase = "claim";
  /**
   * Awaited between the steps of a bulk action: a turn of the event loop, so the shard's other
   * requests (heartbeats, begins, the alarm) run between steps. Tests replace it to hold a step.
   */
  betweenSteps: () => PromiseLike<void> = () => scheduler.wait(0);
  /** Unfinished-job places held by bulk retries in progress; a submit counts them as taken. */
  private bulkHeld = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sqlMeter = new SqlMeter(ctx.storage);
    this.db = drizzle(this.sqlMeter.facade(), { schema }) as unknown as ShardDb;
    const config = configOf(env);
    logOperations(config.LOG_OPERATIONS);
    this.timings = shardTimings(config);
    this.policy = dispatchPolicy(config);
    this.archiveFinished = config.ARCHIVE_FINISHED;
    this.dispatchQueues = config.DISPATCH_QUEUES;
    this.load = new LoadWindow(config.HOT_SHARD_JOBS_PER_SECOND);
    this.shardCeiling = config.SHARD_CEILING;
    this.allowPrivateTargets = config.ALLOW_PRIVATE_TARGETS;
    // Read through a closure: tests replace `clock` after construction.
    this.timer = new AlarmTimer(ctx.storage, this.db, this.policy, () => this.clock());
    ctx.blockConcurrencyWhile(async () => {
      await migrate(this.db as never, migrations);
      recordOperations("other", this.sqlMeter.take());
    });
  }

  // --- account (home shard) ---
  async createAccount(init: AccountInit): Promise<void> {
    accounts.createAccount(this.db, init, this.clock());
  }

  async authenticate(keyHash: string): Promise<AuthenticateResult> {
    return accounts.authenticate(this.db, keyHash, this.clock());
  }

  async account(): Promise<AccountResult> {
    return accounts.findAccount(this.db, this.clock());
  }

  async signingSecrets(): Promise<string[]> {
    return accounts.liveSigningSecrets(this.db, this.clock());
  }

  async addKey(keyHash: string): Promise<AddKeyResult> {
    return accounts.addKey(this.db, keyHash, this.clock());
  }

  async listKeys(): Promise<KeyView[]> {
    return accounts.listKeys(this.db);
  }

  async revokeKey(keyId: string): Promise<RevokeKeyResult> {
    return accounts.revokeKey(this.db, keyId, this.clock());
  }

  async rotateSigningSecret(secret: string, overlapMs: number): Promise<RotateSigningSecretResult> {
    return accounts.rotateSigningSecret(this.db, secret, overlapMs, this.clock());
  }

  async setShards(shards: number): Promise<SetShardsResult> {
    return accounts.setShards(this.db, shards, this.clock());
  }

  async setLimits(limits: AccountLimits): Promise<SetLimitsResult> {
    return accounts.setLimits(this.db, limits, this.clock());
  }

  async growShards(): Promise<GrowShardsResult> {
    const out = accounts.growShards(this.db, this.shardCeiling, this.clock());
    if (out.ok && out.grown) log("shards_grown", { shard: this.name, shards: out.shards });
    return out;
  }

  // --- pools (home shard) ---
  async putPool(name: string, capacity: number): Promise<PoolView> {
    const now = this.clock();
    pools.putPool(this.db, name, capacity, now);
    // Growing a pool may let waiting jobs go at once; shrinking drains (nothing is preempted).
    await this.rearm(pools.poolWaitersExist(this.db, now));
    const view = pools.listPools(this.db, now).find((p) => p.name === name);
    if (!view) throw new Error(`pool ${name} is missing right after it was written`);
    return view;
  }

  async listPools(): Promise<PoolView[]> {
    return pools.listPools(this.db, this.clock());
  }

  async deletePool(name: string): Promise<DeletePoolResult> {
    return pools.deletePool(this.db, name, this.clock());
  }

  // --- jobs API ---
  async submit(spec: NewJob, idempotency?: Idempotency, maxUnfinished?: number): Promise<SubmitResult> {
    const now = this.clock();
    const cap = this.unfinishedRoom(maxUnfinished);
    const out = submits.insertJob(this.db, spec, idempotency, now, this.timings, cap);
    if (!out.ok) return out;
    // A pooled job that is due may find its units free: waiting pooled jobs do not drive the alarm.
    await this.rearm(out.job.needsPools && pools.poolWaitersExist(this.db, now));
    await this.noteLoad("submitted", 1, spec.userId, now);
    return this.submitted(out);
  }

  async submitBatch(batch: NewSubmission[], maxUnfinished?: number): Promise<SubmitBatchResult> {
    const now = this.clock();
    const cap = this.unfinishedRoom(maxUnfinished);
    const out = submits.insertJobs(this.db, batch, now, this.timings, cap);
    if (!out.ok) return out;
    const pooled = out.outcomes.some((o) => o.ok && !o.replayed && o.job.needsPools);
    await this.rearm(pooled && pools.poolWaitersExist(this.db, now));
    const userId = batch[0]?.spec.userId;
    if (userId) await this.noteLoad("submitted", batch.length, userId, now);
    return { ok: true, results: out.outcomes.map((o) => (o.ok ? this.submitted(o) : o)) };
  }

  async lookupKeys(keys: Idempotency[], shards: number): Promise<KeyLookup[]> {
    return submits.lookupKeys(this.db, keys, shards, this.clock());
  }

  /**
   * Counts the jobs this shard takes in or sends out; when a window runs hot, asks the user's home
   * shard for more shards (src/core/hot-shard.ts). A failed ask is logged and never fails the request.
   */
  private async noteLoad(kind: "submitted" | "dispatched", jobs: number, userId: string, now: number) {
    if (!this.load.record(kind, jobs, now)) return;
    try {
      const out = await homeStub(this.env, userId).growShards();
      log("shard_hot", {
        shard: this.name,
        kind,
        shards: out.ok ? out.shards : null,
        grown: out.ok && out.grown,
      });
    } catch (err) {
      log("shard_growth_failed", { shard: this.name, error: err });
    }
  }

  /** An accepted submit as it crosses the RPC: the job as the API shows it, not its row. */
  private submitted(out: Extract<submits.InsertOutcome, { ok: true }>): SubmitItemResult {
    return { ok: true, replayed: out.replayed, view: viewJob(this.db, out.job) };
  }

  async get(jobId: string): Promise<GetResult> {
    const job = findJob(this.db, jobId);
    return job ? { ok: true, view: viewJob(this.db, job) } : { ok: false, reason: "not_found" };
  }

  async cancel(jobId: string): Promise<CancelResult> {
    const now = this.clock();
    const out = cancel(this.db, jobId, now, this.timings);
    if (!out.ok) return out;
    // Units freed, or a blocking pooled job gone: a waiting job may now go.
    await this.rearm((out.released || out.job.needsPools) && pools.poolWaitersExist(this.db, now));
    return { ok: true, view: viewJob(this.db, out.job) };
  }

  // --- job controls ---
  async pause(jobId: string): Promise<ControlResult> {
    return this.control("pause", jobId);
  }

  async resume(jobId: string): Promise<ControlResult> {
    return this.control("resume", jobId);
  }

  async runNow(jobId: string): Promise<ControlResult> {
    return this.control("run", jobId);
  }

  async retry(jobId: string): Promise<ControlResult> {
    return this.control("retry", jobId);
  }

  private async control(control: Control, jobId: string): Promise<ControlResult> {
    const now = this.clock();
    const out = applyControl(this.db, control, jobId, now, this.timings);
    if (!out.ok) return out;
    // Withdrawn units, or a pooled job due now, may let a waiting job go.
    await this.rearm((out.released || out.job.needsPools) && pools.poolWaitersExist(this.db, now));
    return { ok: true, view: viewJob(this.db, out.job) };
  }

  async patch(jobId: string, patch: JobPatch): Promise<PatchResult> {
    const now = this.clock();
    const rules = (row: schema.JobRow) =>
      jobRuleErrors(rulesOfRow(row), now, executorChecks(this.allowPrivateTargets));
    const out = patchJob(this.db, jobId, patch, now, this.timings, rules);
    if (!out.ok) return out;
    await this.rearm(out.job.needsPools && pools.poolWaitersExist(this.db, now));
    return { ok: true, view: viewJob(this.db, out.job) };
  }

  /** The cap a submit is held to: the user's (or the global one), less what bulk retries hold. */
  private unfinishedRoom(maxUnfinished: number | undefined): number {
    return (maxUnfinished ?? this.policy.maxUnfinished) - this.bulkHeld;
  }

  async bulkCancel(filter: JobFilter): Promise<BulkResult> {
    return { matched: await this.bulk("cancel", filter, Number.POSITIVE_INFINITY) };
  }

  /**
   * A bulk retry must not take the shard past its unfinished-jobs cap (a retention window of failed
   * jobs could otherwise come back at once). It counts what it would move (in steps), refuses when
   * that does not fit, and otherwise holds that many places, so submits in between steps cannot take
   * them, and moves at most that many.
   */
  async bulkRetry(filter: JobFilter, options: BulkRetryOptions = {}): Promise<BulkRetryResult> {
    const cap = options.maxUnfinished ?? this.policy.maxUnfinished;
    let matching = 0;
    for (let walk = startWalk(this.db, filter); walk; ) {
      const at: BulkWalk = walk;
      const step = this.metered(() => countStep(this.db, "retry", filter, at));
      matching += step.matching;
      walk = step.rest;
      if (walk) await this.betweenSteps();
    }
    // From here to the first step, synchronous: the count of unfinished jobs and the hold agree.
    const unfinished = submits.unfinishedJobs(this.db) + this.bulkHeld;
    if (unfinished + matching > cap)
      return { ok: false, reason: "too_many_unfinished", matching, unfinished, cap };
    if (options.dryRun) return { ok: true, matched: matching };
    return { ok: true, matched: await this.bulk("retry", filter, matching) };
  }

  /**
   * Walks the shard in bulkStep's bounded steps, each one atomic and re-armed, with a turn of the
   * event loop between them (betweenSteps); moves at most `limit` jobs (a retry's held places, which
   * are given back as its jobs become unfinished). Answers the exact number moved.
   */
  private async bulk(action: BulkAction, filter: JobFilter, limit: number): Promise<number> {
    let held = action === "retry" ? limit : 0;
    this.bulkHeld += held;
    let matched = 0;
    try {
      for (let walk = startWalk(this.db, filter); walk && matched < limit; ) {
        const at: BulkWalk = walk;
        const now = this.clock();
        const step = this.metered(() =>
          bulkStep(this.db, action, filter, at, now, this.timings, limit - matched),
        );
        matched += step.moved;
        const given = Math.min(held, step.moved);
        held -= given;
        this.bulkHeld -= given;
        await this.rearm(step.poolsMoved && pools.poolWaitersExist(this.db, now));
        walk = step.rest;
        if (walk && matched < limit) await this.betweenSteps();
      }
    } finally {
      this.bulkHeld -= held;
    }
    return matched;
  }

  /**
   * A step's rows, billed to the `other` phase at once: a request served between two steps must not
   * take them as its own (meterMethods bills what is left when a method ends).
   */
  private metered<T>(step: () => T): T {
    const { value, rows } = this.sqlMeter.measure(step);
    recordOperations("other", rows);
    return value;
  }

  // --- consumer ---
  async begin(jobId: string, attempt: number): Promise<BeginResult> {
    const [result] = await this.beginMany([{ jobId, attempt }]);
    return result ?? { ok: false, reason: "not_found" };
  }

  /**
   * Begins every attempt of one consumer batch that lives on this shard: one request, one re-arm. Each
   * is fenced on its own (a refused one does not affect the others); results come back in order.
   */
  async beginMany(attempts: AttemptRef[]): Promise<BeginResult[]> {
    const now = this.clock();
    let secrets: string[] | null = null;
    const results = attempts.map(({ jobId, attempt }): BeginResult => {
      const out = begin(this.db, jobId, attempt, now, this.timings);
      if (!out.ok) return out;
      secrets ??= accounts.liveSigningSecrets(this.db, now);
      const j = out.job;
      return {
        ok: true,
        type: j.type,
        payload: j.payload ?? null,
        occurrence: j.occurrence,
        timeoutSeconds: j.timeoutSeconds,
        resultLocation: j.resultLocation,
        signingSecrets: secrets,
        latenessMs: out.latenessMs,
      };
    });
    if (results.some((r) => r.ok)) await this.rearm();
    return results;
  }

  /**
   * The consumer running `attempt` is alive. No re-arm: the deadline only moves later, and an alarm
   * at the old deadline finds nothing due and re-arms itself.
   */
  async heartbeat(jobId: string, attempt: number): Promise<HeartbeatResult> {
    return heartbeat(this.db, jobId, attempt, this.clock(), this.timings);
  }

  async finish(jobId: string, attempt: number, report: AttemptReport): Promise<FinishResult> {
    const now = this.clock();
    const out = finishAttempt(this.db, jobId, attempt, report, now, this.random, this.timings);
    if (!out.ok) return out;
    const view = viewJob(this.db, out.job);
    // Recorded in the same step as the finish; its first message goes out at once, not at an alarm.
    const callback = this.recordCallback(out, () => view, now, true);
    if (callback) await sendCallbacks(this.sender, [callback], now);
    // Released units dispatch the next waiting job at once, not at its next due time.
    await this.rearm(out.released && pools.poolWaitersExist(this.db, now));
    return { ok: true, view };
  }

  // --- figures ---
  async metrics(): Promise<ShardMetrics> {
    return readMetrics(this.db, this.clock());
  }

  // --- callbacks (src/shard/sql/callbacks.ts) ---
  async beginCallbacks(tries: CallbackRef[]): Promise<BeginCallbackResult[]> {
    let secrets: string[] | null = null;
    return tries.map((ref): BeginCallbackResult => {
      const out = callbackToDeliver(this.db, ref);
      if (!out.ok) return out;
      secrets ??= accounts.liveSigningSecrets(this.db, this.clock());
      return { ok: true, url: out.row.url, body: out.row.body, signingSecrets: secrets };
    });
  }

  async finishCallback(ref: CallbackRef, outcome: CallbackTry): Promise<FinishCallbackResult> {
    const out = settleCallback(this.db, ref, outcome, this.clock(), this.random);
    if (!out.ok) return out;
    if (out.verdict.kind === "retry") await this.rearm();
    return { ok: true, verdict: out.verdict.kind };
  }

  /**
   * After a finished attempt: when it finished an occurrence of a job with a callback_url, records the
   * callback (a snapshot of the job now). Its rows are billed to the callback phase, so a job without
   * a callback costs what it did before callbacks existed.
   */
  private recordCallback(
    out: { job: schema.JobRow; finishedOccurrence: number | null },
    view: () => JobView,
    now: number,
    sent: boolean,
  ): (CallbackRef & { userId: string }) | null {
    const url = out.job.callbackUrl;
    if (url === null || out.finishedOccurrence === null) return null;
    const occurrence = out.finishedOccurrence;
    const { value, rows } = this.sqlMeter.measure(() =>
      recordCallback(this.db, url, view(), occurrence, now, sent, this.timings),
    );
    recordOperations("callback", rows);
    return { ...value, userId: out.job.userId };
  }

  // --- the timer ---
  override async alarm(): Promise<void> {
    let more = false;
    this.timer.fired();
    this.alarmPhase = "claim";
    try {
      const now = this.clock();
      const givenUp = this.expireLeases(now);
      const resends = resendLostDispatches(this.db, now, this.timings, this.policy.batchSize);
      const room = this.policy.window - inFlight(this.db);
      const limit = Math.min(this.policy.batchSize, room);
      const {
        claims,
        expired,
        more: due,
      } = claimDue(this.db, now, { limit, agingSeconds: this.policy.agingSeconds }, this.timings);
      // An expired occurrence is a finished one: its callback goes out with this run's callbacks.
      for (const e of expired) this.recordCallback(e, () => viewJob(this.db, e.job), now, false);
      await sendClaims(this.sender, [...resends, ...claims], now);
      const callbacks = this.sqlMeter.measure(() =>
        claimDueCallbacks(this.db, now, this.timings, this.policy.batchSize),
      );
      // Looking and finding nothing is the alarm's own cost; sending callbacks is theirs.
      recordOperations(callbacks.value.length > 0 ? "callback" : "claim", callbacks.rows);
      await sendCallbacks(this.sender, callbacks.value, now);
      more =
        (due && claims.length < room) ||
        resends.length === this.policy.batchSize ||
        callbacks.value.length === this.policy.batchSize;
      const claimedFor = claims[0]?.userId;
      if (claimedFor) await this.noteLoad("dispatched", claims.length, claimedFor, now);
      const indexed = await flushIndexCopies(this.outbound, now);
      submits.pruneIdempotencyKeys(this.db, now, 100);
      pruneMetricMinutes(this.db, now);
      // Last, and bounded: removal never delays a dispatch.
      const removing = await removeExpiredJobs(this.outbound, now);
      const dispatching =
        givenUp + resends.length + claims.length + expired.length + callbacks.value.length > 0;
      // A run that only copied jobs to the index (or only removed jobs) is theirs: for a quiet shard
      // it is the alarm the index copy (or the removal) asked for.
      if (!dispatching && indexed > 0) this.alarmPhase = "index";
      else if (!dispatching && removing > 0) this.alarmPhase = "retention";
    } finally {
      // A throwing alarm is retried only a few times; re-arming here keeps the shard ticking.
      await this.timer.afterAlarm(more);
    }
  }

  /** Gives up the attempts whose lease passed; returns how many it looked at. */
  private expireLeases(now: number): number {
    const expired = expiredLeases(this.db, now, LEASE_BATCH);
    for (const job of expired) {
      const report: AttemptReport = {
        outcome: { ok: false },
        timedOut: true,
        error: expiryError(job, this.timings),
      };
      const out = finishAttempt(this.db, job.id, job.attempt, report, now, this.random, this.timings);
      if (!out.ok) continue;
      // Due at once: the alarm sends it further on in this same run.
      this.recordCallback(out, () => viewJob(this.db, out.job), now, false);
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
    return expired.length;
  }

  /** This shard's dispatch queue: a stable hash of its name over DISPATCH_QUEUES queues. */
  private dispatchQueue(): Queue<unknown> {
    return dispatchQueue(this.env, dispatchQueueOf(this.name, this.dispatchQueues));
  }

  /** What the alarm's writes outside the shard (index copies, removals) work with. */
  private get outbound(): Outbound {
    return {
      db: this.db,
      env: this.env,
      shard: this.name,
      archiveFinished: this.archiveFinished,
      sqlMeter: this.sqlMeter,
    };
  }

  /** `<user id>/<n>` in logs. */
  private get name(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }

  /** Every mutation ends here: the alarm goes to the earliest deadline (src/shard/alarm-timer.ts). */
  private async rearm(immediately = false): Promise<void> {
    await this.timer.rearm(immediately);
  }

  /** What the alarm's queue sends work with. */
  private get sender(): SenderContext {
    return {
      db: this.db,
      sqlMeter: this.sqlMeter,
      timings: this.timings,
      queue: () => this.dispatchQueue(),
      shard: () => this.name,
    };
  }
}

// Every request to a shard is billed: each RPC method and the alarm count one Durable Object request
// and the SQLite rows they touch, under the phase of a job's life they serve. The table is total, so
// a new RPC method does not typecheck until its phase is named.
meterMethods(TaskShard, {
  createAccount: "other",
  authenticate: "api",
  account: "other",
  signingSecrets: "begin",
  addKey: "other",
  listKeys: "other",
  revokeKey: "other",
  rotateSigningSecret: "other",
  setShards: "other",
  setLimits: "other",
  growShards: "other",
  putPool: "other",
  listPools: "other",
  deletePool: "other",
  submit: "submit",
  submitBatch: "submit",
  lookupKeys: "submit",
  get: "other",
  cancel: "other",
  pause: "other",
  resume: "other",
  runNow: "other",
  retry: "other",
  patch: "other",
  bulkCancel: "other",
  bulkRetry: "other",
  begin: "begin",
  beginMany: "begin",
  heartbeat: "heartbeat",
  finish: "finish",
  beginCallbacks: "callback",
  finishCallback: "callback",
  metrics: "other",
  // Dispatch work (claims, resends, given-up leases, callbacks) makes it a claim; otherwise the index
  // copies or the removals it ran.
  alarm: (shard) => shard.alarmPhase,
});
