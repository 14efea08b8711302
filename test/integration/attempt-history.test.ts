// A job's latest attempt lives in its row, the earlier ones in the attempts table (src/shard/sql/
// attempt-history.ts): what the job object shows is every attempt, newest first, the latest 20, exactly
// as when each attempt was a row; the rows written are one per attempt replaced, none for the job's first.
import { afterEach, describe, expect, it, vi } from "vitest";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import {
  ALL_ATTEMPTS,
  createUser,
  deliver,
  fireAlarm,
  getJob,
  inShard,
  setShardClock,
  submit,
} from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

const HOOK = "https://hooks.example.com/run";

/** The job's attempts rows (the earlier attempts) and the latest attempt its row holds. */
const storedAttempts = (userId: string, jobId: string) =>
  inShard(userId, (_s, state) => ({
    rows: state.storage.sql
      .exec<{ number: number }>("select number from attempts where job_id = ? order by number", jobId)
      .toArray()
      .map((r) => r.number),
    latest: state.storage.sql
      .exec<{ n: number | null }>("select last_attempt_number as n from jobs where id = ?", jobId)
      .one().n,
    all: state.storage.sql
      .exec<{ number: number }>(`select number from ${ALL_ATTEMPTS} where job_id = ? order by number`, jobId)
      .toArray()
      .map((r) => r.number),
  }));

describe("attempt history", () => {
  it("keeps a retried job's earlier attempts as rows, written once each when the next begins", async () => {
    const user = await createUser();
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("boom", { status: 500 }));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: HOOK },
      max_retries: 2,
      retry_delay_seconds: 10,
    });
    let now = Date.now();
    const beginRows: number[] = [];
    for (let k = 1; k <= 3; k++) {
      await setShardClock(user.user_id, now);
      const sent = await fireAlarm(user.user_id);
      expect(sent.map((m) => m.attempt)).toEqual([k]);
      resetOperationTotals();
      await deliver(sent);
      beginRows.push(operationTotals().begin?.sqlRowsWritten ?? -1);
      // Between attempts: the row holds the one that ended, the table the ones before it.
      const stored = await storedAttempts(user.user_id, job.id);
      expect(stored).toEqual({
        rows: [...Array(k - 1).keys()].map((i) => i + 1),
        latest: k,
        all: [...Array(k).keys()].map((i) => i + 1),
      });
      now = Date.parse((await getJob(user, job.id)).run_at);
    }
    // The first begin writes the job row alone (its one-row form: src/shard/sql/begun.ts); each later
    // one also the attempt it replaces (WITHOUT ROWID: one row).
    expect(beginRows).toEqual([1, 2, 2]);

    const failed = await getJob(user, job.id);
    expect(failed.status).toBe("failed");
    expect(failed.attempts.map((a) => [a.number, a.status])).toEqual([
      [3, "failed"],
      [2, "failed"],
      [1, "failed"],
    ]);
    for (const a of failed.attempts) {
      expect(a.error).toMatch(/HTTP 500/);
      expect(a.finished_at).not.toBeNull();
      expect(a.lateness_ms).toBe(Math.max(0, Date.parse(a.started_at) - Date.parse(a.scheduled_at)));
    }
    // Each earlier attempt kept what it had when it ended: its own scheduled time (the backoff's).
    const scheduled = failed.attempts.map((a) => Date.parse(a.scheduled_at));
    expect(new Set(scheduled).size).toBe(3);
    expect(failed.last_run_at).toBe(failed.attempts[0]?.started_at);
  });

  it("shows the latest 20 attempts of a job that ran more, newest first", async () => {
    const user = await createUser();
    const start = Date.now() + 60_000;
    const { body: job } = await submit(user, {
      type: "noop",
      interval_seconds: 60,
      run_at: new Date(start).toISOString(),
    });
    for (let k = 0; k < 23; k++) {
      await setShardClock(user.user_id, start + k * 60_000);
      const sent = await fireAlarm(user.user_id);
      expect(sent.map((m) => m.attempt)).toEqual([k + 1]);
      await deliver(sent);
    }
    const view = await getJob(user, job.id);
    expect(view.runs).toBe(23);
    expect(view.attempts.map((a) => a.number)).toEqual([...Array(20).keys()].map((i) => 23 - i));
    expect(view.attempts.every((a) => a.status === "succeeded")).toBe(true);
    // Each occurrence's attempt kept its own scheduled time: one minute apart.
    expect(view.attempts.map((a) => Date.parse(a.scheduled_at))).toEqual(
      [...Array(20).keys()].map((i) => start + (22 - i) * 60_000),
    );
    const stored = await storedAttempts(user.user_id, job.id);
    expect(stored.rows).toHaveLength(22);
    expect(stored.latest).toBe(23);
  });
});
