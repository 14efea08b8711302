// What the stores hold, read from the local state directory: every shard's SQLite file (Durable Object
// storage, `…TaskShard…/*.sqlite`) and every D1 database's (`…D1DatabaseObject…/*.sqlite`). Each file is
// copied first (with its WAL, so the copy holds what the runtime has committed) and opened with
// node:sqlite; `dbstat` gives every table's and index's pages, so growth per job can be split by
// structure. Two sizes: pages in use ((page_count − freelist_count) × page_size, what a database
// holds, which Cloudflare bills and limits: 10 GB per object or database), and bytes used on those
// pages (page size less each page's unused bytes). A short run adds a few hundred jobs to each shard,
// so whole pages are too coarse to divide by them; bytes used are exact, and the pages a structure
// fills at scale are its bytes used over its fill (used / page bytes of the structures that grew).
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

export type Store = "shard" | "d1";

export interface FileMeasure {
  store: Store;
  file: string;
  /** Where the copy that was measured lies (it stays until the run's directory is removed). */
  copy: string;
  /** The .sqlite file and its -wal, as they lie on disk. */
  bytesOnDisk: number;
  bytesInUse: number;
  /** Each table and index: the bytes of its pages and the bytes used on them (dbstat). */
  structures: Record<string, { pages: number; used: number }>;
  /** Rows of the job tables: jobs, attempts (shard) or job_index (D1). */
  rows: Record<string, number>;
  /** D1 only: sum of length(doc) and of the key and filter columns. */
  docChars?: number;
  keyChars?: number;
}

export interface StateMeasure {
  files: FileMeasure[];
  /** .sqlite files of neither store (the local queues, caches): counted, not analysed. */
  otherFiles: number;
}

const storeOf = (file: string): Store | null => {
  // Miniflare's own bookkeeping, one per namespace: not a store's data.
  if (path.basename(file) === "metadata.sqlite") return null;
  if (file.includes("TaskShard")) return "shard";
  if (file.includes("D1DatabaseObject")) return "d1";
  return null;
};

function sqliteFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".sqlite"))
    .map((f) => path.join(dir, f));
}

const sizeOf = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** Measures every store file under `persistDir`, working on copies in `scratchDir`. */
export function measureState(persistDir: string, scratchDir: string): StateMeasure {
  mkdirSync(scratchDir, { recursive: true });
  const files: FileMeasure[] = [];
  let otherFiles = 0;
  for (const [i, file] of sqliteFiles(persistDir).entries()) {
    const store = storeOf(file);
    if (!store) {
      otherFiles++;
      continue;
    }
    const copy = path.join(scratchDir, `${i}.sqlite`);
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    files.push({
      store,
      file: path.relative(persistDir, file),
      copy,
      bytesOnDisk: sizeOf(file) + sizeOf(`${file}-wal`),
      ...readDatabase(copy, store),
    });
  }
  return { files, otherFiles };
}

type Row = Record<string, number | string | null>;

type Contents = Omit<FileMeasure, "store" | "file" | "copy" | "bytesOnDisk">;

function readDatabase(file: string, store: Store): Contents {
  const db = new DatabaseSync(file);
  try {
    const one = (sql: string) => (db.prepare(sql).get() as Row | undefined) ?? {};
    const pageSize = Number(one("PRAGMA page_size").page_size);
    const pages = Number(one("PRAGMA page_count").page_count);
    const free = Number(one("PRAGMA freelist_count").freelist_count);
    const structures: FileMeasure["structures"] = {};
    const stat = "SELECT name, SUM(pgsize) AS pages, SUM(pgsize - unused) AS used FROM dbstat GROUP BY name";
    for (const r of db.prepare(stat).all() as Row[])
      structures[String(r.name)] = { pages: Number(r.pages), used: Number(r.used) };
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Row[]).map((r) => r.name),
    );
    const count = (table: string) =>
      tables.has(table) ? Number(one(`SELECT COUNT(*) AS n FROM ${table}`).n) : 0;
    const measured = { bytesInUse: (pages - free) * pageSize, structures };
    if (store === "shard") return { ...measured, rows: { jobs: count("jobs"), attempts: count("attempts") } };
    const sums = tables.has("job_index")
      ? one(
          "SELECT SUM(LENGTH(doc)) AS doc, SUM(LENGTH(user_id) + LENGTH(job_id) + LENGTH(status) + LENGTH(type)) AS keys FROM job_index",
        )
      : {};
    return {
      ...measured,
      rows: { job_index: count("job_index") },
      docChars: Number(sums.doc ?? 0),
      keyChars: Number(sums.keys ?? 0),
    };
  } finally {
    db.close();
  }
}

/** Sum of `pick` over the files of `store`. */
export function total(m: StateMeasure, store: Store, pick: (f: FileMeasure) => number): number {
  return m.files.filter((f) => f.store === store).reduce((sum, f) => sum + pick(f), 0);
}

/**
 * Growth between two measures, per job, for one store: pages and bytes used, in all and by structure,
 * and the fill of the structures that grew, so that `used / fill` estimates the pages a job takes.
 */
export function growthPerJob(before: StateMeasure, after: StateMeasure, store: Store, jobs: number) {
  const grown = (pick: (f: FileMeasure) => number) => total(after, store, pick) - total(before, store, pick);
  const per = (pick: (f: FileMeasure) => number) => Math.round(grown(pick) / jobs);
  const names = new Set(
    after.files.filter((f) => f.store === store).flatMap((f) => Object.keys(f.structures)),
  );
  const byStructure: Record<string, { pages: number; used: number }> = {};
  let usedAfter = 0;
  let pagesAfter = 0;
  for (const name of [...names].sort()) {
    const used = grown((f) => f.structures[name]?.used ?? 0);
    if (used <= 0) continue;
    byStructure[name] = { pages: per((f) => f.structures[name]?.pages ?? 0), used: Math.round(used / jobs) };
    usedAfter += total(after, store, (f) => f.structures[name]?.used ?? 0);
    pagesAfter += total(after, store, (f) => f.structures[name]?.pages ?? 0);
  }
  const usedPerJob = Object.values(byStructure).reduce((sum, s) => sum + s.used, 0);
  const fill = pagesAfter ? usedAfter / pagesAfter : 1;
  return {
    files: after.files.filter((f) => f.store === store).length,
    bytes_used_per_job: usedPerJob,
    fill_of_grown_structures: Math.round(fill * 1000) / 1000,
    /** The plan's figure: what a job takes in pages once a store holds many. */
    bytes_held_per_job: Math.round(usedPerJob / fill),
    pages_in_use_per_job: per((f) => f.bytesInUse),
    bytes_on_disk_per_job: per((f) => f.bytesOnDisk),
    by_structure_per_job: byStructure,
  };
}
