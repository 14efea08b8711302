// The TaskShard Durable Object: one per user shard, its SQLite the source of truth. A switchboard:
// each RPC method hands off to a query module (src/shard/sql/) with the shard's context, and every
// mutation ends by re-arming the alarm to the earliest deadline in the shard; the alarm's work is
// src/shard/tick.ts, bulk actions src/shard/bulk-runner.ts.

import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import migrations from "../../migrations/shard/migrations.js";
import { configOf } from "../config";
import type { CallbackTry } from "../core/callback-policy";
import type { Coalescer } from "../core/coalescer";
import { type DependencyState, dependencyState } from "../core/dependencies";
import { LoadWindow } from "../core/hot-shard";
import type { JobView, NewJob } from "../core/job";
import type { JobPatch } from "../core/job-patch";
import { jobRuleErrors, rulesOfRow } from "../core/job-rules";
import type { MetricsRange, ShardMetrics } from "../core/metrics";
import type { Env } from "../env";
import { executorChecks } from "../executors/rule-checks";
import { log } from "../log";
import { logOperations, type Phase, recordOperations } from "../metering/operations";
import { SqlMeter } from "../metering/sql-meter";
import { AlarmTimer } from "./alarm-timer";
import { beginAttempts } from "./begin-attempts";
import { BulkRunner } from "./bulk-runner";
import { type ShardContext, shardContext } from "./context";
import { findJob, type ShardDb } from "./db";
import { finishReports } from "./finish-reports";
import type * as R from "./rpc";
import * as schema from "./schema";
import * as accounts from "./sql/accounts";
import { cancel, heartbeat } from "./sql/attempts";
import { callbackToDeliver, settleCallback } from "./sql/callbacks";
import { applyControl, type Control, patchJob } from "./sql/controls";
import * as deps from "./sql/dependencies";
import type { Claim } from "./sql/dispatch";
import { flowKeysInUse, flowKeyView } from "./sql/flow-control";
import { lookupKeys } from "./sql/idempotency-keys";
import { readMetrics } from "./sql/metrics";
import * as pools from "./sql/pools";
import { viewJob } from "./sql/view";
import { type Submitter, submitMany, submitOne, submitSender } from "./submitting";
import { tick } from "./tick";
import { Watchers } from "./watchers";

export class TaskShard extends DurableObject<Env> implements R.TaskShardRpc {
  /** The shard's clock and randomness; tests replace them to move time without sleeping. */
  clock: () => number = Date.now;
  random: () => number = Math.random;
  /** What the latest alarm run did, so its request is billed to that phase (src/shard/billing.ts). */
  alarmPhase: Phase = "claim";
  /** Counts the SQLite rows each request reads and writes (billed by src/shard/billing.ts). */
  readonly sqlMeter: SqlMeter;
  readonly context: ShardContext;
  private readonly db: ShardDb;
  private readonly timer: AlarmTimer;
  readonly bulk: BulkRunner;
  /** WebSockets watching this shard's jobs (src/shard/watchers.ts). */
  private readonly watchers: Watchers;
  /** This shard's submit and dispatch rates over the current window (hot shards grow the user). */
  private load: LoadWindow;
  /** The submits' sends, group-committed (src/shard/submitting.ts). */
  private readonly submitSends: Coalescer<Claim>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configOf(env);
    logOperations(config.LOG_OPERATIONS);
    // Rows are counted only when something reads the counts: the operations log, or the tests.
    this.sqlMeter = new SqlMeter(
      ctx.storage,
      config.LOG_OPERATIONS || config.COUNT_SQL_ROWS || config.CHECK_QUERY_PLANS,
    );
    this.db = drizzle(this.sqlMeter.storageForQueries(), { schema }) as unknown as ShardDb;
    const parts = {
      env: () => this.env,
      name: () => this.name,
      clock: () => this.clock(),
      random: () => this.random(),
      rearm: (immediately?: boolean) => this.rearm(immediately),
      rearmFrom: (earliest: number) => this.rearm(false, earliest),
    };
    this.context = shardContext(parts, this.db, this.sqlMeter, config);
    this.timer = new AlarmTimer(
      ctx.storage,
      this.db,
      this.context.policy,
      () => this.clock(),
      this.context.timings.indexFlushDelayMs,
    );
    this.bulk = new BulkRunner(this.context);
    this.watchers = new Watchers(ctx, this.db);
    this.load = new LoadWindow(config.HOT_SHARD_JOBS_PER_SECOND);
    this.submitSends = submitSender(this.context);
    ctx.blockConcurrencyWhile(async () => {
      await migrate(this.db as never, migrations);
      recordOperations("other", this.sqlMeter.take());
      // After the migrations: a migration may rewrite every row on purpose.
      this.sqlMeter.checkPlans = config.CHECK_QUERY_PLANS;
    });
  }

  /** `<user id>/<n>` in logs. */
  get name(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }

  /**
   * Every mutation ends here: the alarm goes to the earliest deadline (src/shard/alarm-timer.ts); with
   * `floor`, for a change that adds no deadline before it (AlarmTimer.rearmFrom).
   */
  private async rearm(immediately = false, floor?: number): Promise<void> {
    if (floor === undefined) await this.timer.rearm(immediately);
    else await this.timer.rearmFrom(floor);
    // Every change ends here: whoever watches a job that changed hears of it.
    this.watchers.notify();
  }

  /**
   * A job mutation's common end: re-arms (at once when `wake` and a pooled job is waiting for units:
   * waiting pooled jobs do not drive the alarm), then answers the job as the API shows it.
   */
  private async answer(job: schema.JobRow, wake: boolean, now: number): Promise<{ ok: true; view: JobView }> {
    await this.rearm(wake && pools.poolWaitersExist(this.db, now));
    return { ok: true, view: viewJob(this.db, job) };
  }

  // --- account (home shard) ---
  async createAccount(init: R.AccountInit): Promise<void> {
    accounts.createAccount(this.db, init, this.clock());
  }

  async authenticate(keyHash: string): Promise<R.AuthenticateResult> {
    return accounts.authenticate(this.db, keyHash, this.clock());
  }

  async account(): Promise<R.AccountResult> {
    return accounts.findAccount(this.db, this.clock());
  }

  async signingSecrets(): Promise<string[]> {
    return accounts.liveSigningSecrets(this.db, this.clock());
  }

  async addKey(keyHash: string): Promise<R.AddKeyResult> {
    return accounts.addKey(this.db, keyHash, this.clock());
  }

  async listKeys(): Promise<R.KeyView[]> {
    return accounts.listKeys(this.db);
  }

  async revokeKey(keyId: string): Promise<R.RevokeKeyResult> {
    return accounts.revokeKey(this.db, keyId, this.clock());
  }

  async rotateSigningSecret(secret: string, overlapMs: number): Promise<R.RotateSigningSecretResult> {
    return accounts.rotateSigningSecret(this.db, secret, overlapMs, this.clock());
  }

  async setShards(shards: number): Promise<R.SetShardsResult> {
    return accounts.setShards(this.db, shards, this.clock());
  }

  async setLimits(limits: R.AccountLimits): Promise<R.SetLimitsResult> {
    return accounts.setLimits(this.db, limits, this.clock());
  }

  async growShards(): Promise<R.GrowShardsResult> {
    const out = accounts.growShards(this.db, this.context.shardCeiling, this.clock());
    if (out.ok && out.grown) log("shards_grown", { shard: this.name, shards: out.shards });
    return out;
  }

  // --- pools (home shard) ---
  async putPool(name: string, capacity: number): Promise<R.PutPoolResult> {
    const now = this.clock();
    const owner = accounts.findAccount(this.db, now);
    const maxPools = (owner.ok ? owner.principal.maxPools : null) ?? this.context.maxPools;
    const put = pools.putPool(this.db, name, capacity, now, maxPools);
    if (!put.ok) return put;
    // Growing a pool may let waiting jobs go at once; shrinking drains (nothing is preempted).
    await this.rearm(pools.poolWaitersExist(this.db, now));
    const view = pools.listPools(this.db, now).find((p) => p.name === name);
    if (!view) throw new Error(`pool ${name} is missing right after it was written`);
    return { ok: true, pool: view };
  }

  async listPools(): Promise<R.PoolView[]> {
    return pools.listPools(this.db, this.clock());
  }

  async deletePool(name: string): Promise<R.DeletePoolResult> {
    return pools.deletePool(this.db, name, this.clock());
  }

  // --- flow control (home shard) ---
  async flowKey(key: string): Promise<R.FlowKeyView> {
    return flowKeyView(this.db, key, this.clock());
  }

  async flowKeys(): Promise<R.FlowKeyView[]> {
    return flowKeysInUse(this.db, this.clock());
  }

  // --- jobs API ---
  async submit(
    spec: NewJob,
    idempotency?: R.Idempotency,
    maxUnfinished?: number,
    known?: R.KnownDependencies,
  ): Promise<R.SubmitResult> {
    return submitOne(this.submitter, spec, idempotency, maxUnfinished, known);
  }

  async submitBatch(
    batch: R.NewSubmission[],
    maxUnfinished?: number,
    known?: R.KnownDependencies,
  ): Promise<R.SubmitBatchResult> {
    return submitMany(this.submitter, batch, maxUnfinished, known);
  }

  /** The submit RPCs' view of this shard (src/shard/submitting.ts). */
  private get submitter(): Submitter {
    return {
      context: this.context,
      load: this.load,
      cap: (max) => this.bulk.room(max),
      sends: this.submitSends,
    };
  }

  async lookupKeys(keys: R.Idempotency[], shards: number): Promise<R.KeyLookup[]> {
    return lookupKeys(this.db, keys, shards, this.clock());
  }

  async get(jobId: string): Promise<R.GetResult> {
    const job = findJob(this.db, jobId);
    return job ? { ok: true, view: viewJob(this.db, job) } : { ok: false, reason: "not_found" };
  }

  async cancel(jobId: string): Promise<R.CancelResult> {
    const now = this.clock();
    const out = cancel(this.db, jobId, now, this.context.timings);
    if (!out.ok) return out;
    // Units freed, a blocking pooled job gone, or a pooled job that waited on it due: it may now go.
    return this.answer(out.job, out.released || out.job.needsPools || out.pooledDue, now);
  }

  // --- dependencies (src/shard/sql/dependencies.ts) ---
  async dependencyStates(ids: string[]): Promise<(DependencyState | null)[]> {
    return ids.map((id) => {
      const job = findJob(this.db, id);
      return job ? dependencyState(job) : null;
    });
  }

  async subscribeDependents(links: R.DependencyLink[]): Promise<DependencyState[]> {
    return links.map(({ depId, jobId }) => deps.subscribeHere(this.db, depId, jobId));
  }

  async settleDependents(notes: R.DependencyNote[]): Promise<void> {
    const now = this.clock();
    const heard = deps.heardAll(
      notes.map(({ jobId, depId, outcome }) =>
        deps.settleDependency(this.db, jobId, depId, outcome, now, this.context.timings),
      ),
    );
    // Jobs now due (at once for one naming pools: it does not drive the alarm by its deadline), or
    // failed with callbacks and dependents of their own to tell.
    await this.rearm(heard.pooledDue);
  }

  async dependents(jobId: string, limit: number): Promise<R.DependentsResult> {
    if (!findJob(this.db, jobId)) return { ok: false, reason: "not_found" };
    return { ok: true, dependents: deps.dependentsOf(this.db, jobId, limit) };
  }

  // --- job controls ---
  async pause(jobId: string): Promise<R.ControlResult> {
    return this.control("pause", jobId);
  }

  async resume(jobId: string): Promise<R.ControlResult> {
    return this.control("resume", jobId);
  }

  async runNow(jobId: string): Promise<R.ControlResult> {
    return this.control("run", jobId);
  }

  async retry(jobId: string): Promise<R.ControlResult> {
    return this.control("retry", jobId);
  }

  private async control(control: Control, jobId: string): Promise<R.ControlResult> {
    const now = this.clock();
    const out = applyControl(this.db, control, jobId, now, this.context.timings);
    if (!out.ok) return out;
    // Withdrawn units, or a pooled job due now, may let a waiting job go.
    return this.answer(out.job, out.released || out.job.needsPools || out.pooledDue, now);
  }

  async patch(jobId: string, patch: JobPatch): Promise<R.PatchResult> {
    const now = this.clock();
    const checks = executorChecks(this.context.allowPrivateTargets);
    const rules = (row: schema.JobRow) => jobRuleErrors(rulesOfRow(row), now, checks);
    const out = patchJob(this.db, jobId, patch, now, this.context.timings, rules);
    if (!out.ok) return out;
    return this.answer(out.job, out.job.needsPools, now);
  }

  async bulkCancel(filter: R.JobFilter): Promise<R.BulkResult> {
    return { matched: await this.bulk.cancel(filter) };
  }

  async bulkRetry(filter: R.JobFilter, options: R.BulkRetryOptions = {}): Promise<R.BulkRetryResult> {
    return this.bulk.retry(filter, options);
  }

  // --- consumer ---
  async begin(jobId: string, attempt: number): Promise<R.BeginResult> {
    const [result] = await this.beginMany([{ jobId, attempt }]);
    return result ?? { ok: false, reason: "not_found" };
  }

  /** Every attempt of one consumer batch that lives on this shard, begun in one request (begin-attempts.ts). */
  async beginMany(attempts: R.AttemptRef[]): Promise<R.BeginResult[]> {
    return beginAttempts(this.context, attempts);
  }

  async heartbeat(jobId: string, attempt: number): Promise<R.HeartbeatResult> {
    return heartbeat(this.db, jobId, attempt, this.clock(), this.context.timings);
  }

  async finish(jobId: string, attempt: number, report: R.AttemptReport): Promise<R.FinishResult> {
    const [result] = await finishReports(this.context, [{ jobId, attempt, report }]);
    return result ?? { ok: false, reason: "not_found" };
  }

  /** Many reports of attempts on this shard in one request (src/shard/finish-reports.ts). */
  async finishMany(reports: R.FinishReport[]): Promise<R.FinishResult[]> {
    return finishReports(this.context, reports);
  }

  // --- figures ---
  async metrics(range?: MetricsRange): Promise<ShardMetrics> {
    return readMetrics(this.db, this.clock(), range);
  }

  // --- callbacks (src/shard/sql/callbacks.ts) ---
  async beginCallbacks(tries: R.CallbackRef[]): Promise<R.BeginCallbackResult[]> {
    let secrets: string[] | null = null;
    return tries.map((ref): R.BeginCallbackResult => {
      const out = callbackToDeliver(this.db, ref);
      if (!out.ok) return out;
      secrets ??= accounts.liveSigningSecrets(this.db, this.clock());
      const { url, body, traceparent, tracestate } = out.row;
      return { ok: true, url, body, traceparent, tracestate, signingSecrets: secrets };
    });
  }

  async finishCallback(ref: R.CallbackRef, outcome: CallbackTry): Promise<R.FinishCallbackResult> {
    const out = settleCallback(this.db, ref, outcome, this.clock(), this.random);
    if (!out.ok) return out;
    if (out.verdict.kind === "retry") await this.rearm();
    return { ok: true, verdict: out.verdict.kind };
  }

  // --- watching a job (GET /v1/jobs/:id/watch; the API has checked the user and the job) ---
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const jobId = url.searchParams.get("job");
    if (url.pathname !== "/watch" || !jobId || request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return Response.json({ error: { code: "not_found", message: "no such route" } }, { status: 404 });
    return this.watchers.accept(jobId, url.searchParams.get("protocol"));
  }

  /** A watcher says nothing the shard needs: the socket is for the shard to talk. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // 1005/1006 carry no code to echo; anything else is answered as it came.
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  // --- the timer ---
  override async alarm(): Promise<void> {
    let more = false;
    this.timer.fired();
    this.alarmPhase = "claim";
    try {
      let wakeAt: number | null;
      ({ more, phase: this.alarmPhase, wakeAt } = await tick(this.context, this.load));
      this.timer.wakeBy(wakeAt);
    } finally {
      // A throwing alarm is retried only a few times; re-arming here keeps the shard ticking.
      await this.timer.afterAlarm(more);
      this.watchers.notify();
    }
  }
}
