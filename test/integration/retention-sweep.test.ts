// The retention sweep (src/shard/sql/retention-sweep.ts): a job that finishes within SWEEP_WITHIN_MS of
// its creation leaves jobs_wake (its finish writes no index entry) and is removed by a sweep in rowid
// order, one cursor per retention. What it must keep: no job removed before its time (its retention
// run out, rounded up to the retention's grid: src/core/removal-time.ts), none later than
// SWEEP_WITHIN_MS and a grid step after it, none lost (a retried one is claimed, a failed removal retried), and each
// retention on its own clock. Time moves with the shard's injected clock; alarms are fired on demand.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { removalGrid, removalTime } from "../../src/core/removal-time";
import { operationTotals, resetOperationTotals, sumOperations } from "../../src/metering/operations";
import { IN_WAKE } from "../../src/shard/schema";
import { SWEEP_WITHIN_MS } from "../../src/shard/sql/retention-sweep";
import {
  adminPatchUser,
  createUser,
  deliver,
  env,
  failingD1,
  getJob,
  inShard,
  queuedMessages,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const RETENTION_S = 60;
/** The removal time of a job of RETENTION_S finishing at `at`: on the retention's grid (6 s). */
const removalAt = (at: number) => removalTime(at, RETENTION_S);
const GRID = removalGrid(RETENTION_S);
/** A time well ahead of the wall clock, so the runtime fires no alarm of its own during a test. */
const T0 = Math.ceil((Date.now() + 3_600_000) / 60_000) * 60_000;

async function setRetention(user: TestUser, seconds: number) {
  expect((await adminPatchUser(user, { finished_retention_seconds: seconds })).status).toBe(200);
}

/** Noop jobs submitted at `at` (each dispatched at its submit), in order: their ids. */
async function submitAt(user: TestUser, at: number, n: number): Promise<string[]> {
  await setShardClock(user.user_id, at);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await submit(user, { type: "noop" })).body.id);
  return ids;
}

/** Runs the job's queued attempt at `at` (a noop: it begins and succeeds at once). */
async function runAt(user: TestUser, id: string, at: number) {
  await setShardClock(user.user_id, at);
  const message = (await queuedMessages(user.user_id)).filter((m) => m.job_id === id);
  expect(message).toHaveLength(1);
  await deliver(message);
  expect((await getJob(user, id)).status).toBe("succeeded");
}

/** The alarm at `at`, as the runtime would run it. */
async function alarmAt(user: TestUser, at: number) {
  await setShardClock(user.user_id, at);
  await runDurableObjectAlarm(shardOf(user.user_id));
}

type Row = { swept: number | null; deadline: number | null };

const rowOf = (user: TestUser, id: string) =>
  inShard(
    user.user_id,
    (_s, state) =>
      state.storage.sql.exec<Row>("select swept, deadline from jobs where id = ?", id).toArray()[0],
  );

const cursors = (user: TestUser) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ retention_seconds: number; sweep_at: number | null }>(
        "select retention_seconds, sweep_at from retention_sweeps order by retention_seconds",
      )
      .toArray(),
  );

const gone = async (user: TestUser, id: string) =>
  (await request(`/v1/jobs/${id}`, { headers: user.auth })).status === 404;

const indexed = async (id: string) =>
  (await env.INDEX_DB.prepare("select 1 from job_index where job_id = ?").bind(id).all()).results.length;

describe("the retention sweep", () => {
  it("leaves a job that finishes at once to the sweep, which removes it at its time, index row too", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const [id = ""] = await submitAt(user, T0, 1);
    await runAt(user, id, T0 + 1_000);
    // Swept: out of jobs_wake, its removal time kept in the row; the cursor comes for it then.
    expect(await rowOf(user, id)).toEqual({ swept: 1, deadline: removalAt(T0 + 1_000) });
    expect(await cursors(user)).toEqual([
      { retention_seconds: RETENTION_S, sweep_at: removalAt(T0 + 1_000) },
    ]);
    expect(
      await inShard(user.user_id, (_s, state) =>
        state.storage.sql
          .exec<{ n: number }>(
            `select count(*) as n from jobs indexed by jobs_wake where status = 'succeeded' and needs_pools = 0 and ${IN_WAKE}`,
          )
          .one(),
      ),
    ).toEqual({ n: 0 });
    await alarmAt(user, T0 + 5_000); // the index copy
    expect(await indexed(id)).toBe(1);

    // Not a moment early.
    await alarmAt(user, removalAt(T0 + 1_000) - 1);
    expect(await gone(user, id)).toBe(false);
    await alarmAt(user, removalAt(T0 + 1_000));
    expect(await gone(user, id)).toBe(true);
    expect(await indexed(id)).toBe(0);
    // Nothing swept is left: the cursor has no time, and the shard nothing to wake for.
    expect(await cursors(user)).toEqual([{ retention_seconds: RETENTION_S, sweep_at: null }]);
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeNull();
  });

  it("removes the jobs that finish within one grid step in one alarm run, at the step's end", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const ids = await submitAt(user, T0, 3);
    // Finished 1, 3 and 5 s into the minute: one grid step (6 s for a minute's retention).
    for (const [i, id] of ids.entries()) await runAt(user, id, T0 + 1_000 + i * 2_000);
    await alarmAt(user, T0 + 10_000); // their index copies
    const removal = removalAt(T0 + 1_000);
    expect(removal).toBe(T0 + RETENTION_S * 1000 + GRID);
    for (const id of ids) expect((await rowOf(user, id))?.deadline).toBe(removal);
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBe(removal);
    // The last one's retention ran out only at T0 + 65 s, so nothing goes before the grid point.
    await alarmAt(user, removal - 1);
    for (const id of ids) expect(await gone(user, id)).toBe(false);
    await setShardClock(user.user_id, removal);
    resetOperationTotals();
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(sumOperations(operationTotals()).doRequests).toBe(1);
    for (const id of ids) expect(await gone(user, id)).toBe(true);
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeNull();
  });

  it("removes a job no later than SWEEP_WITHIN_MS after its time when an older one finished after it", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    // A job finished before them made the cursor (just below itself): later rows can be swept.
    const [earlier = ""] = await submitAt(user, T0 - 10_000, 1);
    await runAt(user, earlier, T0 - 9_000);
    const [older = "", newer = ""] = await submitAt(user, T0, 2);
    await runAt(user, newer, T0 + 1_000);
    await runAt(user, older, T0 + 30_000);
    expect((await rowOf(user, older))?.swept).toBe(1);
    expect((await rowOf(user, newer))?.swept).toBe(1);
    // At the newer job's time the sweep meets the older one first, not yet due, and stops there: the
    // newer job waits for it (24 s here, at most SWEEP_WITHIN_MS + GRID by construction).
    await alarmAt(user, removalAt(T0 + 1_000));
    expect(await gone(user, earlier)).toBe(true);
    expect(await gone(user, newer)).toBe(false);
    expect(await cursors(user)).toEqual([
      { retention_seconds: RETENTION_S, sweep_at: removalAt(T0 + 30_000) },
    ]);
    await alarmAt(user, removalAt(T0 + 30_000));
    expect(await gone(user, older)).toBe(true);
    expect(await gone(user, newer)).toBe(true);
    expect(removalAt(T0 + 30_000)).toBeLessThanOrEqual(removalAt(T0 + 1_000) + SWEEP_WITHIN_MS + GRID);
  });

  it("keeps the entry of a job that finishes later than SWEEP_WITHIN_MS after its creation", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const [slow = ""] = await submitAt(user, T0, 1);
    const finishedAt = T0 + SWEEP_WITHIN_MS + 1;
    await runAt(user, slow, finishedAt);
    expect(await rowOf(user, slow)).toEqual({ swept: null, deadline: removalAt(finishedAt) });
    await alarmAt(user, removalAt(finishedAt) - 1);
    expect(await gone(user, slow)).toBe(false);
    await alarmAt(user, removalAt(finishedAt));
    expect(await gone(user, slow)).toBe(true);
  });

  it("claims a swept job that is retried, and the retried job is removed at its own time", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    await setShardClock(user.user_id, T0);
    const { body: job } = await submit(user, { type: "noop", max_retries: 0 });
    const shard = shardOf(user.user_id);
    await setShardClock(user.user_id, T0 + 1_000);
    await shard.begin(job.id, 1);
    await shard.finish(job.id, 1, { outcome: { ok: false }, error: "boom" });
    expect(await rowOf(user, job.id)).toMatchObject({ swept: 1 });

    // Retried long after: unfinished again, so in jobs_wake whatever `swept` says, and claimed.
    const retriedAt = T0 + 10 * 60_000;
    await setShardClock(user.user_id, retriedAt);
    const out = await request(`/v1/jobs/${job.id}/retry`, { method: "POST", headers: user.auth });
    expect(out.status).toBe(200);
    await alarmAt(user, retriedAt + 1_000);
    const sent = await queuedMessages(user.user_id);
    expect(sent).toEqual([{ user_id: user.user_id, job_id: job.id, attempt: 2 }]);
    await deliver(sent);
    expect((await getJob(user, job.id)).status).toBe("succeeded");
    // It ended long after its creation: its entry, and its removal exactly at its time.
    const row = await rowOf(user, job.id);
    expect(row?.swept).toBeNull();
    const removal = row?.deadline ?? 0;
    await alarmAt(user, removal - 1);
    expect(await gone(user, job.id)).toBe(false);
    await alarmAt(user, removal);
    expect(await gone(user, job.id)).toBe(true);
  });

  it("sweeps each retention on its own: a lowered retention removes new jobs at their time", async () => {
    const user = await createUser();
    const [kept = ""] = await submitAt(user, T0, 1);
    await runAt(user, kept, T0 + 1_000); // the default retention, 7 days
    await setRetention(user, RETENTION_S);
    const [brief = ""] = await submitAt(user, T0 + 2_000, 1);
    await runAt(user, brief, T0 + 3_000);
    expect((await rowOf(user, kept))?.swept).toBe(1);
    expect((await rowOf(user, brief))?.swept).toBe(1);
    expect((await cursors(user)).map((c) => c.retention_seconds)).toEqual([RETENTION_S, 604_800]);
    // The older job's week does not hold the newer one back.
    await alarmAt(user, removalAt(T0 + 3_000));
    expect(await gone(user, brief)).toBe(true);
    expect(await gone(user, kept)).toBe(false);
    await alarmAt(user, removalTime(T0 + 1_000, 604_800));
    expect(await gone(user, kept)).toBe(true);
  });

  it("gives a job whose removal failed its entry back, and removes it when the index is back", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    const [a = "", b = ""] = await submitAt(user, T0, 2);
    await runAt(user, a, T0 + 1_000);
    await runAt(user, b, T0 + 2_000);
    await alarmAt(user, T0 + 5_000); // their index copies
    await inShard(user.user_id, (shard) => {
      const guts = shard as unknown as { env: typeof env };
      guts.env = { ...guts.env, INDEX_DB: failingD1 };
    });
    await alarmAt(user, removalAt(T0 + 2_000));
    expect(await gone(user, a)).toBe(false);
    // Back in jobs_wake, due again a minute later; the cursor went past them.
    expect((await rowOf(user, a))?.swept).toBeNull();
    expect((await rowOf(user, b))?.swept).toBeNull();
    expect(await cursors(user)).toEqual([{ retention_seconds: RETENTION_S, sweep_at: null }]);
    await inShard(user.user_id, (shard) => {
      const guts = shard as unknown as { env: typeof env };
      guts.env = env;
    });
    const retryAt = (await rowOf(user, a))?.deadline ?? 0;
    await alarmAt(user, retryAt);
    expect(await gone(user, a)).toBe(true);
    expect(await gone(user, b)).toBe(true);
    expect(await indexed(a)).toBe(0);
  });

  it("removes every job of a shuffled run within [its time, its time + SWEEP_WITHIN_MS + GRID]", async () => {
    const user = await createUser();
    await setRetention(user, RETENTION_S);
    // A fixed shuffle (no randomness in CI): 24 jobs created 2 s apart, each finishing 0-58 s after
    // its creation, so finishes interleave out of rowid order.
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(...(await submitAt(user, T0 + i * 2_000, 1)));
    const finishAt = ids.map((_, i) => T0 + i * 2_000 + ((i * 37) % 30) * 2_000);
    const order = ids.map((id, i) => ({ id, at: finishAt[i] ?? 0 })).sort((x, y) => x.at - y.at);
    for (const { id, at } of order) await runAt(user, id, at);
    for (const id of ids) expect((await rowOf(user, id))?.swept).toBe(1);

    const removedAt = new Map<string, number>();
    const first = removalAt(Math.min(...finishAt));
    const last = removalAt(Math.max(...finishAt)) + SWEEP_WITHIN_MS + GRID;
    for (let t = first - 5_000; t <= last && removedAt.size < ids.length; t += 1_000) {
      await alarmAt(user, t);
      const left = await inShard(user.user_id, (_s, state) =>
        state.storage.sql
          .exec<{ id: string }>("select id from jobs where status = 'succeeded'")
          .toArray()
          .map((r) => r.id),
      );
      for (const id of ids) if (!left.includes(id) && !removedAt.has(id)) removedAt.set(id, t);
    }
    ids.forEach((id, i) => {
      const due = removalAt(finishAt[i] ?? 0);
      const at = removedAt.get(id);
      expect(at, id).toBeDefined();
      expect(at ?? 0, id).toBeGreaterThanOrEqual(due);
      expect(at ?? 0, id).toBeLessThanOrEqual(due + SWEEP_WITHIN_MS + GRID);
    });
  });
});

describe("CHECK_QUERY_PLANS (on in the tests)", () => {
  it("throws for a shard statement that would scan the jobs table, and lets an indexed one run", async () => {
    const user = await createUser();
    await submit(user, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
    const outcome = await inShard(user.user_id, (shard) => {
      const sql = shard.sqlMeter.storageForQueries().sql;
      const indexed = sql
        .exec(`select count(*) as n from jobs where status = 'scheduled' and ${IN_WAKE}`)
        .one();
      try {
        // The same count without IN_WAKE: SQLite cannot use the partial jobs_wake index for it.
        sql.exec("select count(*) as n from jobs where status = 'scheduled'").one();
        return { indexed, scanned: "ran" };
      } catch (err) {
        return { indexed, scanned: String(err) };
      }
    });
    expect(outcome.indexed).toEqual({ n: 1 });
    expect(outcome.scanned).toMatch(/a shard query scans the jobs table/);
  });
});
