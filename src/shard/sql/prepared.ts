// Statements built once per database handle. drizzle builds a query's SQL text on every call (28 % of
// the shard's time in a herd, issue 16); a hot statement is instead built at its first use, with
// `sql.placeholder(...)` where its values go, and later calls only bind them.
//
// prepared(db, name, build) → the statement `build` made for this db, built at most once per db.
//   No SQL runs here; the statement runs when the caller calls its .get/.all/.run with the values.
//
// Generic over the database handle (a ShardDb), so that src/shard/db.ts can build findJob with it
// without an import cycle.
const built = new WeakMap<object, Map<string, unknown>>();

/**
 * The statement named `name` for `db`, built by `build` the first time it is asked for. Names are
 * module-qualified by convention (`claim.markQueued`): one name, one statement shape.
 */
export function prepared<D extends object, T>(db: D, name: string, build: (db: D) => T): T {
  let statements = built.get(db);
  if (!statements) {
    statements = new Map();
    built.set(db, statements);
  }
  let statement = statements.get(name) as T | undefined;
  if (statement === undefined) {
    statement = build(db);
    statements.set(name, statement);
  }
  return statement;
}
