// The D1 index's single writer, timed on this machine: new rows upserted into a copy of a run's index
// database, with the statement `upsertJobs` sends (src/index-store/upsert.ts) and one transaction per
// consumer-sized batch, each row a copy of a real one (same doc size) under a new key. SQLite alone,
// without D1's network hop and replication: a floor for the time one database spends per row.
import { DatabaseSync } from "node:sqlite";
import { UPSERT_ROWS } from "../../../src/index-store/upsert";

interface Sample {
  user_id: string;
  status: string;
  type: string;
  created_at: number;
  doc: string;
}

export function timeIndexWrites(file: string, rows: number, batch: number) {
  const db = new DatabaseSync(file);
  try {
    const samples = db
      .prepare("SELECT user_id, status, type, created_at, doc FROM job_index LIMIT 200")
      .all() as unknown as Sample[];
    if (samples.length === 0) return null;
    const upsert = db.prepare(UPSERT_ROWS);
    // Each batch as upsertJobs binds it: one JSON array, built before the clock starts (the Worker's
    // part, not the database's).
    const batches: string[] = [];
    for (let done = 0; done < rows; done += batch) {
      const entries = [];
      for (let i = done; i < Math.min(rows, done + batch); i++) {
        const s = samples[i % samples.length] as Sample;
        const doc = JSON.parse(s.doc) as unknown;
        entries.push({
          id: `job_bench_${i}`,
          user: s.user_id,
          status: s.status,
          type: s.type,
          created: s.created_at + i,
          version: 2,
          doc,
        });
      }
      batches.push(JSON.stringify(entries));
    }
    const started = performance.now();
    for (const json of batches) {
      db.exec("BEGIN");
      upsert.run(json);
      db.exec("COMMIT");
    }
    const ms = performance.now() - started;
    return {
      rows,
      batch,
      us_per_row: Math.round((ms * 1000) / rows),
      rows_per_s: Math.round(rows / (ms / 1000)),
    };
  } finally {
    db.close();
  }
}
