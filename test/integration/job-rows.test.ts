// findJob reads job rows with a fixed statement and its own decoder (src/shard/job-rows.ts) instead of
// drizzle's select: the row must be exactly what drizzle's select maps, for every column and kind of
// value (JSON payloads, labels and results, booleans, nulls, a waiting PATCH, an attempt in the row).
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { findJob } from "../../src/shard/db";
import { jobs } from "../../src/shard/schema";
import { putPool } from "../../src/shard/sql/pools";
import { insertJob } from "../../src/shard/sql/submit";
import { inShard } from "../support/helpers";
import { newJobs } from "../support/new-job";

const T0 = Date.UTC(2030, 0, 1);
const spec = newJobs("usr_rows", T0);

describe("findJob", () => {
  it("answers the row drizzle's select maps, column for column", async () => {
    await inShard(`usr_rows_${crypto.randomUUID()}`, (shard, state) => {
      const { db } = shard.context;
      putPool(db, "gpu", 4, T0);
      const made = [
        spec("plain"),
        spec("rich", {
          payload: { a: [1, 2.5, { b: null }], s: "é 𝄞 \u2028" },
          labels: { team: "x", "k y": "v" },
          resources: { gpu: 2 },
          cron: "*/5 * * * *",
          timezone: "Europe/Paris",
          intervalSeconds: null,
          callbackUrl: "https://example.com/cb",
          traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
          tracestate: "congo=t61rcWkgMzE",
        }),
      ];
      for (const job of made) expect(insertJob(db, job, undefined, T0)).toMatchObject({ ok: true });
      // Values no submit writes: a result, a waiting PATCH, an ended attempt, booleans set.
      state.storage.sql.exec(
        `update jobs set result = '{"r":[1,"two"]}', pending_patch = '{"priority":7}', extra_run = 1, needs_pools = 1,
           last_attempt_number = 1, last_attempt_status = 'failed', last_attempt_resources = '{"gpu":2}',
           last_attempt_error = 'boom', run_deadline = 5 where id = 'rich'`,
      );
      for (const id of ["plain", "rich"]) {
        const drizzle = db.select().from(jobs).where(eq(jobs.id, id)).get();
        expect(drizzle).toBeDefined();
        expect(findJob(db, id)).toStrictEqual(drizzle);
      }
      expect(findJob(db, "missing")).toBeUndefined();
    });
  });
});
