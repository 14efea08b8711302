// Index copies by watermark (src/shard/sql/index-copy.ts, docs/architecture.md "Index copies by
// watermark"): a new job's copy is pending because its row is above the shard's watermark W, with no
// per-row write; the alarm copies the rows above W in rowid order once their copy time has come and
// moves W past them with one row written. Each test runs the shard's clock a minute ahead of the wall
// clock (on a whole second: the copy grid), so the runtime never fires an alarm by itself mid-test.
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { indexCopyDue } from "../../src/core/index-copy-time";
import { removalTime } from "../../src/core/removal-time";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import { cancel } from "../../src/shard/sql/attempts";
import { nextWakeAt } from "../../src/shard/sql/dispatch";
import { advanceWatermark, newRowsDue, readWatermark } from "../../src/shard/sql/index-copy";
import { insertJob } from "../../src/shard/sql/submit";
import {
  adminPatchUser,
  copyPending,
  createUser,
  env,
  failingD1,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
  WATERMARK,
  withShardBindings,
} from "../support/helpers";
import { newJobs } from "../support/new-job";

const FLUSH_MS = 2000;
/** Far ahead: the jobs stay scheduled, so an alarm run does nothing but the index's work. */
const LATER = "2030-06-01T00:00:00Z";

const start = () => Math.ceil(Date.now() / 1000) * 1000 + 60_000;

type Row = { rowid: number; version: number; indexed_version: number; index_due_at: number | null };

const rowOf = (userId: string, jobId: string) =>
  inShard(userId, (_s, state) =>
    state.storage.sql
      .exec<Row>("select rowid, version, indexed_version, index_due_at from jobs where id = ?", jobId)
      .one(),
  );

const watermarkOf = (userId: string) =>
  inShard(userId, (_s, state) =>
    state.storage.sql
      .exec<{ w: number; retry: number | null }>(
        `select ${WATERMARK} as w, (select retry_at from index_watermark where id = 0) as retry`,
      )
      .one(),
  );

const alarmOf = (userId: string) => inShard(userId, (_s, state) => state.storage.getAlarm());

const indexed = (jobId: string) =>
  env.INDEX_DB.prepare("select status, version from job_index where job_id = ?")
    .bind(jobId)
    .first<{ status: string; version: number }>();

/** Moves the shard's clock to `at` and runs its alarm there, as the runtime would. */
async function alarmAt(userId: string, at: number) {
  await setShardClock(userId, at);
  await runDurableObjectAlarm(shardOf(userId));
}

async function listed(user: TestUser): Promise<{ id: string; status: string }[]> {
  const res = await request("/v1/jobs?limit=100", { headers: user.auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { jobs: { id: string; status: string }[] }).jobs;
}

describe("index copies by watermark", () => {
  it("copies a new job at its copy time without writing its row, and lists it", async () => {
    const user = await createUser();
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const { body: job } = await submit(user, { type: "noop", run_at: LATER });
    const before = await rowOf(user.user_id, job.id);
    // No per-row pending copy: the row is above the watermark.
    expect(before.index_due_at).toBeNull();
    expect((await watermarkOf(user.user_id)).w).toBeLessThan(before.rowid);
    expect(await alarmOf(user.user_id)).toBe(t0 + FLUSH_MS);

    // Early (harmless): nothing is copied before the copy time.
    await alarmAt(user.user_id, t0 + FLUSH_MS - 1);
    expect(await indexed(job.id)).toBeNull();
    expect(await alarmOf(user.user_id)).toBe(t0 + FLUSH_MS);

    resetOperationTotals();
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    expect(await indexed(job.id)).toEqual({ status: "scheduled", version: before.version });
    // The copy wrote the watermark's row alone: the job row is as the submit left it.
    expect(operationTotals().index).toMatchObject({ doRequests: 1, sqlRowsWritten: 1, d1RowsWritten: 1 });
    expect(await rowOf(user.user_id, job.id)).toEqual(before);
    expect(await watermarkOf(user.user_id)).toEqual({ w: before.rowid, retry: null });
    expect(await inShard(user.user_id, (_s, state) => copyPending(state.storage.sql))).toBe(false);
    expect((await listed(user)).map((j) => j.id)).toEqual([job.id]);
  });

  it("copies a job changed after its watermark copy again, with its new status", async () => {
    const user = await createUser();
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const { body: job } = await submit(user, { type: "noop", run_at: LATER });
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    expect((await indexed(job.id))?.status).toBe("scheduled");

    // Now at or below the watermark: a settled change schedules a per-row copy (index_due_at).
    await setShardClock(user.user_id, t0 + 3_000);
    expect((await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: user.auth })).status).toBe(200);
    const changed = await rowOf(user.user_id, job.id);
    expect(changed.index_due_at).toBe(indexCopyDue(t0 + 3_000, FLUSH_MS));
    expect(await alarmOf(user.user_id)).toBe(changed.index_due_at);
    await alarmAt(user.user_id, changed.index_due_at ?? 0);
    expect(await indexed(job.id)).toEqual({ status: "cancelled", version: changed.version });
    expect((await rowOf(user.user_id, job.id)).index_due_at).toBeNull();
    expect(await listed(user)).toEqual([expect.objectContaining({ id: job.id, status: "cancelled" })]);
  });

  it("copies a batch of new jobs in one alarm run that writes the watermark once", async () => {
    const user = await createUser();
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await submit(user, { type: "noop", run_at: LATER })).body.id);
    resetOperationTotals();
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    // 20 jobs copied: one D1 statement's 20 rows, and one SQLite row written (not 20 job rows).
    expect(operationTotals().index).toMatchObject({ doRequests: 1, sqlRowsWritten: 1, d1RowsWritten: 20 });
    expect((await listed(user)).map((j) => j.id).sort()).toEqual([...ids].sort());
    const rows = await Promise.all(ids.map((id) => rowOf(user.user_id, id)));
    expect(rows.map((r) => r.indexed_version)).toEqual(ids.map(() => 0));
    expect((await watermarkOf(user.user_id)).w).toBe(Math.max(...rows.map((r) => r.rowid)));
  });

  it("copies only the new rows whose copy time has come, in rowid order", async () => {
    const user = await createUser();
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const { body: first } = await submit(user, { type: "noop", run_at: LATER });
    await setShardClock(user.user_id, t0 + 1_000);
    const { body: second } = await submit(user, { type: "noop", run_at: LATER });
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    expect(await indexed(first.id)).not.toBeNull();
    expect(await indexed(second.id)).toBeNull();
    expect((await watermarkOf(user.user_id)).w).toBe((await rowOf(user.user_id, first.id)).rowid);
    // The next new row's copy time: a half-delay later on the grid.
    expect(await alarmOf(user.user_id)).toBe(indexCopyDue(t0 + 1_000, FLUSH_MS));
    await alarmAt(user.user_id, indexCopyDue(t0 + 1_000, FLUSH_MS));
    expect(await indexed(second.id)).not.toBeNull();
  });

  it("reused rowids: removing the newest rows lowers the watermark, and a new job is still copied", async () => {
    const user = await createUser();
    const retention = await adminPatchUser(user, { finished_retention_seconds: 60 });
    expect(retention.status).toBe(200);
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const { body: old } = await submit(user, { type: "noop", run_at: LATER });
    const { body: a } = await submit(user, { type: "noop", run_at: LATER });
    const { body: b } = await submit(user, { type: "noop", run_at: LATER });
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    const copiedThrough = (await watermarkOf(user.user_id)).w;
    expect(copiedThrough).toBe((await rowOf(user.user_id, b.id)).rowid);

    // The two newest jobs finish, are copied, and are removed after their retention.
    await setShardClock(user.user_id, t0 + 3_000);
    for (const id of [a.id, b.id])
      expect((await request(`/v1/jobs/${id}`, { method: "DELETE", headers: user.auth })).status).toBe(200);
    await alarmAt(user.user_id, indexCopyDue(t0 + 3_000, FLUSH_MS));
    expect((await indexed(b.id))?.status).toBe("cancelled");
    resetOperationTotals();
    await alarmAt(user.user_id, removalTime(t0 + 3_000, 60));
    expect(await indexed(a.id)).toBeNull();
    expect(await indexed(b.id)).toBeNull();
    // W is the new max(rowid), lowered in the removal's own transaction: one row more for the batch
    // (the jobs' deletes, the watermark; the cancels' metrics minute is younger than its prune).
    const oldRowid = (await rowOf(user.user_id, old.id)).rowid;
    expect((await watermarkOf(user.user_id)).w).toBe(oldRowid);
    expect(operationTotals().retention?.sqlRowsWritten).toBe(2 + 1);

    // SQLite gives the next row max(rowid) + 1: a rowid the removed jobs had, at or below the old W.
    await setShardClock(user.user_id, t0 + 70_000);
    const { body: c } = await submit(user, { type: "noop", run_at: LATER });
    const reused = (await rowOf(user.user_id, c.id)).rowid;
    expect(reused).toBeLessThanOrEqual(copiedThrough);
    expect(reused).toBeGreaterThan(oldRowid);
    expect(await alarmOf(user.user_id)).toBe(indexCopyDue(t0 + 70_000, FLUSH_MS));
    await alarmAt(user.user_id, indexCopyDue(t0 + 70_000, FLUSH_MS));
    expect((await indexed(c.id))?.status).toBe("scheduled");
    expect((await listed(user)).map((j) => j.id).sort()).toEqual([old.id, c.id].sort());
  });

  it("a failed D1 write keeps the new rows pending, retries 5 s later without spinning, and lands", async () => {
    const user = await createUser();
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const { body: job } = await submit(user, { type: "noop", run_at: LATER });
    const before = await watermarkOf(user.user_id);
    await withShardBindings(user.user_id, { INDEX_DB: failingD1 });
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    // W stays; the retry time is set, and the alarm waits for it (INDEX_RETRY_MS, src/shard/outbound.ts).
    expect(await watermarkOf(user.user_id)).toEqual({ w: before.w, retry: t0 + FLUSH_MS + 5_000 });
    expect(await alarmOf(user.user_id)).toBe(t0 + FLUSH_MS + 5_000);
    expect(await indexed(job.id)).toBeNull();
    // Still failing at the retry: tried again 5 s after that.
    await alarmAt(user.user_id, t0 + FLUSH_MS + 5_000);
    expect(await alarmOf(user.user_id)).toBe(t0 + FLUSH_MS + 10_000);

    // D1 is back (a fresh instance has the real binding).
    await abortAllDurableObjects();
    await alarmAt(user.user_id, t0 + FLUSH_MS + 10_000);
    expect((await indexed(job.id))?.status).toBe("scheduled");
    expect(await watermarkOf(user.user_id)).toEqual({
      w: (await rowOf(user.user_id, job.id)).rowid,
      retry: null,
    });
  });

  it("after a restart (fresh object state) the new rows' copy is still due and lands", async () => {
    const user = await createUser();
    const t0 = start();
    await setShardClock(user.user_id, t0);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit(user, { type: "noop", run_at: LATER })).body.id);
    await abortAllDurableObjects();
    // Nothing in memory: the alarm is stored, and SQLite alone says when the copy is due.
    expect(await alarmOf(user.user_id)).toBe(t0 + FLUSH_MS);
    expect(
      await inShard(user.user_id, (shard) => nextWakeAt(shard.context.db, t0 + 1, false, FLUSH_MS)),
    ).toBe(t0 + FLUSH_MS);
    await alarmAt(user.user_id, t0 + FLUSH_MS);
    for (const id of ids) expect((await indexed(id))?.status).toBe("scheduled");
  });

  it("nextWakeAt's copy time in SQL is indexCopyDue of the first new row's created_at", async () => {
    const user = `usr_wm_${crypto.randomUUID()}`;
    const T = Date.UTC(2030, 0, 1);
    const spec = newJobs(user, Date.UTC(2035, 0, 1));
    const out = await inShard(user, (shard) => {
      const { db } = shard.context;
      const times = [T + 1, T + 499, T + 500, T + 999, T + 1_000, T + 1_777];
      return times.map((created, i) => {
        insertJob(db, spec(`j${i}`), undefined, created);
        const wake = (delay: number) => nextWakeAt(db, created, false, delay);
        // Only this row is above the watermark: advance it past the ones before.
        const result = { created, wakes: [0, 1, 2, 2_000, 3_001].map(wake) };
        const w = readWatermark(db).copiedThrough;
        const { through, rows } = newRowsDue(db, w, created + 10_000, 2_000, 50);
        advanceWatermark(db, through ?? w, rows, 0);
        return result;
      });
    });
    for (const { created, wakes } of out)
      expect(wakes).toEqual([0, 1, 2, 2_000, 3_001].map((delay) => indexCopyDue(created, delay)));
  });

  it("a change made while the copy awaited D1 stays pending when the watermark passes its row", async () => {
    const user = `usr_wm_${crypto.randomUUID()}`;
    const T = Date.UTC(2030, 0, 1);
    const spec = newJobs(user, Date.UTC(2035, 0, 1));
    const out = await inShard(user, (shard, state) => {
      const { db, timings } = shard.context;
      insertJob(db, spec("a"), undefined, T);
      insertJob(db, spec("b"), undefined, T);
      const w = readWatermark(db).copiedThrough;
      // The copy reads both rows, then (while its D1 write is in flight) b is cancelled.
      const fresh = newRowsDue(db, w, T + FLUSH_MS, FLUSH_MS, 50);
      const cancelled = cancel(db, "b", T + 2_100, timings);
      const dueWhileAbove = state.storage.sql
        .exec<{ d: number | null }>("select index_due_at as d from jobs where id = 'b'")
        .one().d;
      const due = indexCopyDue(T + 2_200, FLUSH_MS);
      const advanced = shard.sqlMeter.measure(() =>
        advanceWatermark(db, fresh.through ?? w, fresh.rows, due),
      );
      return {
        read: fresh.rows.map((r) => r.id),
        cancelled: cancelled.ok,
        dueWhileAbove,
        written: advanced.rows.sqlRowsWritten,
        rows: state.storage.sql
          .exec<{ id: string; d: number | null; above: number }>(
            `select id, index_due_at as d, rowid > ${WATERMARK} as above from jobs order by id`,
          )
          .toArray(),
        due,
      };
    });
    expect(out.read).toEqual(["a", "b"]);
    expect(out.cancelled).toBe(true);
    // Above the watermark when it changed: no per-row copy then (the copy pending by W carries it)...
    expect(out.dueWhileAbove).toBeNull();
    // ...and once the watermark passes it, its change is pending by index_due_at: not lost.
    expect(out.rows).toEqual([
      { id: "a", d: null, above: 0 },
      { id: "b", d: out.due, above: 0 },
    ]);
    // The watermark's row, and b's row with its jobs_index_due entry.
    expect(out.written).toBe(1 + 2);
  });
});
