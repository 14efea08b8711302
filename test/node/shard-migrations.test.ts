// The shard's migrations upgrade a database that holds jobs without losing any of their attempts.
// Node's own SQLite (node:sqlite) runs the committed migration files as the Durable Object's migrator
// does (each file split at its statement breakpoints, in the journal's order), so the upgrade is tested
// from the state a running shard was in before, not from an empty database.
import { readFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import journal from "../../migrations/shard/meta/_journal.json";

const DIR = path.join(import.meta.dirname, "../../migrations/shard");

/** Applies the journal's migrations from `from` up to (not including) `to`, by tag prefix number. */
function migrate(db: DatabaseSync, from: number, to: number) {
  for (const entry of journal.entries.filter((e) => e.idx >= from && e.idx < to)) {
    const text = readFileSync(path.join(DIR, `${entry.tag}.sql`), "utf8");
    for (const statement of text.split("--> statement-breakpoint")) db.exec(statement);
  }
}

type Row = Record<string, unknown>;

/** One record per attempt that began, in the attempts table's columns, as the schema stands. */
function everyAttempt(db: DatabaseSync, latestInJobRow: boolean): Row[] {
  const columns =
    "job_id, number, occurrence, status, scheduled_at, started_at, finished_at, lateness_ms, error, resources";
  const latest = latestInJobRow
    ? `union all select id, last_attempt_number, last_attempt_occurrence, last_attempt_status,
         last_attempt_scheduled_at, last_run_at, last_attempt_finished_at,
         max(0, last_run_at - last_attempt_scheduled_at), last_attempt_error, last_attempt_resources
       from jobs where last_attempt_number is not null`
    : "";
  return db
    .prepare(`select * from (select ${columns} from attempts ${latest}) order by job_id, number`)
    .all()
    .map((r) => ({ ...r }));
}

const job = (db: DatabaseSync, id: string, status: string, lastRunAt: number | null) =>
  db
    .prepare(
      `insert into jobs (id, user_id, type, status, priority, run_at, occurrence_at, max_retries,
         retry_delay_seconds, timeout_seconds, resources, created_at, updated_at, last_run_at)
       values (?, 'u', 'noop', ?, 0, 1000, 1000, 3, 1, 60, '{}', 0, 0, ?)`,
    )
    .run(id, status, lastRunAt);

const attempt = (
  db: DatabaseSync,
  a: { job: string; number: number; occurrence?: number; status: string; scheduled: number; started: number },
  ended?: { at: number; error?: string },
) =>
  db
    .prepare(
      `insert into attempts (job_id, number, occurrence, status, scheduled_at, started_at, finished_at,
         lateness_ms, error, resources) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      a.job,
      a.number,
      a.occurrence ?? 0,
      a.status,
      a.scheduled,
      a.started,
      ended?.at ?? null,
      Math.max(0, a.started - a.scheduled),
      ended?.error ?? null,
      a.number === 3 ? '{"gpu":2}' : "{}",
    );

describe("shard migrations", () => {
  it("0013 moves each job's latest attempt into its row and keeps the earlier ones as rows", () => {
    const db = new DatabaseSync(":memory:");
    migrate(db, 0, 13);
    // Ran once and succeeded; retried twice and running its third attempt (which holds units); never
    // ran; two occurrences of a recurring job whose fence moved on without attempts between them
    // (withdrawn dispatches), the second begun on time (lateness 0).
    job(db, "a-once", "succeeded", 1500);
    attempt(
      db,
      { job: "a-once", number: 1, status: "succeeded", scheduled: 1000, started: 1500 },
      { at: 1600 },
    );
    job(db, "b-retried", "running", 9000);
    attempt(
      db,
      { job: "b-retried", number: 1, status: "failed", scheduled: 1000, started: 1100 },
      {
        at: 1200,
        error: "boom",
      },
    );
    attempt(
      db,
      { job: "b-retried", number: 2, status: "timed_out", scheduled: 3000, started: 3300 },
      {
        at: 8000,
        error: "timed out: no report within 60s",
      },
    );
    attempt(db, { job: "b-retried", number: 3, status: "running", scheduled: 8500, started: 9000 });
    job(db, "c-never", "scheduled", null);
    job(db, "d-recurring", "scheduled", 61_000);
    attempt(
      db,
      { job: "d-recurring", number: 1, status: "succeeded", scheduled: 1000, started: 1000 },
      {
        at: 1010,
      },
    );
    attempt(
      db,
      {
        job: "d-recurring",
        number: 4,
        occurrence: 1,
        status: "succeeded",
        scheduled: 61_500,
        started: 61_000,
      },
      { at: 61_200 },
    );
    const before = everyAttempt(db, false);
    expect(before).toHaveLength(6);

    migrate(db, 13, 14);

    // Nothing lost: the job rows' latest attempts and the attempts rows are the table of before.
    expect(everyAttempt(db, true)).toEqual(before);
    // Only the earlier attempts are rows now: a job that ran once has none.
    const rows = db.prepare("select job_id, number from attempts order by job_id, number").all();
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { job_id: "b-retried", number: 1 },
      { job_id: "b-retried", number: 2 },
      { job_id: "d-recurring", number: 1 },
    ]);
    const latest = db
      .prepare(
        `select id, last_attempt_number as number, last_attempt_status as status, last_attempt_error as error,
           last_attempt_resources as resources, last_run_at from jobs order by id`,
      )
      .all()
      .map((r) => ({ ...r }));
    expect(latest).toEqual([
      { id: "a-once", number: 1, status: "succeeded", error: null, resources: "{}", last_run_at: 1500 },
      {
        id: "b-retried",
        number: 3,
        status: "running",
        error: null,
        resources: '{"gpu":2}',
        last_run_at: 9000,
      },
      { id: "c-never", number: null, status: null, error: null, resources: null, last_run_at: null },
      {
        id: "d-recurring",
        number: 4,
        status: "succeeded",
        error: null,
        resources: "{}",
        last_run_at: 61_000,
      },
    ]);
  });
});
