// How the shard's hot queries scale with the rows in its `jobs` table: the real functions from
// src/shard (nextWakeAt, which every re-arm runs; claimDue; inFlight; unfinishedJobs) on the real
// shard migrations, run on node:sqlite through drizzle's durable-sqlite driver and a minimal stand-in
// for ctx.storage. Times are per call, in this process (no workerd, no I/O), so they are a floor.
// A second table times the rest of an alarm run's statements (leases, resends, pools, the index copy
// and its D1 upsert against a stand-in D1 that runs nothing, the metrics minute, the prunes) on the
// same tables plus a fixture of their own (statements.ts).
//
//   npm run bench -- queries      (or npm run bench:queries; on the pinned Node 22: node:sqlite)
//
// Finished jobs stay in the table (nothing deletes them), so "finished" rows are every job a shard
// has ever run.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { drizzle } from "drizzle-orm/durable-sqlite";
import type { ShardDb } from "../../../src/shard/db";
import * as schema from "../../../src/shard/schema";
import { claimDue, inFlight } from "../../../src/shard/sql/claim";
import { nextWakeAt } from "../../../src/shard/sql/dispatch";
import { unfinishedJobs } from "../../../src/shard/sql/submit";
import { parseCommand } from "../../harness/cli";
import { projectRoot } from "../../harness/project";
import { STATEMENT_COLUMNS, timeStatements } from "./statements";
import { perCall, timings } from "./timing";

/** Enough of DurableObjectStorage for drizzle's durable-sqlite session: sql.exec and transactionSync. */
function storageOn(db: DatabaseSync) {
  const statements = new Map<string, StatementSync>();
  const prepare = (query: string) => {
    let st = statements.get(query);
    if (!st) {
      st = db.prepare(query);
      statements.set(query, st);
    }
    return st;
  };
  const bind = (params: unknown[]) =>
    params.map((p) => (typeof p === "boolean" ? Number(p) : p)) as SQLInputValue[];
  return {
    sql: {
      exec(query: string, ...params: unknown[]) {
        const st = prepare(query);
        const names = st.columns().map((c) => c.name);
        let rows: unknown[][] = [];
        if (names.length === 0) st.run(...bind(params));
        else {
          st.setReturnArrays(true);
          rows = st.all(...bind(params)) as unknown as unknown[][];
        }
        const objects = () => rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
        const asObjects = objects();
        let at = 0;
        return {
          toArray: () => asObjects,
          raw: () => ({ toArray: () => rows }),
          next: () =>
            at < asObjects.length
              ? { value: asObjects[at++], done: false }
              : { value: undefined, done: true },
        };
      },
    },
    transactionSync<T>(fn: () => T): T {
      db.exec("BEGIN");
      try {
        const out = fn();
        db.exec("COMMIT");
        return out;
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    },
  };
}

function freshShard(): { raw: DatabaseSync; db: ShardDb; queries: string[] } {
  const raw = new DatabaseSync(":memory:");
  const dir = path.join(projectRoot, "migrations/shard");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const stmt of readFileSync(path.join(dir, file), "utf8").split("--> statement-breakpoint")) {
      if (stmt.trim()) raw.exec(stmt);
    }
  }
  const queries: string[] = [];
  const db = drizzle(storageOn(raw) as never, {
    schema,
    logger: { logQuery: (q: string) => void queries.push(q) },
  }) as unknown as ShardDb;
  return { raw, db, queries };
}

/** Rows as the shard writes them: `finished` succeeded jobs (no deadline) and `due` scheduled ones. */
function fill(raw: DatabaseSync, finished: number, due: number, now: number) {
  const insert = raw.prepare(
    `insert into jobs (id, user_id, type, status, priority, run_at, occurrence_at, max_retries,
       retry_delay_seconds, timeout_seconds, resources, needs_pools, created_at, updated_at, deadline)
     values (?, 'usr_bench', 'noop', ?, 50, ?, ?, 3, 30, 60, '{}', 0, ?, ?, ?)`,
  );
  raw.exec("BEGIN");
  for (let i = 0; i < finished; i++) {
    insert.run(
      `job_0_f${String(i).padStart(9, "0")}`,
      "succeeded",
      now - 9e6,
      now - 9e6,
      now - 9e6,
      now,
      null,
    );
  }
  for (let i = 0; i < due; i++) {
    insert.run(
      `job_0_d${String(i).padStart(9, "0")}`,
      "scheduled",
      now - 1000,
      now - 1000,
      now,
      now,
      now - 1000,
    );
  }
  raw.exec("COMMIT");
}

const sizes: [finished: number, due: number][] = [
  [0, 1_000],
  [0, 10_000],
  [10_000, 0],
  [10_000, 10_000],
  [100_000, 0],
  [100_000, 10_000],
  [1_000_000, 0],
];
const usage =
  "usage: npm run bench -- queries      (no options: the sizes are fixed; prints JSON, then a table)";

export async function main(argv: string[]): Promise<undefined> {
  parseCommand(argv, { name: "bench queries", usage, options: {} });
  const rows: Record<string, unknown>[] = [];
  const statementRows: Record<string, unknown>[] = [];
  let plans: Record<string, string[]> = {};
  for (const [finished, due] of sizes) {
    const { raw, db, queries } = freshShard();
    const now = Date.now();
    fill(raw, finished, due, now);
    const row: Record<string, unknown> = { finished, due };
    row.nextWakeAt_ms = perCall(() => nextWakeAt(db, now, false, 2000));
    row.inFlight_ms = perCall(() => inFlight(db));
    row.unfinishedJobs_ms = perCall(() => unfinishedJobs(db));
    // claimDue writes (claims 25 jobs); roll each call back so every call sees the same table.
    row.claimDue25_ms = perCall(() => {
      raw.exec("BEGIN");
      try {
        claimDue(db, now, { limit: 25, agingSeconds: 1 }, timings);
      } finally {
        raw.exec("ROLLBACK");
      }
    });
    rows.push(row);
    if (finished === 100_000 && due === 10_000) {
      queries.length = 0;
      nextWakeAt(db, now, false, 2000);
      const wake = queries[0] ?? "";
      queries.length = 0;
      raw.exec("BEGIN");
      claimDue(db, now, { limit: 25, agingSeconds: 1 }, timings);
      raw.exec("ROLLBACK");
      const due = queries.find((q) => /from "jobs"/.test(q) && /order by/i.test(q)) ?? "";
      const plan = (q: string) =>
        raw
          .prepare(`explain query plan ${q}`)
          .all(...Array.from({ length: (q.match(/\?/g) ?? []).length }, () => now))
          .map((r) => String((r as { detail: unknown }).detail));
      plans = { nextWakeAt: plan(wake), claimDue_candidates: plan(due) };
    }
    // Last: it adds rows of its own (pools, pooled, queued and running jobs, pending index copies).
    statementRows.push({ finished, due, ...(await timeStatements(raw, db, now)) });
    raw.close();
  }

  const fmt = (x: unknown) =>
    typeof x !== "number"
      ? String(x)
      : Number.isInteger(x)
        ? String(x)
        : x < 10
          ? x.toFixed(3)
          : x.toFixed(1);
  console.log(JSON.stringify({ node: process.version, rows, statements: statementRows, plans }, null, 2));
  console.log();
  const cols = ["finished", "due", "nextWakeAt_ms", "claimDue25_ms", "unfinishedJobs_ms", "inFlight_ms"];
  console.log(cols.join(" | "));
  for (const r of rows) console.log(cols.map((c) => fmt(r[c])).join(" | "));
  console.log();
  const more = ["finished", "due", ...STATEMENT_COLUMNS];
  console.log(more.join(" | "));
  for (const r of statementRows) console.log(more.map((c) => fmt(r[c])).join(" | "));
}
