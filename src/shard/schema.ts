// The shard's SQLite schema: the source of truth for one user shard's jobs.
// Times are epoch milliseconds (integers) so deadline arithmetic stays in SQL.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Debounce } from "../core/debounce";
import type { DependencyPolicy } from "../core/dependencies";
import type { FlowControl, StartLog } from "../core/flow-control";
import type { JobPatch } from "../core/job-patch";

/**
 * The partial predicate of jobs_wake, and the term every query that reads jobs_wake includes word for
 * word (SQLite uses a partial index only for a query whose WHERE has its predicate as a term): true
 * for every unfinished job, whatever its `swept`, and for a finished job with its own removal entry.
 */
/** The finished statuses as an SQL list (the text migration 0021's predicate spells). */
export const FINISHED_SQL = "('succeeded', 'failed', 'cancelled')";
export const IN_WAKE = `("swept" is null or "status" not in ${FINISHED_SQL})`;
/** IN_WAKE for drizzle-built queries (a term of their `and(...)`). */
export const inWake = sql.raw(IN_WAKE);

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    name: text("name"),
    type: text("type").notNull(),
    status: text("status", {
      enum: ["scheduled", "queued", "running", "paused", "succeeded", "failed", "cancelled"],
    }).notNull(),
    priority: integer("priority").notNull(),
    payload: text("payload", { mode: "json" }),
    // Next (or current) execution time: the due time, or the retry time while backing off.
    runAt: integer("run_at").notNull(),
    // Nominal time of the current occurrence; recurrence is anchored here, so retries never cause drift.
    occurrenceAt: integer("occurrence_at").notNull(),
    intervalSeconds: integer("interval_seconds"),
    cron: text("cron"),
    timezone: text("timezone"),
    maxRetries: integer("max_retries").notNull(),
    currentRetries: integer("current_retries").notNull().default(0),
    retryDelaySeconds: integer("retry_delay_seconds").notNull(),
    timeoutSeconds: integer("timeout_seconds").notNull(),
    resultLocation: text("result_location"),
    result: text("result", { mode: "json" }),
    lastError: text("last_error"),
    resources: text("resources", { mode: "json" }).$type<Record<string, number>>().notNull(),
    // True when `resources` names a pool: such jobs live on the home shard, which owns the pools.
    needsPools: integer("needs_pools", { mode: "boolean" }).notNull().default(false),
    runs: integer("runs").notNull().default(0),
    lastRunAt: integer("last_run_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    // Fencing token: bumped by every dispatch; reports must carry the current one.
    attempt: integer("attempt").notNull().default(0),
    // Occurrence counter of a recurring job (0 for the first); part of the webhook id.
    occurrence: integer("occurrence").notNull().default(0),
    // Consecutive claims whose message did not begin by the dispatch deadline; backs that deadline off.
    dispatchMisses: integer("dispatch_misses").notNull().default(0),
    // When the alarm must next look at this job (due time, dispatch deadline, lease expiry);
    // null once the job is finished.
    deadline: integer("deadline"),
    // Read-model bookkeeping: the D1 row is current when indexedVersion = version.
    version: integer("version").notNull().default(1),
    indexedVersion: integer("indexed_version").notNull().default(0),
    indexDueAt: integer("index_due_at"),
    // How long the job is kept once finished (its user's retention when it was submitted); a finished
    // job's deadline is when it is removed.
    finishedRetentionSeconds: integer("finished_retention_seconds").notNull().default(604_800),
    // The user's index database (src/index-store/databases.ts), so any shard writes the job's copy there.
    indexDb: integer("index_db").notNull().default(0),
    // Filters and bulk actions match these (docs/design.md `labels`); the D1 copy carries them in its doc.
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    // Where each finished occurrence's job object is POSTed (docs/design.md `callback_url`).
    callbackUrl: text("callback_url"),
    // `transient` stops retrying on a client error (docs/design.md `retry_policy`).
    retryPolicy: text("retry_policy", { enum: ["all", "transient"] })
      .notNull()
      .default("all"),
    // An occurrence not started this long after its due time fails with `expired`.
    expiresAfterSeconds: integer("expires_after_seconds"),
    // Set while an extra occurrence (`run` on a recurring job) is pending or running: when it is
    // over the job returns to its nominal occurrence (occurrence_at) instead of the one after it.
    extraRun: integer("extra_run", { mode: "boolean" }).notNull().default(false),
    // A PATCH that arrived while an attempt was queued or running, in JobRow field names: the attempt
    // keeps what it started with (begin reads this row), and the patch is applied when it ends.
    pendingPatch: text("pending_patch", { mode: "json" }).$type<JobPatch>(),
    // The latest attempt that began, kept in the job row (migration 0013): the `attempts` table holds
    // only the earlier ones, written when begin overwrites these columns with the next attempt. So the
    // attempts of before are these columns (when lastAttemptNumber is set) plus the job's history rows,
    // and a job that runs once writes no attempt row at all. Its start is last_run_at, and its lateness
    // is max(0, last_run_at - lastAttemptScheduledAt), as the attempt row had them (src/shard/sql/attempt-history.ts).
    // None is indexed: begin and finish write them with the job row's own update, at no extra row.
    lastAttemptNumber: integer("last_attempt_number"),
    lastAttemptOccurrence: integer("last_attempt_occurrence"),
    lastAttemptStatus: text("last_attempt_status", {
      enum: ["running", "succeeded", "failed", "timed_out", "cancelled"],
    }),
    lastAttemptScheduledAt: integer("last_attempt_scheduled_at"),
    lastAttemptFinishedAt: integer("last_attempt_finished_at"),
    lastAttemptError: text("last_attempt_error"),
    lastAttemptResources: text("last_attempt_resources", { mode: "json" }).$type<Record<string, number>>(),
    // Set by begin when it leaves the row's indexed columns as the claim wrote them (status queued,
    // deadline the dispatch lease): the begun attempt's liveness deadline, kept here at no extra row
    // until the alarm or a heartbeat moves it into `deadline` (migration 0014; src/shard/sql/begun.ts).
    // Cleared by the claim. A queued row with it set is a running job.
    runDeadline: integer("run_deadline"),
    // Set by a finish that leaves the job to the retention sweep (src/shard/sql/retention-sweep.ts): a
    // finished row with it set is out of jobs_wake (its partial predicate, IN_WAKE), so the finish
    // writes no index entry, and the sweep removes it in rowid order. Meaningless on an unfinished row
    // (IN_WAKE keeps every unfinished row in jobs_wake whatever it says). Migration 0021.
    swept: integer("swept", { mode: "boolean" }),
    // The submit's W3C trace context (src/core/trace-context.ts), sent on every webhook call and
    // callback of the job (migration 0015). Null without one. In no index: written with the job's own
    // insert, at no extra row.
    traceparent: text("traceparent"),
    tracestate: text("tracestate"),
    // Flow control per key (docs/design.md; src/core/flow-control.ts): the job's limits, and its key
    // apart for the claim's and the start log's queries (migration 0017). Such a job lives on the home
    // shard and is gated (needs_pools = 1: its claim is decided, like a pooled one's). In no index:
    // written with the job's own insert, at no extra row.
    flowControl: text("flow_control", { mode: "json" }).$type<FlowControl>(),
    flowKey: text("flow_key"),
    // Debounce (docs/design.md; src/core/debounce.ts, src/shard/sql/debounce.ts): the job's setting,
    // its key apart for the lookup of the key's pending job (jobs_debounce, which holds only debounced
    // jobs), and when its first submit came (max_wait_seconds counts from there).
    debounce: text("debounce", { mode: "json" }).$type<Debounce>(),
    debounceKey: text("debounce_key"),
    debounceFirstAt: integer("debounce_first_at"),
    // A recurring job's overlap and catch-up policies (docs/design.md "Recurring jobs: overlap and
    // catch-up"; src/core/state.ts followingOccurrence, overlapCutoff). In no index: written with the
    // job's own insert, at no extra row; a one-shot job keeps the defaults.
    overlap: text("overlap", { enum: ["skip", "buffer_one", "cancel_other"] })
      .notNull()
      .default("skip"),
    catchUp: text("catch_up", { enum: ["none", "one", "all"] })
      .notNull()
      .default("none"),
    catchUpWindowSeconds: integer("catch_up_window_seconds").notNull().default(3600),
    // Dependencies (docs/design.md "Dependencies"; src/core/dependencies.ts, src/shard/sql/dependencies.ts):
    // the jobs this one waits on (null: none), what a failed one does to it, and the ones that have not
    // succeeded yet (null: none). A job blocked by any is scheduled with no deadline, so neither the
    // claim nor the alarm sees it (jobs_wake holds no due time for it) until the last one succeeds.
    // In no index: written with the job's own insert, at no extra row (migration 0018).
    dependsOn: text("depends_on", { mode: "json" }).$type<string[]>(),
    onDependencyFailure: text("on_dependency_failure", { enum: ["fail", "run"] })
      .$type<DependencyPolicy>()
      .notNull()
      .default("fail"),
    blockedBy: text("blocked_by", { mode: "json" }).$type<string[]>(),
    // Whether the job's result objects are named under its user's own root (`results/<user>/…`,
    // src/core/result-location.ts). Every job written since migration 0020 says so; a row from before
    // it says not (the column's default for existing rows), so retention also removes the objects its
    // earlier attempts wrote under the bare prefix. In no index: written with the job's own insert.
    resultsScoped: integer("results_scoped", { mode: "boolean" }).notNull().default(false),
  },
  // Every index costs a row written whenever a write assigns one of its columns, and Cloudflare bills
  // rows written (docs/cost.md): each index here serves a hot query. The rowid table keeps the
  // public id's autoindex (a WITHOUT ROWID table would save that write, but job rows carry payloads
  // up to 64 KiB, which SQLite stores poorly in a clustered B-tree).
  (t) => [
    // The one index of the dispatch loop: nextWakeAt's MIN per (status, pooled), claimDue's due jobs
    // (a scheduled job's deadline is its due time), expired leases, lost dispatches, counts by status.
    // Partial (IN_WAKE): every unfinished job, and every finished one that keeps its own removal entry;
    // a finished job left to the retention sweep (swept) has none. Each query that reads it names
    // IN_WAKE among its terms, which is what lets SQLite use a partial index.
    index("jobs_wake").on(t.status, t.needsPools, t.deadline).where(sql.raw(IN_WAKE)),
    // Holds only jobs whose D1 copy is pending: set on settled states, cleared once D1 has them.
    index("jobs_index_due").on(t.indexDueAt).where(sql`${t.indexDueAt} is not null`),
    // A debounce key's pending job (src/shard/sql/debounce.ts): only debounced jobs have an entry, so
    // a job without debounce writes none.
    index("jobs_debounce").on(t.debounceKey).where(sql`${t.debounceKey} is not null`),
  ],
);

// The index copy's watermark (migration 0016; src/shard/sql/index-copy.ts): one row, id 0. Every job
// whose rowid is at most `copied_through` has been copied to D1 at least as of the copy that advanced
// it; a job row above it has a copy pending by construction (a new row needs no jobs_index_due entry).
// `retry_at`: after a failed D1 write of rows above it, when the copy is tried again (null otherwise).
// The jobs table is a rowid table without AUTOINCREMENT (which would write sqlite_sequence on every
// insert), so a new row takes max(rowid) + 1: every delete of job rows lowers `copied_through` to the
// new max(rowid), so a new row is always above it (retention.ts).
export const indexWatermark = sqliteTable("index_watermark", {
  id: integer("id").primaryKey(),
  copiedThrough: integer("copied_through").notNull(),
  retryAt: integer("retry_at"),
});

// The retention sweep's cursors (migration 0021; src/shard/sql/retention-sweep.ts): one row per
// retention (seconds) the shard's swept jobs have had. Invariants: no job of that retention at or below
// `through` is swept (a finish sweeps only rows above it; the sweep clears what it passes), and the
// alarm comes for the sweep by `sweep_at` whenever a swept job of it is due (null: none is swept).
export const retentionSweeps = sqliteTable("retention_sweeps", {
  retentionSeconds: integer("retention_seconds").primaryKey(),
  through: integer("through").notNull(),
  sweepAt: integer("sweep_at"),
});

// Flow control's start log per key (src/shard/sql/flow-control.ts): when the key's attempts began, as
// [time, count] pairs, kept back as far as `keep_ms` (the longest period among the jobs that began
// under it). Only keys whose jobs carry a rate have a row; it goes once no start is in any window (an
// idle key holds nothing). Stored WITHOUT ROWID (hand-edited migration 0017): the key is the table, so
// writing a start costs one row.
export const flowKeys = sqliteTable("flow_keys", {
  key: text("key").primaryKey(),
  starts: text("starts", { mode: "json" }).$type<StartLog>().notNull(),
  keepMs: integer("keep_ms").notNull(),
});

// Who waits on a job of this shard (src/shard/sql/dependencies.ts): one row per (dependency, dependent),
// the dependent on any of the user's shards. `waiting` while the dependent has not yet heard of the
// dependency's next finished occurrence; the row stays after (GET /v1/jobs/:id/dependents lists it) and
// goes with the dependency at retention. Stored WITHOUT ROWID (migration 0018): one row written.
export const dependents = sqliteTable(
  "dependents",
  {
    depId: text("dep_id").notNull(),
    jobId: text("job_id").notNull(),
    waiting: integer("waiting", { mode: "boolean" }).notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.depId, t.jobId] })],
);

// The dependencies' outbox (src/shard/sql/dependencies.ts): what another shard of the user must learn,
// kept until it answered, so a lost message delays a dependent and never loses it. `subscribe` (written
// by the dependent's shard): "job_id waits on dep_id", answered with the dependency's state. `settle`
// (written by the dependency's shard): "dep_id finished its occurrence with `outcome`". A repeat is
// harmless on both sides. `deadline`: when the alarm sends it (again: `sends` backs it off).
export const dependencyMessages = sqliteTable(
  "dependency_messages",
  {
    kind: text("kind", { enum: ["subscribe", "settle"] }).notNull(),
    jobId: text("job_id").notNull(),
    depId: text("dep_id").notNull(),
    outcome: text("outcome", { enum: ["succeeded", "failed"] }),
    deadline: integer("deadline").notNull(),
    sends: integer("sends").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.kind, t.jobId, t.depId] }),
    index("dependency_messages_deadline").on(t.deadline),
  ],
);

// The attempts before a job's latest one (the latest is in its row: jobs.last_attempt_*). A row is
// written when begin replaces the job's latest attempt with the next one (a retry, a later occurrence),
// so a job with k attempts has k - 1 rows here, each written once. Stored WITHOUT ROWID (migration
// 0004): the (job_id, number) key is the table, so writing an attempt costs one row, not a row and its
// key's index.
export const attempts = sqliteTable(
  "attempts",
  {
    jobId: text("job_id").notNull(),
    number: integer("number").notNull(),
    occurrence: integer("occurrence").notNull(),
    status: text("status", { enum: ["running", "succeeded", "failed", "timed_out", "cancelled"] }).notNull(),
    scheduledAt: integer("scheduled_at").notNull(),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
    latenessMs: integer("lateness_ms").notNull(),
    error: text("error"),
    // Units this attempt held from dispatch until it ended.
    resources: text("resources", { mode: "json" }).$type<Record<string, number>>().notNull().default({}),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.number] })],
);

// A user's resource pools, kept on the home shard with every job that names one.
export const pools = sqliteTable("pools", {
  name: text("name").primaryKey(),
  capacity: integer("capacity").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

// Units held right now: one row per (attempt, pool), written when the attempt is claimed and
// deleted when it ends. Use is derived from these rows, so a release cannot be counted twice.
export const allocations = sqliteTable(
  "allocations",
  {
    jobId: text("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    pool: text("pool").notNull(),
    units: integer("units").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt, t.pool] }), index("allocations_pool").on(t.pool)],
);

// Pending callbacks (docs/design.md `callback_url`): one row per finished occurrence whose job object has
// not yet been delivered, with the snapshot taken at finish. Deleted once delivered or given up, so
// the table holds only work in flight. Stored WITHOUT ROWID (hand-edited migration): the key is the
// table, so recording one costs the row and its deadline entry.
export const callbacks = sqliteTable(
  "callbacks",
  {
    jobId: text("job_id").notNull(),
    occurrence: integer("occurrence").notNull(),
    url: text("url").notNull(),
    // The job object as GET showed it when the occurrence finished, as JSON text.
    body: text("body").notNull(),
    // Fencing number of the delivery try: bumped by each failed try, carried by messages and reports.
    attempt: integer("attempt").notNull().default(1),
    // Messages sent for the current try; backs the lost-message deadline off like dispatchMisses.
    sends: integer("sends").notNull().default(0),
    // When the alarm must next send a message for this row: the retry time, or the end of the wait
    // for the current try's report (then the message is taken as lost and sent again).
    deadline: integer("deadline").notNull(),
    // The job's trace context when the occurrence finished (jobs.traceparent, jobs.tracestate), sent
    // with each try (migration 0015). Null without one.
    traceparent: text("traceparent"),
    tracestate: text("tracestate"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.occurrence] }), index("callbacks_deadline").on(t.deadline)],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    key: text("key").primaryKey(),
    bodyHash: text("body_hash").notNull(),
    jobId: text("job_id").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  // A removed job takes its keys with it. One more row written, only for submits that send a key.
  (t) => [index("idempotency_keys_job").on(t.jobId)],
);

// The user's account lives on its home shard (shard 0) so that authentication needs no D1.
export const account = sqliteTable("account", {
  userId: text("user_id").primaryKey(),
  name: text("name"),
  shards: integer("shards").notNull(),
  createdAt: integer("created_at").notNull(),
  // Set by an admin; null takes the global default (FINISHED_RETENTION_SECONDS).
  finishedRetentionSeconds: integer("finished_retention_seconds"),
  // The D1 index database assigned at creation; never changes, so databases can be added later.
  indexDb: integer("index_db").notNull().default(0),
  // Per-user limits set by an admin; null takes the global default.
  maxUnfinishedJobs: integer("max_unfinished_jobs"),
  shardCeiling: integer("shard_ceiling"),
  maxPools: integer("max_pools"),
  // When the shard count last grew by itself (hot shards), for the cool-down.
  grownAt: integer("grown_at"),
  // The shard counts this user had before the current one, each with the time until which an
  // Idempotency-Key placed under it may still be live (JSON `[{shards, until}]`; see idempotency.ts).
  formerShards: text("former_shards", { mode: "json" }).$type<FormerShards>().notNull().default([]),
});

/** A shard count the user had, and until when a key placed under it may still be live. */
export type FormerShards = { shards: number; until: number }[];

/**
 * The highest shard count a keyed submit was looked up with on this shard (one row, id 0). A keyed
 * submit placed here by a lower count is refused as stale: its key may already live elsewhere.
 */
export const keyFence = sqliteTable("key_fence", {
  id: integer("id").primaryKey(),
  shards: integer("shards").notNull(),
});

export const apiKeys = sqliteTable("api_keys", {
  keyHash: text("key_hash").primaryKey(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

export const signingSecrets = sqliteTable("signing_secrets", {
  secret: text("secret").primaryKey(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at"),
});

// GET /v1/metrics: one row per minute in which attempts ended or jobs finished, counted in the same
// step as the change it counts (one row written per attempt end). `minute` is the integer primary key
// (the rowid itself), so the upsert touches no index. Rows older than the metrics window are pruned by
// the alarm (src/shard/sql/metrics.ts).
export const metricMinutes = sqliteTable("metric_minutes", {
  // Epoch minute: ms / 60,000.
  minute: integer("minute").primaryKey(),
  ...metricCounts(),
});

/** The counters' columns, shared by metric_minutes, metric_hours and metric_totals. */
function metricCounts() {
  return {
    succeeded: integer("succeeded").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    timedOut: integer("timed_out").notNull().default(0),
    cancelled: integer("cancelled").notNull().default(0),
    expired: integer("expired").notNull().default(0),
    jobsSucceeded: integer("jobs_succeeded").notNull().default(0),
    jobsFailed: integer("jobs_failed").notNull().default(0),
    jobsCancelled: integer("jobs_cancelled").notNull().default(0),
    latenessMaxMs: integer("lateness_max_ms").notNull().default(0),
    latenessSumMs: integer("lateness_sum_ms").notNull().default(0),
    // The lateness histogram (src/core/lateness-histogram.ts), sparse: {"<bucket>": count}.
    lateness: text("lateness", { mode: "json" }).$type<Record<string, number>>().notNull().default({}),
  };
}

// Issue 20: minutes older than the hour the metrics window starts in are rolled by the alarm into
// their hour's row (kept 7 days, for the 24 h and 7 d charts) and into the shard's running totals (one
// row, id 0: everything counted since the shard started, less the minute rows still present), in the
// same synchronous step that deletes them, so a count is always in exactly one place. Same columns as
// metric_minutes; `hour` is the epoch hour (ms / 3,600,000), the rowid.
export const metricHours = sqliteTable("metric_hours", {
  hour: integer("hour").primaryKey(),
  ...metricCounts(),
});

export const metricTotals = sqliteTable("metric_totals", {
  // Always 0: the one row.
  id: integer("id").primaryKey(),
  ...metricCounts(),
});

export type JobRow = typeof jobs.$inferSelect;
export type AttemptRow = typeof attempts.$inferSelect;
export type CallbackRow = typeof callbacks.$inferSelect;
export type DependencyMessageRow = typeof dependencyMessages.$inferSelect;
