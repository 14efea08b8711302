// The TaskShard's RPC contract: every method the API and the consumer call on a shard, with named
// argument and result types. Only plain data crosses it.
//
// One failure convention. A method that can refuse answers `{ ok: true, ... }` or `{ ok: false,
// reason }`, the reason a name (with data about the refusal where the caller needs it); the caller
// decides what a refusal means to it (the API maps each one to an HTTP error with okOrThrow,
// src/api/errors.ts). A method that cannot refuse answers its value. An exception means the shard
// broke or could not be reached, never a refusal: an exception loses its class on the way through RPC.
//
// Adding a method: its argument and result types here, its line in TaskShardRpc, its implementation
// in task-shard.ts and its phase in the metering table there (the compiler holds all three together).
import type { CallbackTry } from "../core/callback-policy";
import type { DependencyOutcome, DependencyState } from "../core/dependencies";
import type { ErrorDetail } from "../core/error-detail";
import type { JobView, NewJob } from "../core/job";
import type { JobPatch } from "../core/job-patch";
import type { MetricsRange, ShardMetrics } from "../core/metrics";
import type { AttemptResult, JobStatus } from "../core/state";
import type { TraceHeaders } from "../core/trace-context";

/** A refusal: a named reason, and what the caller needs to know about it. */
export type Refused<Reason extends string, Data = Record<never, never>> = {
  ok: false;
  reason: Reason;
} & Data;

/** The refusals among a method's results. */
export type RefusalOf<Result> = Extract<Result, { ok: false }>;

// --- what crosses ------------------------------------------------------------------------------------

/** One problem with the input, as the error envelope's `details` shows it. */
export type { ErrorDetail } from "../core/error-detail";

export interface AccountInit {
  userId: string;
  name: string | null;
  keyHash: string;
  signingSecret: string;
  shards: number;
  indexDb: number;
}

/** Who a key belongs to, and how many shards that user's jobs spread over. */
export interface Principal {
  userId: string;
  shards: number;
  /**
   * Every shard count an Idempotency-Key still live may have been placed by: the counts of the last
   * 24 h, ascending, the current one last (src/api/idempotency.ts).
   */
  keyShards: number[];
  /** Set by an admin for this user; null: the global FINISHED_RETENTION_SECONDS. */
  finishedRetentionSeconds: number | null;
  /** The D1 index database the user was assigned at creation. */
  indexDb: number;
  /** Set by an admin for this user; null: the global MAX_UNFINISHED_JOBS (per shard). */
  maxUnfinishedJobs: number | null;
  /** Set by an admin for this user; null: the global SHARD_CEILING. */
  shardCeiling: number | null;
  /** Set by an admin for this user; null: the global MAX_POOLS. */
  maxPools: number | null;
}

/** What an admin can set per user (PATCH /v1/admin/users/:id); null restores the global default. */
export interface AccountLimits {
  finishedRetentionSeconds?: number | null;
  maxUnfinishedJobs?: number | null;
  shardCeiling?: number | null;
  maxPools?: number | null;
}

export interface KeyView {
  key_id: string;
  created_at: string;
  revoked_at: string | null;
}

export interface PoolView {
  name: string;
  capacity: number;
  in_use: number;
  waiting: number;
}

/** GET /v1/flow-control/:key (docs/design.md "Flow control per key"). */
export interface FlowKeyView {
  key: string;
  /** Attempts of the key claimed or running now (its slots in use). */
  running: number;
  /** Due jobs of the key not yet claimed (held back by the key, or about to go). */
  waiting: number;
  /** Attempts of the key that began within its period (the longest among its jobs). */
  started_last_period: number;
}

/** A submit's Idempotency-Key and its body, both hashed. */
export interface Idempotency {
  key: string;
  bodyHash: string;
  /** The user's shard count the submit was placed by (its caller's view; src/api/idempotency.ts). */
  shards: number;
}

/** What a shard holds for a key: nothing, the job it names (same body), or a conflict (another body). */
export type KeyLookup = SubmitItemResult | null;

/** One job of a batch submit, and the Idempotency-Key it was sent with, if any. */
export interface NewSubmission {
  spec: NewJob;
  idempotency?: Idempotency;
}

/** What the consumer says about an attempt it ran. */
export interface AttemptReport {
  outcome: AttemptResult;
  /** Stored as the job's result on success. */
  result?: unknown;
  error?: string;
  timedOut?: boolean;
}

/**
 * What the consumer needs to run an attempt, read from the shard when it begins; its trace context
 * (TraceHeaders) is the job's, sent with the attempt's webhook call.
 */
export interface BegunAttempt extends TraceHeaders {
  type: string;
  payload: unknown;
  occurrence: number;
  timeoutSeconds: number;
  resultLocation: string | null;
  /** Empty when the job's shard is not the user's home shard: ask the home shard. */
  signingSecrets: string[];
  latenessMs: number;
  /**
   * When the job's next occurrence replaces this attempt (overlap `cancel_other`: the shard's alarm
   * cancels it then), epoch ms; null for any other job. The consumer stops the attempt at that time
   * and reports nothing: the shard records the cancel.
   */
  cutoffAt: number | null;
}

/** Which jobs a bulk cancel or retry names; every field given must match (at least one is). */
export interface JobFilter {
  ids?: string[];
  status?: JobStatus;
  type?: string;
  /** A prefix of the job's name. */
  name?: string;
  labels?: Record<string, string>;
  /** Epoch ms: jobs created strictly before. */
  createdBefore?: number;
}

/** A job version the D1 index now holds. */
export interface IndexedVersion {
  id: string;
  version: number;
}

// --- results -----------------------------------------------------------------------------------------

/** Why a begin or a finish is refused: the report is not for the job's current attempt in its state. */
export type AttemptRefusal = "not_found" | "stale" | "duplicate" | "finished" | "cancelled";

export type AuthenticateResult = { ok: true; principal: Principal } | Refused<"unknown_key">;
export type AccountResult = { ok: true; principal: Principal } | Refused<"not_found">;
export type AddKeyResult = { ok: true } | Refused<"not_found">;
export type RevokeKeyResult = { ok: true; key: KeyView } | Refused<"not_found">;
export type RotateSigningSecretResult = { ok: true } | Refused<"not_found">;
export type SetShardsResult =
  | { ok: true; principal: Principal }
  | Refused<"not_found">
  /** Shard counts only grow: every shard that ever held jobs stays addressable. */
  | Refused<"cannot_shrink", { shards: number }>;
export type SetLimitsResult = { ok: true; principal: Principal } | Refused<"not_found">;
/** A hot shard's report: the user's shard count now, and whether this report grew it. */
export type GrowShardsResult = { ok: true; shards: number; grown: boolean } | Refused<"not_found">;

export type SubmitResult =
  /** `replaced`: a debounced submit took the place of its key's pending job (200, the same id). */
  | { ok: true; replayed: boolean; replaced?: true; view: JobView }
  /** The Idempotency-Key was used with another body. */
  | Refused<"idempotency_conflict">
  /** The shard holds MAX_UNFINISHED_JOBS unfinished jobs. */
  | Refused<"too_many_unfinished">
  /** A pool the job names does not exist or is smaller than the units asked for. */
  | Refused<"invalid_resources", { details: ErrorDetail[] }>
  /**
   * A keyed submit placed by a shard count older than one this shard was shown since: its key may
   * already live on another shard, so the caller must look again with the current count.
   */
  | Refused<"stale_shards">
  /** A batch item naming an earlier item ("@N") that was not created (refused): neither is this one. */
  | Refused<"dependency_not_created">;

/** An item of a batch as a single submit would have answered it; pools are checked for the batch. */
export type SubmitItemResult = Exclude<SubmitResult, { reason: "invalid_resources" }>;

export type SubmitBatchResult =
  | { ok: true; results: SubmitItemResult[] }
  /** Items, by index, naming a pool that does not exist or is too small; nothing was written. */
  | Refused<"invalid_resources", { items: { index: number; details: ErrorDetail[] }[] }>;

export type GetResult = { ok: true; view: JobView } | Refused<"not_found">;

/** A job (on any of the user's shards) that waits on a job of the shard it is sent to. */
export interface DependencyLink {
  jobId: string;
  depId: string;
}
/** depId finished an occurrence with `outcome`; jobId, on the shard it is sent to, waited on it. */
export interface DependencyNote extends DependencyLink {
  outcome: DependencyOutcome;
}
/** Outcomes of other shards' dependencies the API read before a submit (those need no subscription). */
export type KnownDependencies = Record<string, DependencyOutcome>;
/** GET /v1/jobs/:id/dependents: the jobs that named it in depends_on. */
export type DependentsResult = { ok: true; dependents: string[] } | Refused<"not_found">;
export type CancelResult = { ok: true; view: JobView } | Refused<"not_found" | "finished">;
/**
 * pause, resume, run and retry. `busy`: run on a queued or running job; `paused`: run on a paused
 * job; `blocked`: run on a job still waiting on its dependencies; `not_retryable`: retry on anything
 * but a failed or cancelled one-shot job.
 */
export type ControlResult =
  | { ok: true; view: JobView }
  | Refused<"not_found" | "finished" | "busy" | "paused" | "blocked" | "not_retryable">
  /** retry: a pool the job names is gone or now smaller than its units. */
  | Refused<"invalid_resources", { details: ErrorDetail[] }>;
export type PatchResult =
  | { ok: true; view: JobView }
  | Refused<"not_found" | "finished">
  /** The job with the patch applied breaks a submit rule, or names pools that cannot hold it. */
  | Refused<"invalid", { details: ErrorDetail[] }>;
/** How many jobs a bulk cancel moved on this shard. */
export interface BulkResult {
  matched: number;
}

/** A bulk retry's settings: the user's own unfinished-jobs cap, and whether only to check it. */
export interface BulkRetryOptions {
  /** The user's cap, when an admin set one (else MAX_UNFINISHED_JOBS). */
  maxUnfinished?: number;
  /** Count and check against the cap, move nothing: `matched` is what the retry would match now. */
  dryRun?: boolean;
}

export type BulkRetryResult =
  | { ok: true; matched: number }
  /**
   * Retrying the `matching` jobs would take this shard past its cap: `unfinished` are unfinished
   * now (with the places other bulk retries in progress hold). Nothing was moved.
   */
  | Refused<"too_many_unfinished", { matching: number; unfinished: number; cap: number }>;

/** One attempt, as a dispatch message names it. */
export interface AttemptRef {
  jobId: string;
  attempt: number;
}

/** One attempt's report, as finishMany takes it. */
export interface FinishReport extends AttemptRef {
  report: AttemptReport;
}

export type BeginResult = ({ ok: true } & BegunAttempt) | Refused<AttemptRefusal>;
export type FinishResult = { ok: true; view: JobView } | Refused<AttemptRefusal>;
/** A refused heartbeat tells the consumer the shard no longer waits for this attempt. */
export type HeartbeatResult = { ok: true } | Refused<AttemptRefusal>;

/** One try of one occurrence's callback, as a callback message names it. */
export interface CallbackRef {
  jobId: string;
  occurrence: number;
  /** The try number, the callback's fencing token. */
  attempt: number;
}

/** What the consumer POSTs for a callback try, and the job's trace context to send with it. */
export interface CallbackDelivery extends TraceHeaders {
  url: string;
  /** The job object at the occurrence's finish, as JSON text: POSTed as it is. */
  body: string;
  /** Empty when the job's shard is not the user's home shard: ask the home shard. */
  signingSecrets: string[];
}

/** Why a callback try or its report is refused: the row is gone, or has moved on to a later try. */
export type CallbackRefusal = "not_found" | "stale";
export type BeginCallbackResult = ({ ok: true } & CallbackDelivery) | Refused<CallbackRefusal>;
export type FinishCallbackResult =
  | { ok: true; verdict: "delivered" | "retry" | "abandoned" }
  | Refused<CallbackRefusal>;

/** A new pool past the user's cap on pools (an existing one is always resized). */
export type PutPoolResult = { ok: true; pool: PoolView } | Refused<"too_many_pools", { limit: number }>;

export type DeletePoolResult =
  | { ok: true; pool: PoolView }
  | Refused<"not_found">
  /** Unfinished jobs (scheduled, queued, running or paused) name the pool. */
  | Refused<"in_use", { jobs: number }>;

// --- the contract ------------------------------------------------------------------------------------

export interface TaskShardRpc {
  // The account, on the user's home shard.
  createAccount(init: AccountInit): Promise<void>;
  authenticate(keyHash: string): Promise<AuthenticateResult>;
  /** The account as it stands (shard count, limits), for the admin's user listing. */
  account(): Promise<AccountResult>;
  /** The live signing secrets, newest first; empty on a shard that is not home. */
  signingSecrets(): Promise<string[]>;
  addKey(keyHash: string): Promise<AddKeyResult>;
  listKeys(): Promise<KeyView[]>;
  revokeKey(keyId: string): Promise<RevokeKeyResult>;
  rotateSigningSecret(secret: string, overlapMs: number): Promise<RotateSigningSecretResult>;
  setShards(shards: number): Promise<SetShardsResult>;
  setLimits(limits: AccountLimits): Promise<SetLimitsResult>;
  /** A shard of this user runs hot: grow the shard count (doubling, to the ceiling, after a cool-down). */
  growShards(): Promise<GrowShardsResult>;

  // Resource pools, on the user's home shard.
  /** Creates or resizes a pool; a new one past the user's cap is refused (src/shard/sql/pools.ts). */
  putPool(name: string, capacity: number): Promise<PutPoolResult>;
  listPools(): Promise<PoolView[]>;
  /** Removes a pool that no unfinished job names (src/shard/sql/pools.ts). */
  deletePool(name: string): Promise<DeletePoolResult>;

  // Flow-control keys, on the user's home shard (every job with a key lives there).
  flowKey(key: string): Promise<FlowKeyView>;
  /** GET /v1/flow-control: the keys in use, busiest first, at most 100. */
  flowKeys(): Promise<FlowKeyView[]>;

  /**
   * Not RPC: the WebSocket upgrade of a watch (`/watch?job=<id>&protocol=<subprotocol to select>`),
   * answered 101 with the socket, or 404 / 429 (src/shard/watchers.ts).
   */
  fetch(request: Request): Promise<Response>;

  // Jobs, for the API.
  /** `maxUnfinished`: the user's own cap, when an admin set one (else MAX_UNFINISHED_JOBS). */
  submit(
    spec: NewJob,
    idempotency?: Idempotency,
    maxUnfinished?: number,
    known?: KnownDependencies,
  ): Promise<SubmitResult>;
  /**
   * Many submits in one transaction and one re-arm, answered in order; a pool refusal writes nothing.
   * An item's depends_on may name an earlier item of the same request as "@k" (its index here).
   */
  submitBatch(
    batch: NewSubmission[],
    maxUnfinished?: number,
    known?: KnownDependencies,
  ): Promise<SubmitBatchResult>;
  /**
   * What this shard holds for each Idempotency-Key (in order). Fences the shard at `shards`: a keyed
   * submit placed here by a lower count is refused from now on as `stale_shards`.
   */
  lookupKeys(keys: Idempotency[], shards: number): Promise<KeyLookup[]>;
  get(jobId: string): Promise<GetResult>;
  cancel(jobId: string): Promise<CancelResult>;

  // Dependencies (src/shard/sql/dependencies.ts).
  /** What each job here is to a job that would depend on it now, in order; null: no such job here. */
  dependencyStates(ids: string[]): Promise<(DependencyState | null)[]>;
  /** Jobs of other shards start waiting on jobs of this one: each one's state now, in order. */
  subscribeDependents(links: DependencyLink[]): Promise<DependencyState[]>;
  /** Jobs of other shards finished an occurrence: the jobs here waiting on them hear it. */
  settleDependents(notes: DependencyNote[]): Promise<void>;
  /** The jobs that named this one in depends_on (at most `limit`). */
  dependents(jobId: string, limit: number): Promise<DependentsResult>;
  pause(jobId: string): Promise<ControlResult>;
  resume(jobId: string): Promise<ControlResult>;
  /** POST /v1/jobs/:id/run. */
  runNow(jobId: string): Promise<ControlResult>;
  retry(jobId: string): Promise<ControlResult>;
  patch(jobId: string, patch: JobPatch): Promise<PatchResult>;
  /**
   * Cancels every matching job on this shard, in bounded steps that let the shard's other requests
   * in between (src/shard/sql/bulk.ts); answers once all are done, with the exact count.
   */
  bulkCancel(filter: JobFilter): Promise<BulkResult>;
  /** Retries every matching job the same way, refused when they would not fit under the cap. */
  bulkRetry(filter: JobFilter, options?: BulkRetryOptions): Promise<BulkRetryResult>;

  // Attempts, for the consumer.
  begin(jobId: string, attempt: number): Promise<BeginResult>;
  /** begin for every attempt of one consumer batch on this shard, in one request; results in order. */
  beginMany(attempts: AttemptRef[]): Promise<BeginResult[]>;
  /** The consumer running `attempt` is alive: its deadline moves on (src/shard/sql/attempts.ts). */
  heartbeat(jobId: string, attempt: number): Promise<HeartbeatResult>;
  finish(jobId: string, attempt: number, report: AttemptReport): Promise<FinishResult>;
  /**
   * finish for many reports in one request (the consumer's group commit, src/consumer/report-batcher.ts):
   * each fenced on its own exactly as finish is (a refused one does not affect the others), results in
   * order; one metrics-minute row, one send of the callbacks they finished, one re-arm.
   */
  finishMany(reports: FinishReport[]): Promise<FinishResult[]>;

  // Callbacks, for the consumer (src/shard/sql/callbacks.ts).
  /** What to POST for each callback try of one consumer batch on this shard; results in order. */
  beginCallbacks(tries: CallbackRef[]): Promise<BeginCallbackResult[]>;
  /** How a callback try ended: the shard clears the callback or schedules its next try. */
  finishCallback(ref: CallbackRef, outcome: CallbackTry): Promise<FinishCallbackResult>;

  // Figures, for GET /v1/metrics.
  /**
   * This shard's counts now, its minute rows, its running totals, and for a 24h or 7d range the hour
   * rows of that range (pools: home shard only).
   */
  metrics(range?: MetricsRange): Promise<ShardMetrics>;
}
