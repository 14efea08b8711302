// Shared test plumbing: the Worker's env, requests through the Hono app, and shard access.
import { runInDurableObject } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { app } from "../../src/api/app";
import { forgetVerifiedKeys } from "../../src/api/auth";
import { claimableAlone } from "../../src/core/dispatch-at-submit";
import { shardName } from "../../src/core/ids";
import { indexCopyDue } from "../../src/core/index-copy-time";
import type { JobView } from "../../src/core/job";
import type { Env } from "../../src/env";
import { BEGUN_TEXT, EFFECTIVE_STATUS_TEXT, NOT_BEGUN_TEXT } from "../../src/shard/sql/begun";
import type { TaskShard } from "../../src/shard/task-shard";

/** The Worker's env, its shards typed as the class, so tests reach past the RPC contract into it. */
export const env = workerEnv as unknown as Omit<Env, "TASK_SHARD"> & {
  TASK_SHARD: DurableObjectNamespace<TaskShard>;
};
export const ADMIN = { authorization: "Bearer test-admin-token" };

/** PATCH /v1/admin/users/:id as the admin: an operator's change to one user's settings. */
export function adminPatchUser(user: { user_id: string }, json: unknown) {
  return request(`/v1/admin/users/${user.user_id}`, { method: "PATCH", headers: ADMIN, json });
}

/** A D1 binding that is down: every query throws. */
export const failingD1 = {
  prepare: () => {
    throw new Error("D1 is down");
  },
  batch: async () => {
    throw new Error("D1 is down");
  },
} as unknown as D1Database;

export function request(path: string, init: RequestInit & { json?: unknown } = {}, bindings: Env = env) {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  return app.request(
    path,
    { ...rest, headers, body: json === undefined ? rest.body : JSON.stringify(json) },
    bindings,
  );
}

export interface TestUser {
  user_id: string;
  api_key: string;
  signing_secret: string;
  auth: { authorization: string };
}

export async function createUser(name = "test"): Promise<TestUser> {
  const res = await request("/v1/admin/users", { method: "POST", headers: ADMIN, json: { name } });
  if (res.status !== 201) throw new Error(`createUser: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as Omit<TestUser, "auth">;
  return { ...body, auth: { authorization: `Bearer ${body.api_key}` } };
}

/** Grows the user's shards (the admin's PATCH) and forgets cached keys, so the next request sees it. */
export async function growShards(user: TestUser, shards: number): Promise<void> {
  const res = await request(`/v1/admin/users/${user.user_id}`, {
    method: "PATCH",
    headers: ADMIN,
    json: { shards },
  });
  if (res.status !== 200) throw new Error(`growShards: ${res.status} ${await res.text()}`);
  forgetVerifiedKeys();
}

export async function submit(
  user: TestUser,
  job: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const res = await request("/v1/jobs", { method: "POST", headers: { ...user.auth, ...headers }, json: job });
  return { status: res.status, body: (await res.json()) as JobView & { error?: { code: string } } };
}

/** POST /v1/jobs/batch: the status and each item's answer. */
export async function submitBatch(user: TestUser, jobs: Record<string, unknown>[]) {
  const res = await request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: { jobs } });
  return { status: res.status, body: (await res.json()) as { results: { status: number; job: JobView }[] } };
}

/**
 * The status a job answers its submit with on a shard where nothing else is due: queued when it went
 * out with the submit (due at once, and decided by nothing but the claim: src/core/dispatch-at-submit.ts),
 * else scheduled. Judged at the job's own created_at, the instant the shard decided.
 */
export function statusAtSubmit(job: JobView): "queued" | "scheduled" {
  const fresh = {
    id: job.id,
    priority: job.priority,
    runAt: Date.parse(job.run_at),
    resources: job.resources,
    flowControl: job.flow_control,
    debounce: job.debounce,
    dependsOn: job.depends_on.length > 0 ? job.depends_on : null,
    blockedBy: null,
    overlap: job.overlap,
    expiresAfterSeconds: job.expires_after_seconds,
  };
  return claimableAlone(fresh, Date.parse(job.created_at)) ? "queued" : "scheduled";
}

export async function getJob(user: TestUser, id: string): Promise<JobView> {
  const res = await request(`/v1/jobs/${id}`, { headers: user.auth });
  if (res.status !== 200) throw new Error(`getJob: ${res.status}`);
  return (await res.json()) as JobView;
}

export function shardOf(userId: string, shard = 0) {
  return env.TASK_SHARD.get(env.TASK_SHARD.idFromName(shardName(userId, shard)));
}

/**
 * Every attempt of the shard's jobs that began, one row each, in the attempts table's columns: the
 * attempts rows (the earlier attempts) and each job row's latest attempt (src/shard/sql/attempt-history.ts).
 * A subquery to read from: `select … from ${ALL_ATTEMPTS} where job_id = ?`.
 */
export const ALL_ATTEMPTS = `(
  select job_id, number, occurrence, status, scheduled_at, started_at, finished_at, lateness_ms, error, resources
    from attempts
  union all
  select id, last_attempt_number, last_attempt_occurrence, last_attempt_status, last_attempt_scheduled_at,
         last_run_at, last_attempt_finished_at, max(0, last_run_at - last_attempt_scheduled_at),
         last_attempt_error, last_attempt_resources
    from jobs where last_attempt_number is not null
)`;

/**
 * A job row's status and deadline as the shard reads them (src/shard/sql/begun.ts): an attempt begun
 * in its one-row form is stored queued, with its liveness deadline in run_deadline. Columns to select
 * from jobs: `select ${JOB_STATUS} as status, ${JOB_DEADLINE} as deadline from jobs`.
 */
export const JOB_STATUS = EFFECTIVE_STATUS_TEXT;
export const JOB_DEADLINE = `(case when ${BEGUN_TEXT} then run_deadline else deadline end)`;

/** Runs `fn` inside the shard, e.g. to move its clock or read its rows. */
export function inShard<R>(
  userId: string,
  fn: (shard: TaskShard, state: DurableObjectState) => R | Promise<R>,
) {
  return runInDurableObject(shardOf(userId), fn);
}

import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
} from "cloudflare:test";
import type { DispatchMessage } from "../../src/dispatch/message";
import worker from "../../src/index";

/** Fires the shard's alarm now (whatever time it was set for) and returns the messages it sent. */
export async function fireAlarm(userId: string, shard = 0): Promise<DispatchMessage[]> {
  await runDurableObjectAlarm(shardOf(userId, shard));
  return queuedMessages(userId, shard);
}

/**
 * The message each queued job was sent with: the shard's claims are the messages' source. A job begun
 * in its one-row form (run_deadline set) is stored queued too, and is running: not listed.
 */
export function queuedMessages(userId: string, shard = 0): Promise<DispatchMessage[]> {
  return runInDurableObject(shardOf(userId, shard), (_s, state) =>
    state.storage.sql
      .exec<{ job_id: string; attempt: number }>(
        `select id as job_id, attempt from jobs where ${NOT_BEGUN_TEXT} order by id`,
      )
      .toArray()
      .map((r) => ({ user_id: userId, job_id: r.job_id, attempt: r.attempt })),
  );
}

let messageSeq = 0;

/** The Worker's bindings with every shard unreachable: each of `methods` throws "shard unavailable". */
export function unreachableShards(...methods: string[]): Env {
  const fail = async () => {
    throw new Error("shard unavailable");
  };
  const stub = Object.fromEntries(methods.map((m) => [m, fail]));
  return { ...env, TASK_SHARD: { idFromName: () => ({}), get: () => stub } as unknown as Env["TASK_SHARD"] };
}

/**
 * Delivers messages to the Worker's queue handler as one batch; returns the ack/retry outcome.
 * `sentAt`: when the queue says they were sent (now unless given).
 */
export async function deliver(messages: unknown[], bindings: Env = env, sentAt = new Date()) {
  const batch = createMessageBatch(
    "scheduler-dispatch",
    messages.map((body) => ({ id: `m${++messageSeq}`, timestamp: sentAt, attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, bindings, ctx);
  return getQueueResult(batch, ctx);
}

/** Moves the shard's clock (and keeps randomness fixed) without sleeping. */
export function setShardClock(userId: string, now: number, random = 0.5) {
  return inShard(userId, (s) => {
    s.clock = () => now;
    s.random = () => random;
  });
}

/** The index watermark W (src/shard/sql/index-copy.ts), as a SQL expression. */
export const WATERMARK = "coalesce((select copied_through from index_watermark where id = 0), 0)";

/**
 * When the job's pending index copy goes, as the shard decides it (src/shard/sql/index-copy.ts): its
 * index_due_at, or, for a row above the index watermark, the copy time of the rows up to it (they go
 * in rowid order, each once indexCopyDue(created_at) has come; after a failed write not before the
 * watermark's retry time). Null when no copy of it is pending. Run inside the shard (inShard).
 */
export function copyDueAt(sql: SqlStorage, jobId: string, delayMs = 2000): number | null {
  const row = sql
    .exec<{ due: number | null; created: number | null; retry: number | null }>(
      `select j.index_due_at as due,
              (select max(created_at) from jobs where rowid > ${WATERMARK} and rowid <= j.rowid) as created,
              (select retry_at from index_watermark where id = 0) as retry
         from jobs j where j.id = ?`,
      jobId,
    )
    .toArray()[0];
  if (!row) return null;
  const byWatermark =
    row.created === null ? null : Math.max(indexCopyDue(row.created, delayMs), row.retry ?? 0);
  if (row.due === null) return byWatermark;
  return byWatermark === null ? row.due : Math.min(row.due, byWatermark);
}

/**
 * The latest time any index copy of the shard is pending for (copyDueAt of every job), null when none
 * is: once the alarm has run at it, D1 holds every job. Run inside the shard (inShard).
 */
export function lastCopyDueAt(sql: SqlStorage, delayMs = 2000): number | null {
  const times = sql
    .exec<{ id: string }>("select id from jobs")
    .toArray()
    .map((j) => copyDueAt(sql, j.id, delayMs))
    .filter((t): t is number => t !== null);
  return times.length === 0 ? null : Math.max(...times);
}

/** True when some job's index copy is pending: an index_due_at set, or a row above the watermark. */
export function copyPending(sql: SqlStorage): boolean {
  return (
    sql
      .exec<{ n: number }>(
        `select count(*) as n from jobs where index_due_at is not null or rowid > ${WATERMARK}`,
      )
      .one().n > 0
  );
}

/** Gives the running shard instance other bindings; a fresh instance gets the real ones back. */
export function withShardBindings(userId: string, overrides: Partial<Env>) {
  return inShard(userId, (shard) => {
    const target = shard as unknown as { env: Env };
    target.env = { ...target.env, ...overrides };
  });
}
