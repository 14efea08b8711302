// The index copy's statements, built once and bound per call (issue 16): the shard's side (which
// copies are due, what D1 now holds, a postponed write) with the rows they write, and the D1 upsert,
// one statement per chunk of its batch.
import { describe, expect, it } from "vitest";
import { indexCopyDue } from "../../src/core/index-copy-time";
import type { JobView } from "../../src/core/job";
import { CHUNK_CHARS, upsertChunks, upsertJobs } from "../../src/index-store/upsert";
import { dueForIndex, markIndexed, postponeIndex } from "../../src/shard/sql/index-copy";
import { insertJob } from "../../src/shard/sql/submit";
import { toJobView } from "../../src/shard/sql/view";
import { env, inShard } from "../support/helpers";
import { newJobs } from "../support/new-job";

const T0 = Date.UTC(2030, 0, 1);

type Index = { id: string; version: number; indexed_version: number; index_due_at: number | null };

describe("the shard's index copy statements", () => {
  it("mark what D1 holds, keep a newer change pending, and postpone a failed write", async () => {
    const user = `usr_idx_${crypto.randomUUID()}`;
    const spec = newJobs(user, T0);
    const out = await inShard(user, (shard, state) => {
      const { db, timings } = shard.context;
      const rowsOf = () =>
        state.storage.sql
          .exec<Index>("select id, version, indexed_version, index_due_at from jobs order by id")
          .toArray();
      // Submitted a second apart, so each copy is due on its own point of the flush grid (the flush
      // delay's halves: src/core/index-copy-time.ts), one after another.
      for (const [i, id] of ["a", "b", "c"].entries()) insertJob(db, spec(id), undefined, T0 + i * 1_000);
      const dueOf = (i: number) => indexCopyDue(T0 + i * 1_000, timings.indexFlushDelayMs);
      // Copies pending per row: the rows at or below the index watermark, each changed at its time (a
      // new row's copy is pending by the watermark instead: index-watermark.test.ts).
      state.storage.sql.exec("update index_watermark set copied_through = (select max(rowid) from jobs)");
      for (const [i, id] of ["a", "b", "c"].entries())
        state.storage.sql.exec("update jobs set index_due_at = ? where id = ?", dueOf(i), id);
      const due = dueOf(2);
      const dueIds = (limit: number, now = due) => dueForIndex(db, now, limit).map((r) => r.id);
      const dueBefore = { all: dueIds(10), firstTwo: dueIds(2), early: dueIds(10, dueOf(0)) };
      // b changes again after its copy was read: D1 gets version 1 while the row is at 2.
      state.storage.sql.exec("update jobs set version = 2 where id = 'b'");
      const marked = shard.sqlMeter.measure(() =>
        markIndexed(db, [
          { id: "a", version: 1 },
          { id: "b", version: 1 },
          { id: "b", version: 0 },
        ]),
      );
      const afterMark = rowsOf();
      const again = shard.sqlMeter.measure(() => markIndexed(db, [{ id: "a", version: 1 }]));
      const postponed = shard.sqlMeter.measure(() => postponeIndex(db, ["a", "c"], T0 + 99_000));
      return {
        ...dueBefore,
        marked: marked.rows.sqlRowsWritten,
        afterMark,
        again: again.rows.sqlRowsWritten,
        postponed: postponed.rows.sqlRowsWritten,
        afterPostpone: rowsOf(),
        dueB: dueOf(1),
        dueC: dueOf(2),
      };
    });
    expect(out.all).toEqual(["a", "b", "c"]);
    expect(out.firstTwo).toEqual(["a", "b"]);
    expect(out.early).toEqual(["a"]);
    expect(out.afterMark).toEqual([
      { id: "a", version: 1, indexed_version: 1, index_due_at: null },
      // A newer change keeps its pending write; a job named twice counts with its higher version.
      { id: "b", version: 2, indexed_version: 1, index_due_at: out.dueB },
      { id: "c", version: 1, indexed_version: 0, index_due_at: out.dueC },
    ]);
    // As the contract says: a (its jobs_index_due entry leaves) 1, b (still pending) 2.
    expect(out.marked).toBe(3);
    expect(out.again).toBe(0);
    // 2 per job: the row and its jobs_index_due entry.
    expect(out.postponed).toBe(4);
    expect(out.afterPostpone.map((r) => [r.id, r.index_due_at])).toEqual([
      ["a", T0 + 99_000],
      ["b", out.dueB],
      ["c", T0 + 99_000],
    ]);
  });
});

/** A job view of `user` with a payload of `size` characters and two attempts. */
function bigView(user: string, id: string, size: number, status: JobView["status"]): JobView {
  const row = { ...newJobs(user, T0)(id, { payload: { blob: "x".repeat(size) } }) };
  const view = toJobView(
    {
      ...row,
      status,
      occurrenceAt: T0,
      currentRetries: 0,
      runs: 0,
      lastRunAt: null,
      createdAt: T0,
      updatedAt: T0,
      attempt: 2,
      occurrence: 0,
      dispatchMisses: 0,
      deadline: null,
      version: 1,
      indexedVersion: 0,
      indexDueAt: null,
      needsPools: false,
      result: null,
      lastError: null,
      extraRun: false,
      pendingPatch: null,
      lastAttemptNumber: null,
      lastAttemptOccurrence: null,
      lastAttemptStatus: null,
      lastAttemptScheduledAt: null,
      lastAttemptFinishedAt: null,
      lastAttemptError: null,
      lastAttemptResources: null,
      runDeadline: null,
      swept: null,
      flowKey: null,
      debounceKey: null,
      debounceFirstAt: null,
      resultsScoped: true,
    },
    [2, 1].map((number) => ({
      jobId: id,
      number,
      occurrence: 0,
      status: "failed" as const,
      scheduledAt: T0,
      startedAt: T0,
      finishedAt: T0,
      latenessMs: 0,
      error: "no",
      resources: {},
    })),
  );
  return view;
}

describe("upsertJobs", () => {
  it("splits a batch of large documents into statements D1 can bind, and lands every row", async () => {
    const user = `usr_idx_${crypto.randomUUID()}`;
    const views = ["j1", "j2", "j3"].map((id) => bigView(user, id, 250_000, "scheduled"));
    const chunks = upsertChunks(views.map((view) => ({ view, version: 1 })));
    expect(chunks.length).toBe(2);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(CHUNK_CHARS);
    expect(chunks.flatMap((c) => (JSON.parse(c) as { id: string }[]).map((e) => e.id))).toEqual([
      "j1",
      "j2",
      "j3",
    ]);

    await upsertJobs(
      env.INDEX_DB,
      views.map((view) => ({ view, version: 2 })),
    );
    // An older version arriving late changes nothing; a newer one moves the row.
    await upsertJobs(env.INDEX_DB, [
      { view: { ...(views[0] as JobView), status: "running" }, version: 1 },
      { view: { ...(views[1] as JobView), status: "succeeded" }, version: 3 },
    ]);
    const rows = (
      await env.INDEX_DB.prepare(
        "select job_id, status, version, created_at, type, doc from job_index where user_id = ? order by job_id",
      )
        .bind(user)
        .all<{
          job_id: string;
          status: string;
          version: number;
          created_at: number;
          type: string;
          doc: string;
        }>()
    ).results;
    expect(rows.map((r) => [r.job_id, r.status, r.version, r.created_at, r.type])).toEqual([
      ["j1", "scheduled", 2, T0, "noop"],
      ["j2", "succeeded", 3, T0, "noop"],
      ["j3", "scheduled", 2, T0, "noop"],
    ]);
    // The document is the job object, carrying only its latest attempt.
    const [first] = views as [JobView];
    expect(JSON.parse(rows[0]?.doc ?? "null")).toEqual({ ...first, attempts: first.attempts.slice(0, 1) });
    expect(first.attempts).toHaveLength(2);
  });
});
