// The SQLite row meter is on only when asked: drizzle gets the real storage otherwise (issue 16), and
// the facade when counting, which then bills each query's rows exactly once.
import { describe, expect, it } from "vitest";
import { SqlMeter } from "../../src/metering/sql-meter";

/** A storage whose every query reads 2 rows and writes 1, recording the queries it ran. */
function fakeStorage() {
  const ran: string[] = [];
  const storage = {
    sql: {
      exec(query: string) {
        ran.push(query);
        return { rowsRead: 2, rowsWritten: 1 };
      },
      databaseSize: 4096,
    },
    transactionSync: <T>(fn: () => T) => fn(),
  } as unknown as DurableObjectStorage;
  return { storage, ran };
}

describe("SqlMeter", () => {
  it("hands out the real storage when off, and counts nothing", () => {
    const { storage, ran } = fakeStorage();
    const meter = new SqlMeter(storage, false);
    const forQueries = meter.storageForQueries();
    expect(forQueries).toBe(storage);
    forQueries.sql.exec("select 1");
    expect(ran).toEqual(["select 1"]);
    expect(meter.take()).toEqual({ sqlRowsRead: 0, sqlRowsWritten: 0 });
    expect(meter.measure(() => forQueries.sql.exec("select 2")).rows).toEqual({
      sqlRowsRead: 0,
      sqlRowsWritten: 0,
    });
  });

  it("hands out a facade when on, which runs each query and counts its rows once", () => {
    const { storage, ran } = fakeStorage();
    const meter = new SqlMeter(storage, true);
    const forQueries = meter.storageForQueries();
    expect(forQueries).not.toBe(storage);
    forQueries.sql.exec("select 1");
    const measured = meter.measure(() => forQueries.sql.exec("select 2"));
    expect(measured.rows).toEqual({ sqlRowsRead: 2, sqlRowsWritten: 1 });
    expect(forQueries.sql.databaseSize).toBe(4096);
    expect(forQueries.transactionSync(() => 7)).toBe(7);
    expect(ran).toEqual(["select 1", "select 2"]);
    // What measure took is not billed again; the rest is taken once.
    expect(meter.take()).toEqual({ sqlRowsRead: 2, sqlRowsWritten: 1 });
    expect(meter.take()).toEqual({ sqlRowsRead: 0, sqlRowsWritten: 0 });
  });
});
