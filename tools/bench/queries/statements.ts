// The rest of an alarm run's statements, per call, on a shard the queries bench has filled: given-up
// leases and lost dispatches (none due, then 25 of each), the pools a claim reads and a pooled claim
// with its releases, the index copy (due rows, marking them, postponing them, and upsertJobs' work
// before D1: a stand-in D1 that runs nothing, so only the JavaScript of building the batch is timed),
// the finish's metrics minute and the alarm's prunes. Writes are rolled back after each call, so
// every call sees the same tables.
import type { DatabaseSync } from "node:sqlite";
import { type IndexWriterDb, upsertJobs } from "../../../src/index-store/upsert";
import type { ShardDb } from "../../../src/shard/db";
import { claimDue } from "../../../src/shard/sql/claim";
import { expiredLeases, resendLostDispatches } from "../../../src/shard/sql/dispatch";
import { pruneIdempotencyKeys } from "../../../src/shard/sql/idempotency-keys";
import { dueForIndex, markIndexed, postponeIndex } from "../../../src/shard/sql/index-copy";
import { countInMinute, rollMetricMinutes } from "../../../src/shard/sql/metrics";
import { capacities, poolWaitersExist, release, unitsInUse } from "../../../src/shard/sql/pools";
import { viewJob } from "../../../src/shard/sql/view";
import { perCall, perCallAsync, timings } from "./timing";

export const STATEMENT_COLUMNS = [
  "expiredLeases0_ms",
  "resendLost0_ms",
  "expiredLeases25_ms",
  "resendLost25_ms",
  "pools_ms",
  "poolWaiters_ms",
  "pooledClaim25_ms",
  "dueForIndex50_ms",
  "markIndexed50_ms",
  "postponeIndex50_ms",
  "upsertJobs50_ms",
  "countInMinute_ms",
  "prunes_ms",
];

/** Runs `fn` in a transaction it rolls back: a call that writes leaves the tables as they were. */
function rolledBack<T>(raw: DatabaseSync, fn: () => T): T {
  raw.exec("BEGIN");
  try {
    return fn();
  } finally {
    raw.exec("ROLLBACK");
  }
}

/** Enough of D1Database for the index writer: statements are bound and batched, and nothing runs. */
const nullD1: IndexWriterDb<unknown> = {
  prepare(query: string) {
    const statement = {
      query,
      bind: (...params: unknown[]) => ({ ...statement, params }),
    };
    return statement;
  },
  async batch(statements: unknown[]) {
    return statements.map(() => ({ success: true, results: [], meta: { rows_read: 1, rows_written: 1 } }));
  },
};

export async function timeStatements(raw: DatabaseSync, db: ShardDb, now: number) {
  const row: Record<string, number> = {};
  // Nothing due: what most alarm runs find.
  row.expiredLeases0_ms = perCall(() => expiredLeases(db, now, 100));
  row.resendLost0_ms = perCall(() => rolledBack(raw, () => resendLostDispatches(db, now, timings, 100)));

  // 25 queued jobs past their dispatch deadline and 25 running past their lease, of their own.
  const insert = raw.prepare(
    `insert into jobs (id, user_id, type, status, priority, run_at, occurrence_at, max_retries,
       retry_delay_seconds, timeout_seconds, resources, needs_pools, created_at, updated_at, deadline,
       attempt, index_due_at)
     values (?, 'usr_bench', 'noop', ?, 50, ?, ?, 3, 30, 60, ?, ?, ?, ?, ?, 1, ?)`,
  );
  const add = (
    id: string,
    status: string,
    resources: string,
    pooled: number,
    deadline: number,
    indexDue: number | null,
  ) =>
    insert.run(
      id,
      status,
      now - 60_000,
      now - 60_000,
      resources,
      pooled,
      now - 60_000,
      now,
      deadline,
      indexDue,
    );
  raw.exec("BEGIN");
  for (let i = 0; i < 25; i++) {
    add(`job_0_q${String(i).padStart(9, "0")}`, "queued", "{}", 0, now - 1, null);
    add(`job_0_r${String(i).padStart(9, "0")}`, "running", "{}", 0, now - 1, null);
  }
  raw.exec("COMMIT");
  row.expiredLeases25_ms = perCall(() => expiredLeases(db, now, 100));
  row.resendLost25_ms = perCall(() => rolledBack(raw, () => resendLostDispatches(db, now, timings, 100)));

  // Three pools with some units held, and 200 due pooled jobs (one unit of p0 each, p1 every third).
  raw.exec("BEGIN");
  for (const name of ["p0", "p1", "p2"]) {
    raw
      .prepare("insert into pools (name, capacity, created_at, updated_at) values (?, 1000, ?, ?)")
      .run(name, now, now);
  }
  const allocation = raw.prepare(
    "insert into allocations (job_id, attempt, pool, units) values (?, 1, ?, 1)",
  );
  for (let i = 0; i < 25; i++) allocation.run(`job_0_r${String(i).padStart(9, "0")}`, "p0");
  for (let i = 0; i < 200; i++) {
    const resources = i % 3 === 0 ? '{"p0":1,"p1":1}' : '{"p0":1}';
    add(`job_0_p${String(i).padStart(9, "0")}`, "scheduled", resources, 1, now - 500, null);
  }
  raw.exec("COMMIT");
  row.pools_ms = perCall(() => [capacities(db), unitsInUse(db)]);
  row.poolWaiters_ms = perCall(() => poolWaitersExist(db, now));
  // The free due jobs of the fill go first at equal priority only if older: these are younger, so
  // set them apart by priority to claim pooled ones.
  raw.exec("update jobs set priority = 90 where needs_pools = 1 and status = 'scheduled'");
  row.pooledClaim25_ms = perCall(() =>
    rolledBack(raw, () => {
      const { claims } = claimDue(db, now, { limit: 25, agingSeconds: 1 }, timings);
      if (claims.length !== 25) throw new Error(`pooled claim: ${claims.length} claims, not 25`);
      for (const c of claims) release(db, c.id, c.attempt);
    }),
  );

  // 100 jobs whose index copy is due: the alarm copies 50 a run.
  raw.exec(`update jobs set index_due_at = ${now - 100} where rowid in (select rowid from jobs limit 100)`);
  row.dueForIndex50_ms = perCall(() => dueForIndex(db, now, 50));
  const dueRows = dueForIndex(db, now, 50);
  if (dueRows.length !== 50) throw new Error(`dueForIndex: ${dueRows.length} rows, not 50`);
  const written = dueRows.map((r) => ({ id: r.id, version: r.version }));
  row.markIndexed50_ms = perCall(() => rolledBack(raw, () => markIndexed(db, written)));
  const ids = dueRows.map((r) => r.id);
  row.postponeIndex50_ms = perCall(() => rolledBack(raw, () => postponeIndex(db, ids, now + 5000)));
  const entries = dueRows.map((r) => ({ view: viewJob(db, r), version: r.version }));
  row.upsertJobs50_ms = await perCallAsync(() => upsertJobs(nullD1, entries));

  // A finish's minute (an attempt with its lateness, and the job finished), and the prunes.
  const event = {
    attempt: { outcome: "succeeded" as const, latenessMs: 120 },
    finished: "succeeded" as const,
  };
  row.countInMinute_ms = perCall(() => rolledBack(raw, () => countInMinute(db, now, event)));
  row.prunes_ms = perCall(() =>
    rolledBack(raw, () => {
      pruneIdempotencyKeys(db, now, 100);
      rollMetricMinutes(db, now);
    }),
  );
  return row;
}
