// The D1 index's single writer, timed on this machine: new rows upserted into a copy of a run's index
// database, with the statement `upsertJobs` sends (src/index-store/writer.ts) and one transaction per
// consumer-sized batch, each row a copy of a real one (same doc size) under a new key. SQLite alone,
// without D1's network hop and replication: a floor for the time one database spends per row.
import { DatabaseSync } from "node:sqlite";

const UPSERT = `INSERT INTO job_index (job_id, user_id, status, type, created_at, version, doc)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (user_id, created_at, job_id) DO UPDATE
  SET status = excluded.status, version = excluded.version, doc = excluded.doc
  WHERE excluded.version > job_index.version`;

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
    const upsert = db.prepare(UPSERT);
    const started = performance.now();
    for (let done = 0; done < rows; done += batch) {
      db.exec("BEGIN");
      for (let i = done; i < Math.min(rows, done + batch); i++) {
        const s = samples[i % samples.length] as Sample;
        upsert.run(`job_bench_${i}`, s.user_id, s.status, s.type, s.created_at + i, 2, s.doc);
      }
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
