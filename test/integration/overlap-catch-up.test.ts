// Overlap and catch-up of recurring jobs through the Worker and the real shard (docs/design.md
// "Recurring jobs: overlap and catch-up"; docs/architecture.md "Overlap and catch-up"). A job every 2 s
// whose attempt takes 5 s: the attempt is held open by calling the shard's begin and finish RPCs as a
// consumer would, and time moves only through the shard's clock and alarm.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import {
  createUser,
  fireAlarm,
  getJob,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

const S = 1000;

/** A start on a whole second, far enough ahead that the API keeps the run_at given. */
const start = () => Math.ceil((Date.now() + 60 * S) / S) * S;

type Row = {
  status: string;
  attempt: number;
  occurrence: number;
  occurrence_at: number;
  run_at: number;
  deadline: number | null;
  runs: number;
};

/** The job's row as readers see it (a begun one-row form reads running: begun.ts). */
function row(user: TestUser, id: string): Promise<Row> {
  return inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<Row>(
        `select case when status = 'queued' and run_deadline is not null then 'running' else status end as status,
           attempt, occurrence, occurrence_at, run_at,
           case when status = 'queued' and run_deadline is not null then run_deadline else deadline end as deadline,
           runs from jobs where id = ?`,
        id,
      )
      .one(),
  );
}

/** Fires the alarm at `t` and answers the attempts it sent. */
async function alarmAt(user: TestUser, t: number) {
  await setShardClock(user.user_id, t);
  return fireAlarm(user.user_id);
}

async function beginAt(user: TestUser, t: number, id: string, attempt: number) {
  await setShardClock(user.user_id, t);
  const begun = await shardOf(user.user_id).begin(id, attempt);
  if (!begun.ok) throw new Error(`begin refused: ${begun.reason}`);
  // The webhook id's occurrence the consumer was given (RPC stubs do not narrow on ok).
  return { occurrence: (begun as unknown as { occurrence: number }).occurrence };
}

async function finishAt(user: TestUser, t: number, id: string, attempt: number) {
  await setShardClock(user.user_id, t);
  return shardOf(user.user_id).finish(id, attempt, { outcome: { ok: true } });
}

async function recurring(user: TestUser, t0: number, fields: Record<string, unknown>): Promise<JobView> {
  const { status, body } = await submit(user, {
    type: "noop",
    interval_seconds: 2,
    run_at: new Date(t0).toISOString(),
    ...fields,
  });
  expect(status).toBe(201);
  return body;
}

async function control(user: TestUser, id: string, action: "pause" | "resume") {
  const res = await request(`/v1/jobs/${id}/${action}`, { method: "POST", headers: user.auth });
  expect(res.status).toBe(200);
  return (await res.json()) as JobView;
}

async function poolInUse(user: TestUser): Promise<number> {
  const res = await request("/v1/pools", { headers: user.auth });
  const { pools } = (await res.json()) as { pools: { name: string; in_use: number }[] };
  return pools.find((p) => p.name === "slots")?.in_use ?? -1;
}

describe("fields", () => {
  it("shows the defaults on every job, and the given values on a recurring one", async () => {
    const user = await createUser();
    const { body: once } = await submit(user, { type: "noop" });
    expect(once).toMatchObject({ overlap: "skip", catch_up: "none", catch_up_window_seconds: 3600 });
    const t0 = start();
    const job = await recurring(user, t0, {
      overlap: "buffer_one",
      catch_up: "all",
      catch_up_window_seconds: 60,
    });
    expect(job).toMatchObject({ overlap: "buffer_one", catch_up: "all", catch_up_window_seconds: 60 });
    expect(await getJob(user, job.id)).toMatchObject({ overlap: "buffer_one", catch_up: "all" });
  });

  it("refuses bad values with a clear path, creating nothing", async () => {
    const user = await createUser();
    const bad: [Record<string, unknown>, string][] = [
      [{ overlap: "queue" }, "overlap"],
      [{ catch_up: "some" }, "catch_up"],
      [{ catch_up_window_seconds: 0 }, "catch_up_window_seconds"],
      [{ catch_up_window_seconds: 604_801 }, "catch_up_window_seconds"],
      [{ catch_up_window_seconds: 1.5 }, "catch_up_window_seconds"],
    ];
    for (const [fields, path] of bad) {
      const { status, body } = await submit(user, { type: "noop", interval_seconds: 60, ...fields });
      expect(status, JSON.stringify(fields)).toBe(400);
      const details = (body as unknown as { error: { details: { path: string }[] } }).error.details;
      expect(details.map((d) => d.path)).toContain(path);
    }
    // Only for recurring jobs.
    for (const [fields, path] of [
      [{ overlap: "buffer_one" }, "overlap"],
      [{ catch_up: "one" }, "catch_up"],
    ] as const) {
      const { status, body } = await submit(user, { type: "noop", ...fields });
      expect(status).toBe(400);
      const { details } = (body as unknown as { error: { details: { path: string; message: string }[] } })
        .error;
      expect(details).toEqual([{ path, message: expect.stringContaining("only to recurring jobs") }]);
    }
    const list = await request("/v1/jobs", { headers: user.auth });
    expect(((await list.json()) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it("PATCH sets them by the same rules, and a bad value changes nothing", async () => {
    const user = await createUser();
    const job = await recurring(user, start(), {});
    const patch = (body: unknown) =>
      request(`/v1/jobs/${job.id}`, { method: "PATCH", headers: user.auth, json: body });
    const ok = await patch({ overlap: "cancel_other", catch_up: "one", catch_up_window_seconds: 120 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      overlap: "cancel_other",
      catch_up: "one",
      catch_up_window_seconds: 120,
    });
    const bad = await patch({ overlap: "cancel_other", catch_up: "every" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe(
      "catch_up",
    );
    // Making it one-shot while it says buffer_one is refused (the rule needs the stored job: the shard).
    const oneShot = await patch({ interval_seconds: null });
    expect(oneShot.status).toBe(400);
    expect(((await oneShot.json()) as { error: { details: { path: string }[] } }).error.details).toEqual([
      { path: "overlap", message: expect.stringContaining("only to recurring jobs") },
      { path: "catch_up", message: expect.stringContaining("only to recurring jobs") },
    ]);
    expect(await getJob(user, job.id)).toMatchObject({
      interval_seconds: 2,
      overlap: "cancel_other",
      catch_up: "one",
      catch_up_window_seconds: 120,
    });
  });
});

describe("overlap: every 2 s, each attempt takes 5 s", () => {
  it("skip: never overlaps; occurrences due while it ran are skipped", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0, {});
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    await beginAt(user, t0, job.id, m.attempt);
    // 2 s and 4 s come due while it runs: nothing is sent.
    expect(await alarmAt(user, t0 + 2 * S)).toEqual([]);
    expect(await alarmAt(user, t0 + 4 * S)).toEqual([]);
    expect((await finishAt(user, t0 + 5 * S, job.id, m.attempt)).ok).toBe(true);
    expect(await row(user, job.id)).toMatchObject({ status: "scheduled", run_at: t0 + 6 * S, runs: 1 });
    expect(await alarmAt(user, t0 + 5 * S)).toEqual([]);
    expect((await alarmAt(user, t0 + 6 * S)).map((x) => x.job_id)).toEqual([job.id]);
  });

  it("buffer_one: runs once right after, never more than one buffered, then follows the grid", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0, { overlap: "buffer_one" });
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    const first = await beginAt(user, t0, job.id, m.attempt);
    expect(await alarmAt(user, t0 + 2 * S)).toEqual([]);
    expect(await alarmAt(user, t0 + 4 * S)).toEqual([]);
    await finishAt(user, t0 + 5 * S, job.id, m.attempt);
    // 2 s and 4 s came due while it ran: one run now, serving 4 s.
    expect(await row(user, job.id)).toMatchObject({
      status: "scheduled",
      run_at: t0 + 5 * S,
      occurrence_at: t0 + 4 * S,
      runs: 1,
    });
    const sent = await alarmAt(user, t0 + 5 * S);
    expect(sent.map((x) => x.job_id)).toEqual([job.id]);
    const buffered = await beginAt(user, t0 + 5 * S, job.id, sent[0]?.attempt ?? 0);
    expect(buffered.occurrence).toBe(first.occurrence + 1);
    // It too takes 5 s: 6 s and 8 s come due meanwhile; once it ends, one more runs (serving 8 s).
    expect(await alarmAt(user, t0 + 8 * S)).toEqual([]);
    await finishAt(user, t0 + 10 * S, job.id, sent[0]?.attempt ?? 0);
    expect(await row(user, job.id)).toMatchObject({
      run_at: t0 + 10 * S,
      occurrence_at: t0 + 10 * S,
      runs: 2,
    });
    // A quick one (ends before the next nominal): the grid goes on, nothing buffered.
    const [q] = await alarmAt(user, t0 + 10 * S);
    if (!q) throw new Error("not dispatched");
    await beginAt(user, t0 + 10 * S, job.id, q.attempt);
    await finishAt(user, t0 + 11 * S, job.id, q.attempt);
    expect(await row(user, job.id)).toMatchObject({
      run_at: t0 + 12 * S,
      occurrence_at: t0 + 12 * S,
      runs: 3,
    });
  });

  it("cancel_other: the next occurrence cancels the running attempt, fences it and releases its units", async () => {
    const user = await createUser();
    await request("/v1/pools/slots", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const t0 = start();
    const job = await recurring(user, t0, { overlap: "cancel_other", resources: { slots: 1 } });
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    // Claimed: its dispatch lease is capped by the next nominal time.
    expect((await row(user, job.id)).deadline).toBeLessThanOrEqual(t0 + 2 * S);
    const first = await beginAt(user, t0, job.id, m.attempt);
    expect((await row(user, job.id)).deadline).toBe(t0 + 2 * S);
    // A heartbeat does not push the deadline past the next nominal time.
    await setShardClock(user.user_id, t0 + 1 * S);
    expect(await shardOf(user.user_id).heartbeat(job.id, m.attempt)).toEqual({ ok: true });
    expect((await row(user, job.id)).deadline).toBe(t0 + 2 * S);
    expect(await poolInUse(user)).toBe(1);
    // 2 s: the attempt is cancelled and the new occurrence goes out in the same alarm run.
    const sent = await alarmAt(user, t0 + 2 * S);
    expect(sent.map((x) => x.job_id)).toEqual([job.id]);
    const next = sent[0]?.attempt ?? 0;
    expect(next).toBeGreaterThan(m.attempt);
    // The pool's one unit moved to the new attempt: the old one's was released.
    expect(await poolInUse(user)).toBe(1);
    const view = await getJob(user, job.id);
    expect(view.attempts[0]).toMatchObject({
      number: m.attempt,
      status: "cancelled",
      error: "cancelled: the next occurrence started (overlap: cancel_other)",
    });
    expect(view.runs).toBe(1);
    // The old attempt's heartbeat and report are refused (stale) and change nothing.
    await setShardClock(user.user_id, t0 + 5 * S);
    expect(await shardOf(user.user_id).heartbeat(job.id, m.attempt)).toEqual({ ok: false, reason: "stale" });
    expect(await finishAt(user, t0 + 5 * S, job.id, m.attempt)).toEqual({ ok: false, reason: "stale" });
    // The new occurrence has its own webhook id.
    const second = await beginAt(user, t0 + 2 * S, job.id, next);
    expect(second.occurrence).toBe(first.occurrence + 1);
    expect((await row(user, job.id)).occurrence_at).toBe(t0 + 2 * S);
    // It too is cancelled at 4 s by the one after it.
    expect((await alarmAt(user, t0 + 4 * S)).map((x) => x.job_id)).toEqual([job.id]);
    expect(await finishAt(user, t0 + 5 * S, job.id, next)).toEqual({ ok: false, reason: "stale" });
    expect(await poolInUse(user)).toBe(1);
  });

  it("cancel_other: a claim not yet begun is withdrawn too (its message is refused at begin)", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0, { overlap: "cancel_other" });
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    const [n] = await alarmAt(user, t0 + 2 * S);
    if (!n) throw new Error("not dispatched");
    expect(n.attempt).toBeGreaterThan(m.attempt);
    await setShardClock(user.user_id, t0 + 2 * S);
    expect(await shardOf(user.user_id).begin(job.id, m.attempt)).toEqual({ ok: false, reason: "stale" });
    expect((await shardOf(user.user_id).begin(job.id, n.attempt)).ok).toBe(true);
  });

  it("cancel_other: a paused job's running attempt is not replaced; its lease goes on", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0, { overlap: "cancel_other" });
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    await beginAt(user, t0, job.id, m.attempt);
    expect((await row(user, job.id)).deadline).toBe(t0 + 2 * S);
    await setShardClock(user.user_id, t0 + S);
    await control(user, job.id, "pause");
    // 2 s: nothing starts while paused, so nothing replaces the attempt; its lease runs from now.
    expect(await alarmAt(user, t0 + 2 * S)).toEqual([]);
    expect(await row(user, job.id)).toMatchObject({
      status: "paused",
      attempt: m.attempt,
      deadline: t0 + 32 * S,
    });
    // A heartbeat keeps it alive, uncapped while paused.
    await setShardClock(user.user_id, t0 + 3 * S);
    expect(await shardOf(user.user_id).heartbeat(job.id, m.attempt)).toEqual({ ok: true });
    expect((await row(user, job.id)).deadline).toBe(t0 + 33 * S);
    // Its report is accepted and the job stays paused.
    expect((await finishAt(user, t0 + 5 * S, job.id, m.attempt)).ok).toBe(true);
    expect(await row(user, job.id)).toMatchObject({ status: "paused", runs: 1, deadline: null });
  });

  it("cancel_other: a real lease expiry is still a timeout, not a cancel", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0, { overlap: "cancel_other", interval_seconds: 3600 });
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    await beginAt(user, t0, job.id, m.attempt);
    // No heartbeat for 30 s: given up as timed_out, retried.
    await alarmAt(user, t0 + 31 * S);
    const view = await getJob(user, job.id);
    expect(view.attempts[0]).toMatchObject({ status: "timed_out" });
    expect(view.current_retries).toBe(1);
  });
});

describe("catch_up: paused for 10 s", () => {
  /** A job every 2 s whose first occurrence ran at t0 (quickly), then paused at t0 + 1 s. */
  async function pausedAfterOne(user: TestUser, t0: number, fields: Record<string, unknown>) {
    const job = await recurring(user, t0, fields);
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    await beginAt(user, t0, job.id, m.attempt);
    await finishAt(user, t0 + 0.5 * S, job.id, m.attempt);
    await setShardClock(user.user_id, t0 + S);
    await control(user, job.id, "pause");
    // 2, 4, 6, 8 and 10 s pass while paused: nothing is sent.
    expect(await alarmAt(user, t0 + 11 * S)).toEqual([]);
    return job;
  }

  /** Runs every attempt the alarm sends at `t`, one at a time; answers the nominal time each served. */
  async function drain(user: TestUser, id: string, t: number, most = 20): Promise<number[]> {
    const served: number[] = [];
    for (let i = 0; i < most; i++) {
      const sent = await alarmAt(user, t);
      expect(sent.length).toBeLessThanOrEqual(1);
      const [m] = sent;
      if (!m) return served;
      served.push((await row(user, id)).occurrence_at);
      await beginAt(user, t, id, m.attempt);
      // Never two occurrences at once: while it runs, the alarm sends nothing more.
      expect(await alarmAt(user, t)).toEqual([]);
      await finishAt(user, t, id, m.attempt);
    }
    return served;
  }

  it("none: resume skips what was missed", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await pausedAfterOne(user, t0, {});
    await setShardClock(user.user_id, t0 + 11 * S);
    expect(Date.parse((await control(user, job.id, "resume")).run_at)).toBe(t0 + 12 * S);
    expect(await drain(user, job.id, t0 + 11 * S)).toEqual([]);
  });

  it("one: one run on resume, then the schedule continues", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await pausedAfterOne(user, t0, { catch_up: "one" });
    await setShardClock(user.user_id, t0 + 11 * S);
    const resumed = await control(user, job.id, "resume");
    expect(Date.parse(resumed.run_at)).toBe(t0 + 11 * S);
    expect(await drain(user, job.id, t0 + 11 * S)).toEqual([t0 + 10 * S]);
    expect(await row(user, job.id)).toMatchObject({ run_at: t0 + 12 * S, runs: 2 });
  });

  it("all: each missed occurrence runs, oldest first, one at a time", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await pausedAfterOne(user, t0, { catch_up: "all" });
    await setShardClock(user.user_id, t0 + 11 * S);
    await control(user, job.id, "resume");
    const served = await drain(user, job.id, t0 + 11 * S);
    expect(served).toEqual([2, 4, 6, 8, 10].map((s) => t0 + s * S));
    expect(await row(user, job.id)).toMatchObject({ run_at: t0 + 12 * S, runs: 6 });
    // Each had its own occurrence number (webhook id).
    expect((await row(user, job.id)).occurrence).toBe(6);
  });

  it("all: only those within the window", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await pausedAfterOne(user, t0, { catch_up: "all", catch_up_window_seconds: 5 });
    await setShardClock(user.user_id, t0 + 11 * S);
    await control(user, job.id, "resume");
    expect(await drain(user, job.id, t0 + 11 * S)).toEqual([6, 8, 10].map((s) => t0 + s * S));
    expect(await row(user, job.id)).toMatchObject({ run_at: t0 + 12 * S });
  });

  it("one: a late occurrence (the shard was down) catches up once when it ends", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0, { catch_up: "one" });
    // The shard wakes 7 s late: 2, 4 and 6 s were missed before the occurrence of 0 s started.
    const [m] = await alarmAt(user, t0 + 7 * S);
    if (!m) throw new Error("not dispatched");
    await beginAt(user, t0 + 7 * S, job.id, m.attempt);
    await finishAt(user, t0 + 7.5 * S, job.id, m.attempt);
    expect(await row(user, job.id)).toMatchObject({ run_at: t0 + 7.5 * S, occurrence_at: t0 + 6 * S });
    expect(await drain(user, job.id, t0 + 7.5 * S)).toEqual([t0 + 6 * S]);
    expect(await row(user, job.id)).toMatchObject({ run_at: t0 + 8 * S });
  });
});

describe("the run control keeps working beside the policies", () => {
  it("an extra run of a cancel_other job is replaced by the nominal occurrence when it comes due", async () => {
    const user = await createUser();
    const t0 = start();
    const job = await recurring(user, t0 + 10 * S, { overlap: "cancel_other", interval_seconds: 10 });
    await setShardClock(user.user_id, t0);
    const ran = await request(`/v1/jobs/${job.id}/run`, { method: "POST", headers: user.auth });
    expect(ran.status).toBe(200);
    const [m] = await alarmAt(user, t0);
    if (!m) throw new Error("not dispatched");
    const extra = await beginAt(user, t0, job.id, m.attempt);
    expect((await row(user, job.id)).deadline).toBe(t0 + 10 * S);
    const [n] = await alarmAt(user, t0 + 10 * S);
    if (!n) throw new Error("not dispatched");
    const nominal = await beginAt(user, t0 + 10 * S, job.id, n.attempt);
    expect(nominal.occurrence).toBe(extra.occurrence + 1);
    expect(await row(user, job.id)).toMatchObject({ occurrence_at: t0 + 10 * S });
    await finishAt(user, t0 + 11 * S, job.id, n.attempt);
    expect(await row(user, job.id)).toMatchObject({ run_at: t0 + 20 * S, status: "scheduled" });
  });
});
