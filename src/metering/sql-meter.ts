// Counts the SQLite rows a Durable Object reads and writes, from the cursors its queries return
// (`rowsRead`/`rowsWritten`, what Cloudflare bills). Drizzle reaches storage only through `sql.exec`
// and `transactionSync`, so it is given a storage facade whose `exec` keeps each cursor.
//
// Only when asked (`on`: LOG_OPERATIONS or COUNT_SQL_ROWS, src/shard/task-shard.ts): the facade
// wraps every query (4 % of the shard's time in a herd, issue 16), so with counting off drizzle is
// handed the real storage and every count is 0.
export class SqlMeter {
  private cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  /** CHECK_QUERY_PLANS (tests): plan each new statement first; a full scan of `jobs` throws. */
  checkPlans = false;
  private planned = new Set<string>();

  constructor(
    private readonly storage: DurableObjectStorage,
    readonly on: boolean,
  ) {}

  /** The storage to hand to drizzle: the facade when counting, otherwise the real storage itself. */
  storageForQueries(): DurableObjectStorage {
    return this.on ? this.facade() : this.storage;
  }

  /** The storage to hand to drizzle: the real one, with every cursor remembered. */
  facade(): DurableObjectStorage {
    const storage = this.storage;
    const track = <T extends Record<string, SqlStorageValue>>(cursor: SqlStorageCursor<T>) => {
      this.cursors.push(cursor as unknown as SqlStorageCursor<Record<string, SqlStorageValue>>);
      return cursor;
    };
    const sql = {
      exec: <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) => {
        if (this.checkPlans) this.checkPlan(query, bindings);
        return track(storage.sql.exec<T>(query, ...bindings));
      },
      get databaseSize() {
        return storage.sql.databaseSize;
      },
    };
    return {
      sql,
      transactionSync: <T>(fn: () => T) => storage.transactionSync(fn),
    } as unknown as DurableObjectStorage;
  }

  /**
   * Throws for a statement whose plan scans the whole jobs table (each statement text planned once):
   * the jobs table grows with retention, and every hot query reaches it through an index. A query of
   * the partial jobs_wake index must name IN_WAKE (src/shard/schema.ts) for SQLite to use it.
   */
  private checkPlan(query: string, bindings: unknown[]): void {
    if (this.planned.has(query) || !/^\s*(select|update|delete|with)\b/i.test(query)) return;
    this.planned.add(query);
    const plan = this.storage.sql
      .exec<{ detail: string }>(`explain query plan ${query}`, ...bindings)
      .toArray()
      .map((r) => r.detail);
    if (plan.some((d) => /^SCAN jobs\b/.test(d)))
      throw new Error(`a shard query scans the jobs table: ${query} (plan: ${plan.join("; ")})`);
  }

  /**
   * Rows read and written by the queries run since the last call. A cursor's counts are final once
   * drizzle has consumed it, which it has by the time the synchronous query returns.
   */
  take(): { sqlRowsRead: number; sqlRowsWritten: number } {
    const counts = rowsOf(this.cursors);
    this.cursors = [];
    return counts;
  }

  /**
   * Runs `fn` (synchronous queries) and takes the rows its own queries read and wrote, leaving the
   * request's other queries to take(): a request that serves two phases bills each its part.
   */
  measure<T>(fn: () => T): { value: T; rows: { sqlRowsRead: number; sqlRowsWritten: number } } {
    const from = this.cursors.length;
    const value = fn();
    return { value, rows: rowsOf(this.cursors.splice(from)) };
  }
}

function rowsOf(cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[]) {
  let sqlRowsRead = 0;
  let sqlRowsWritten = 0;
  for (const c of cursors) {
    sqlRowsRead += c.rowsRead;
    sqlRowsWritten += c.rowsWritten;
  }
  return { sqlRowsRead, sqlRowsWritten };
}
