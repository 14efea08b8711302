// Index databases and dispatch queues are found by binding name (INDEX_DB, INDEX_DB_1, …; DISPATCH,
// DISPATCH_1, …), so adding one is a block in wrangler.toml and a count (docs/deploy.md), past the four
// declared too; a count larger than the bindings fails where the missing one is used.
import { describe, expect, it } from "vitest";
import { dispatchQueue } from "../../src/dispatch/queues";
import type { Env } from "../../src/env";
import { indexDatabase } from "../../src/index-store/databases";

const stand = (name: string) => ({ name }) as unknown;

describe("bindings by name", () => {
  it("finds the fifth index database and queue as INDEX_DB_4 and DISPATCH_4", () => {
    const env = {
      INDEX_DB: stand("db0"),
      INDEX_DB_4: stand("db4"),
      DISPATCH: stand("q0"),
      DISPATCH_4: stand("q4"),
    } as unknown as Env;
    expect(indexDatabase(env, 0)).toEqual({ name: "db0" });
    expect(indexDatabase(env, 4)).toEqual({ name: "db4" });
    expect(dispatchQueue(env, 0)).toEqual({ name: "q0" });
    expect(dispatchQueue(env, 4)).toEqual({ name: "q4" });
  });

  it("names the missing binding", () => {
    const env = { INDEX_DB: stand("db0"), DISPATCH: stand("q0") } as unknown as Env;
    expect(() => indexDatabase(env, 2)).toThrow("INDEX_DB_2");
    expect(() => dispatchQueue(env, 5)).toThrow("DISPATCH_5");
  });
});
