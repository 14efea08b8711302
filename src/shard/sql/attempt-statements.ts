// The job-row updates of begin, heartbeat, finish and cancel (attempts.ts), as statements built once
// per shard database (prepared.ts): drizzle builds their SQL text at the first call, later calls only
// bind values. The caller reads the job, decides, then runs the statement with what it decided; each
// statement's shape (which columns it assigns) is fixed by its name, its values are bound per call.
//
// beginUpdate(db, form) → statement {id, now, deadline, attempt} → JobRow (as stored)
//   its latest attempt becomes the new one (number bound; occurrence, scheduled time and resources
//   copied from the row itself). `oneRow`: run_deadline = deadline, status and the lease deadline left
//   as the claim wrote them (begun.ts); rows written: 1 (the row). `running`: jobs[id] → running,
//   deadline = deadline; rows written: 2 (row, jobs_wake).
// heartbeatUpdate(db) → statement {id, deadline}
//   jobs[id].deadline, and a begun row's status → running (begun.ts). Rows written: 2 (row, jobs_wake).
// finishUpdate(db, shape, patch) → statement {id, now, settled columns, attemptStatus, error, result,
//     indexDueAt} → JobRow
//   jobs[id] settled, its latest attempt ended. Rows written: 3 (row, jobs_wake, jobs_index_due); 2
//   when `shape.indexDue` is false (a copy is pending: index_due_at not assigned, touch.ts) or the row
//   is above the index watermark (its copy pending by construction: index_due_at stays null, no entry);
//   1 less when the job finishes swept (retention-sweep.ts: out of jobs_wake, whose predicate it
//   leaves): the canonical job's finish writes its row alone.
// cancelUpdate(db, shape, patch) → statement {id, now, deadline, indexDueAt} → JobRow
//   jobs[id] → cancelled, an attempt in flight ended as cancelled. Rows written: as finishUpdate.
// No SQL runs here. A waiting PATCH (`patch`, columns of its own) makes a statement of its own shape,
// built for that call only: it is rare, and its columns vary.
import { eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import type { ShardDb } from "../db";
import { type JobRow, jobs } from "../schema";
import { prepared } from "./prepared";
import { sweepOnFinish } from "./retention-sweep";
import { bump, pendingOr } from "./touch";

/** A value bound per call, passed to SQLite as it is: numbers, text, JSON as text, booleans as 0/1. */
export const bound = (name: string): SQL => sql`${sql.placeholder(name)}`;

const byId = eq(jobs.id, sql.placeholder("id"));

export function beginUpdate(db: ShardDb, form: "oneRow" | "running") {
  return prepared(db, `attempts.begin.${form}`, (d) =>
    d
      .update(jobs)
      .set({
        ...(form === "running"
          ? { status: "running", deadline: bound("deadline"), runDeadline: null }
          : { runDeadline: bound("deadline") }),
        lastRunAt: bound("now"),
        dispatchMisses: 0,
        ...bump(bound("now")),
        lastAttemptNumber: bound("attempt"),
        lastAttemptOccurrence: sql`${jobs.occurrence}`,
        lastAttemptStatus: "running",
        lastAttemptScheduledAt: sql`${jobs.runAt}`,
        lastAttemptFinishedAt: null,
        lastAttemptError: null,
        lastAttemptResources: sql`${jobs.resources}`,
      })
      .where(byId)
      .returning()
      .prepare(),
  );
}

export function heartbeatUpdate(db: ShardDb) {
  return prepared(db, "attempts.heartbeat", (d) =>
    d
      .update(jobs)
      .set({
        deadline: bound("deadline"),
        // A begun row (begun.ts) takes its running form; a paused one stays paused.
        status: sql`case when ${jobs.status} = 'queued' then 'running' else ${jobs.status} end`,
      })
      .where(byId)
      .prepare(),
  );
}

/** The columns a settlement writes (attempts.ts settlementValues), bound by the same names. */
const settled = {
  status: bound("status"),
  runAt: bound("runAt"),
  occurrenceAt: bound("occurrenceAt"),
  currentRetries: bound("currentRetries"),
  runs: bound("runs"),
  occurrence: bound("occurrence"),
  extraRun: bound("extraRun"),
  deadline: bound("deadline"),
};

/** The version, and the index copy unless one is pending (as touch: pendingOr, the watermark). */
const touched = (indexDue: boolean) => ({
  ...bump(bound("now")),
  ...(indexDue ? { indexDueAt: pendingOr(bound("indexDueAt")) } : {}),
});

/** Statement `name` with `columns`, built once; with a waiting PATCH's columns first, built for this call. */
function jobUpdate(
  db: ShardDb,
  name: string,
  columns: SQLiteUpdateSetSource<typeof jobs>,
  patch: Partial<JobRow> | null,
) {
  const build = (d: ShardDb) =>
    d
      .update(jobs)
      .set({ ...patch, ...columns })
      .where(byId)
      .returning()
      .prepare();
  return patch ? build(db) : prepared(db, name, build);
}

export function finishUpdate(
  db: ShardDb,
  shape: { ok: boolean; indexDue: boolean },
  patch: Partial<JobRow> | null,
) {
  const name = `attempts.finish.${shape.ok ? "ok" : "failed"}.${shape.indexDue ? "due" : "pending"}`;
  return jobUpdate(
    db,
    name,
    {
      ...settled,
      ...touched(shape.indexDue),
      ...(shape.ok ? { result: bound("result"), lastError: null } : { lastError: bound("error") }),
      lastAttemptStatus: bound("attemptStatus"),
      lastAttemptFinishedAt: bound("now"),
      lastAttemptError: bound("error"),
      // Finished soon after its creation, the job may leave jobs_wake for the retention sweep.
      swept: sweepOnFinish(bound("status"), bound("now")),
    },
    patch,
  );
}

export function cancelUpdate(
  db: ShardDb,
  shape: { inFlight: boolean; indexDue: boolean },
  patch: Partial<JobRow> | null,
) {
  const name = `attempts.cancel.${shape.inFlight ? "running" : "idle"}.${shape.indexDue ? "due" : "pending"}`;
  return jobUpdate(
    db,
    name,
    {
      status: "cancelled",
      deadline: bound("deadline"),
      ...touched(shape.indexDue),
      ...(shape.inFlight ? { lastAttemptStatus: "cancelled", lastAttemptFinishedAt: bound("now") } : {}),
    },
    patch,
  );
}
