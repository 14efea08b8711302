// Writing the jobs a submit decided to create: one INSERT for many jobs, not one per job.
//
// dispatching(specs, now, d?) → {ids, lease} | undefined
//   which of a submit's new jobs it dispatches itself (src/core/dispatch-at-submit.ts) and their lease;
//   asks `d.room()` (claim.ts claimRoomNow: its reads) only when one of them could go. Writes nothing.
// createJobs(db, submissions, now, dispatching?) → JobRow[], one per submission, in order
//   writes one jobs row per submission (scheduled, due at its run_at; or, dispatched at submit, queued
//   under attempt 1 with its dispatch lease: the same one row) and, for a keyed one, its
//   idempotency_keys row. Rows written: 3 per job (row, id key, jobs_wake: its index copy is pending by
//   the watermark, a new row being above it, so no jobs_index_due entry: index-copy.ts); with a key
//   +3 (row, key, idempotency_keys_job), or +2 when it replaces an expired key not yet pruned. Rows
//   read: 1 per job and 1 per key (json_each's element). The caller has decided each job is to be
//   created (keys looked up, cap and pools checked) in the same synchronous step.
//
// The jobs travel as one JSON parameter read by json_each (Durable Object SQLite binds at most 100
// parameters a statement, and a job has 30), in chunks that keep that parameter under SQLite's 2 MB
// string limit. The statements' text is fixed at load: drizzle builds nothing per call. Nothing is read
// back (a multi-row RETURNING reads each row three times): each row is known from what was written
// and the schema's defaults, which test/integration/create-jobs.test.ts holds equal to the stored row.
import { getTableColumns, is, SQL } from "drizzle-orm";
import { dueDeadline } from "../../core/dependencies";
import { dispatchAtSubmit } from "../../core/dispatch-at-submit";
import { isGated } from "../../core/flow-control";
import type { NewJob } from "../../core/job";
import type { ShardDb } from "../db";
import type { Idempotency, NewSubmission } from "../rpc";
import { type JobRow, jobs } from "../schema";
import { storageOf } from "./storage";

/** How long an Idempotency-Key names its job. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** The fields a new job's insert names; every other column takes its default. */
const NAMED = [
  "id",
  "userId",
  "name",
  "type",
  "priority",
  "payload",
  "runAt",
  "intervalSeconds",
  "cron",
  "timezone",
  "maxRetries",
  "retryDelaySeconds",
  "timeoutSeconds",
  "resultLocation",
  "resources",
  "finishedRetentionSeconds",
  "indexDb",
  "labels",
  "callbackUrl",
  "retryPolicy",
  "expiresAfterSeconds",
  "overlap",
  "catchUp",
  "catchUpWindowSeconds",
  "traceparent",
  "tracestate",
  "flowControl",
  "flowKey",
  "debounce",
  "debounceKey",
  "debounceFirstAt",
  "dependsOn",
  "onDependencyFailure",
  "blockedBy",
  "needsPools",
  "status",
  "attempt",
  "occurrenceAt",
  "deadline",
  "createdAt",
  "updatedAt",
  "indexDueAt",
  "resultsScoped",
] as const satisfies readonly (keyof JobRow)[];

/** Every field of a submitted job is written: the compiler refuses a NewJob field missing above. */
type Unnamed = Exclude<keyof NewJob, (typeof NAMED)[number]>;
const everyFieldNamed: [Unnamed] extends [never] ? true : Unnamed = true;
void everyFieldNamed;

const COLUMNS = getTableColumns(jobs);
const NAMED_COLUMNS = NAMED.map((field) => COLUMNS[field]);

/**
 * What each column NAMED leaves out holds in a new row: its default, which the schema declares (and
 * the migrations were generated from), or null. A default SQLite would compute cannot be known here:
 * none may exist (this throws when the module loads).
 */
const UNNAMED_VALUES = Object.entries(COLUMNS).flatMap(([field, column]) => {
  if ((NAMED as readonly string[]).includes(field)) return [];
  if (is(column.default, SQL))
    throw new Error(`jobs.${column.name}: a computed default cannot be known without reading the row`);
  if (column.defaultFn) throw new Error(`jobs.${column.name}: a default function is not expected`);
  if (!column.hasDefault && column.notNull) throw new Error(`jobs.${column.name} needs a value`);
  return [[field, column.hasDefault ? column.default : null] as const];
});

/** Each element of the parameter is one job's values, in NAMED's order, as the columns store them. */
const INSERT_JOBS = `insert into jobs (${NAMED_COLUMNS.map((c) => `"${c.name}"`).join(", ")})
  select ${NAMED_COLUMNS.map((_, i) => `value ->> ${i}`).join(", ")} from json_each(?)`;
/** One job's values bound as they are: for one job, no JSON to write and parse. */
const INSERT_JOB = `insert into jobs (${NAMED_COLUMNS.map((c) => `"${c.name}"`).join(", ")})
  values (${NAMED_COLUMNS.map(() => "?").join(", ")})`;

const UPSERT_KEY = `on conflict (key) do update set
  body_hash = excluded.body_hash, job_id = excluded.job_id, expires_at = excluded.expires_at`;
/** Each element is [key, body_hash, job_id, expires_at]. `where true` lets SQLite parse the upsert. */
const INSERT_KEYS = `insert into idempotency_keys (key, body_hash, job_id, expires_at)
  select value ->> 0, value ->> 1, value ->> 2, value ->> 3 from json_each(?) where true ${UPSERT_KEY}`;
const INSERT_KEY = `insert into idempotency_keys (key, body_hash, job_id, expires_at)
  values (?, ?, ?, ?) ${UPSERT_KEY}`;

/**
 * Most UTF-16 code units of one statement's parameter: at most 3 bytes each in UTF-8, so it stays
 * under the 2 MB a Durable Object's SQLite takes for one string. One job's values (a payload of at
 * most 64 KiB, escaped) always fit.
 */
const CHUNK_CHARS = 600_000;

/**
 * A new job: the values its insert writes, in NAMED's order, each as its column stores it (JSON text,
 * 0/1), and its row as drizzle would read those back (each value through its column's decoder, so a
 * payload is exactly what a later read of the row gives), with the other columns' defaults.
 */
function newJob(spec: NewJob, now: number, lease: number | null): { values: unknown[]; row: JobRow } {
  const fields = {
    ...spec,
    needsPools: isGated(spec),
    flowKey: spec.flowControl?.key ?? null,
    debounceKey: spec.debounce?.key ?? null,
    // A debounced job's first submit: max_wait_seconds counts from here (src/core/debounce.ts).
    debounceFirstAt: spec.debounce ? now : null,
    // Dispatched at submit (src/core/dispatch-at-submit.ts): written as the claim would leave it,
    // queued under attempt 1 with its dispatch lease as deadline, not begun (run_deadline null).
    status: lease === null ? "scheduled" : "queued",
    attempt: lease === null ? 0 : 1,
    occurrenceAt: spec.runAt,
    // Blocked by a dependency: no due time until the last one succeeds (src/core/dependencies.ts).
    deadline: lease ?? dueDeadline(spec, spec.runAt),
    createdAt: now,
    updatedAt: now,
    // No per-row pending copy: a new row is above the index watermark, copied from there (index-copy.ts).
    indexDueAt: null,
    // Its result objects go under its user's root (src/core/result-location.ts); only rows written
    // before migration 0020 say otherwise.
    resultsScoped: true,
  } satisfies Pick<JobRow, (typeof NAMED)[number]>;
  const row: Record<string, unknown> = {};
  for (const [field, value] of UNNAMED_VALUES)
    row[field] = typeof value === "object" && value !== null ? structuredClone(value) : value;
  const values = NAMED.map((field, i) => {
    const value = fields[field];
    const column = NAMED_COLUMNS[i] as (typeof NAMED_COLUMNS)[number];
    const stored = value === null || value === undefined ? null : column.mapToDriverValue(value as never);
    row[field] = stored === null ? null : column.mapFromDriverValue(stored as never);
    return stored;
  });
  return { values, row: row as JobRow };
}

/**
 * Runs `one` with a lone item's values, or `many` once per chunk of the items' values as one JSON
 * array, none over CHUNK_CHARS (a lone item always fits).
 */
function write(items: unknown[][], one: (values: unknown[]) => void, many: (json: string) => void): void {
  const [first] = items;
  if (items.length === 1 && first) {
    one(first);
    return;
  }
  let chunk: string[] = [];
  let chars = 2;
  for (const item of items) {
    const json = JSON.stringify(item);
    if (chunk.length > 0 && chars + json.length + 1 > CHUNK_CHARS) {
      many(`[${chunk.join(",")}]`);
      chunk = [];
      chars = 2;
    }
    chunk.push(json);
    chars += json.length + 1;
  }
  if (chunk.length > 0) many(`[${chunk.join(",")}]`);
}

/** Jobs a submit sends at once (src/core/dispatch-at-submit.ts): their ids, and their dispatch lease. */
export interface Dispatching {
  ids: ReadonlySet<string>;
  lease: number;
}

/** What a submit needs to send its due jobs itself (src/core/dispatch-at-submit.ts). */
export interface SubmitDispatch {
  agingSeconds: number;
  /** A first claim's dispatch lease (DISPATCH_DEADLINE_SECONDS). */
  leaseMs: number;
  /** The claim's room at this instant (claim.ts claimRoomNow), asked only when a new job could go. */
  room: () => number;
}

/** The new jobs to write queued and send with the submit, if any (none without `d`). */
export function dispatching(
  specs: readonly NewJob[],
  now: number,
  d: SubmitDispatch | undefined,
): Dispatching | undefined {
  if (!d) return undefined;
  const ids = dispatchAtSubmit(specs, now, d.agingSeconds, d.room);
  return ids.length > 0 ? { ids: new Set(ids), lease: now + d.leaseMs } : undefined;
}

/**
 * createJobs: inserts the submissions' jobs and their keys' records. Invariant: each job is written
 * exactly as insertJob always wrote it (every field of its spec, scheduled, due and deadline at its
 * run_at, its index copy pending by the watermark: index-copy.ts), and each key names its job for 24 h;
 * a job in `dispatching` is written as the claim leaves a job (queued, attempt 1, deadline its lease),
 * in the same row written, so dispatching it at submit writes no row more.
 */
export function createJobs(
  db: ShardDb,
  submissions: readonly NewSubmission[],
  now: number,
  dispatching?: Dispatching,
): JobRow[] {
  const { sql } = storageOf(db);
  const created = submissions.map(({ spec }) =>
    newJob(spec, now, dispatching?.ids.has(spec.id) ? dispatching.lease : null),
  );
  write(
    created.map(({ values }) => values),
    (values) => sql.exec(INSERT_JOB, ...values),
    (json) => sql.exec(INSERT_JOBS, json),
  );
  recordKeys(
    db,
    submissions.flatMap(({ spec, idempotency: idem }) => (idem ? [{ idem, jobId: spec.id }] : [])),
    now,
  );
  return created.map(({ row }) => row);
}

/**
 * recordKeys: each Idempotency-Key names its job for 24 h (a created job's, or the pending job a
 * debounced submit replaced: src/shard/sql/debounce.ts). Rows written: 3 a key (row, key, job index).
 */
export function recordKeys(
  db: ShardDb,
  keys: readonly { idem: Idempotency; jobId: string }[],
  now: number,
): void {
  const { sql } = storageOf(db);
  const expiresAt = now + IDEMPOTENCY_TTL_MS;
  write(
    keys.map(({ idem, jobId }) => [idem.key, idem.bodyHash, jobId, expiresAt]),
    (values) => sql.exec(INSERT_KEY, ...values),
    (json) => sql.exec(INSERT_KEYS, json),
  );
}
