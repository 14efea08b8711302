// The cost budget: billed operations of the canonical job (one-shot, no pool, succeeds at once),
// counted where they happen (src/metering) from submit to its settled row in the D1 index, and on to
// its removal by retention. A change that adds a Durable Object request, a SQLite or D1 row written,
// or a queue message per job fails here; one that removes SQLite rows must lower the budget, and one
// that removes anything else should (docs/cost.md has the prices and the bench).
import { createExecutionContext, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import {
  type OperationCounts,
  operationTotals,
  type Phase,
  resetOperationTotals,
  sumOperations,
} from "../../src/metering/operations";
import { recordDispatchQueue, takeCallbackMessages } from "../support/callbacks";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  inShard,
  lastCopyDueAt,
  queuedMessages,
  request,
  setShardClock,
  shardOf,
} from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The most each phase may cost per canonical job, as measured (docs/cost.md; before the lean schema
 * it was 24 SQLite rows and 5 D1 rows written per job, then 14 and 1, then 15 with the metrics row,
 * and 18 once its removal was counted; issue 16 took that to 13, and the copy by watermark to 12;
 * issue 20's running metrics totals add 1 at retention, shared by the hour's jobs: 13; dispatch at submit takes
 * the claim's 2 off: 11; the retention sweep the finish's jobs_wake entry: 10, and 9 with the roll
 * counted at the earlier job's removal). SQLite rows written must match
 * exactly, so a change that saves some lowers the budget. Rows read are left out: they are billed at
 * a thousandth of a row written and depend on how many jobs the shard holds.
 */
const BUDGET: Partial<Record<Phase, Partial<OperationCounts>>> = {
  api: { workerInvocations: 1 },
  // The job row, its id's key, jobs_wake. No jobs_index_due entry: a new row is above the index
  // watermark, so its copy is pending by construction (src/shard/sql/index-copy.ts); 4 before.
  submit: { doRequests: 1, sqlRowsWritten: 3 },
  // Dispatched at submit (src/core/dispatch-at-submit.ts): the submit's insert wrote the row queued
  // under attempt 1 and its request sent the message, so no alarm run and no row written; a job the
  // alarm claims pays CLAIMED_BY_ALARM here (the job row and jobs_wake, and the run's request).
  claim: { doRequests: 0, sqlRowsWritten: 0, queueMessages: 1 },
  consume: { workerInvocations: 1 },
  // The job row alone (the attempt is its latest: columns of its own, no attempts row), in its
  // one-row form: status and the lease deadline stay as the claim wrote them, so no jobs_wake entry
  // (src/shard/sql/begun.ts).
  begin: { doRequests: 1, sqlRowsWritten: 1 },
  // The job row (the attempt ended in it) and the minute's metrics row (an upsert on its rowid, GET
  // /v1/metrics; issue 11). No jobs_wake entry: finished within a minute of its submit, above its
  // retention's sweep cursor, it is left to the retention sweep (src/shard/sql/retention-sweep.ts) and
  // out of the partial index (3 before). No jobs_index_due entry: its row is still above the index
  // watermark, so the copy of its submit is pending (INDEX_FLUSH_DELAY_MS), keeps its time and carries
  // the finish too (touch: index_due_at stays null, out of the partial index). A job finishing after
  // its submit's copy went writes that entry: 3.
  finish: { doRequests: 1, sqlRowsWritten: 2 },
  // The shard's alarm that copies the job to the index (the consumer writes none: the shard is the
  // only writer of its index rows, so retention's delete is final); the index watermark's row, moved
  // past the job (the job row itself is not written): 1 for this job alone, and 1 for the whole batch
  // when an alarm run copies many new jobs under load (up to 50: index-watermark.test.ts), where it
  // was the job row of each; one D1 row (the index is one WITHOUT ROWID B-tree).
  index: { doRequests: 1, sqlRowsWritten: 1, d1RowsWritten: 1 },
  // The shard's alarm at the removal time (a running system shares it with up to 100 removals and its
  // other work); the job row (a delete counts its row, not its index entries; no attempts row is
  // left: its one attempt was in the row), and the sweep's cursor, moved past it (1 per sweep run,
  // shared by the run's removals); one D1 row deleted. The minute's metrics row is rolled by the
  // first removal run after its hour (its delete and the running totals' row: 2 rows per shard-hour,
  // shared by the hour's jobs), here the earlier job's run (lifeOf), so not counted: 3 before the
  // sweep, with the roll. Measured as a running shard removes it, with newer jobs than it: a removal
  // that takes the shard's newest rows writes the index watermark's row too (lowered to the new
  // max(rowid), once per removal batch: index-watermark.test.ts).
  retention: { doRequests: 1, sqlRowsWritten: 2, d1RowsWritten: 1 },
};

/** What the claim costs a job the alarm claims (not dispatched at submit: a gated one, or one due later). */
const CLAIMED_BY_ALARM = { doRequests: 1, sqlRowsWritten: 2 };

/**
 * A job with a callback_url costs the canonical job's budget in every phase, plus its callback: the
 * outbox row written at finish (WITHOUT ROWID: the row and its deadline entry, 2) and deleted at the
 * report (SQLite counts 1), one queue message, the consumer's read of the row and its report (two
 * requests), and a consumer invocation of its own (a running system shares it with other messages).
 */
const { retention: _removal, ...UNTIL_INDEXED } = BUDGET;
const CALLBACK_BUDGET: Partial<Record<Phase, Partial<OperationCounts>>> = {
  // Counted from submit to the index copy: its removal costs what the canonical job's does.
  ...UNTIL_INDEXED,
  consume: { workerInvocations: 2 },
  callback: { doRequests: 2, sqlRowsWritten: 3, queueMessages: 1 },
};

function expectWithin(counted: Partial<Record<Phase, OperationCounts>>, budget: typeof BUDGET) {
  for (const [phase, most] of Object.entries(budget) as [Phase, Partial<OperationCounts>][]) {
    for (const [what, limit] of Object.entries(most) as [keyof OperationCounts, number][]) {
      expect(counted[phase]?.[what] ?? 0, `${phase}.${what}`).toBeLessThanOrEqual(limit);
    }
  }
  const named = Object.fromEntries(Object.keys(budget).map((p) => [p, counted[p as Phase]]));
  expect(sumOperations(named)).toEqual(sumOperations(counted));
}

/** Two counts of operations per phase, added. */
function addPhases(
  a: Partial<Record<Phase, OperationCounts>>,
  b: Partial<Record<Phase, OperationCounts>>,
): Partial<Record<Phase, OperationCounts>> {
  const out: Partial<Record<Phase, OperationCounts>> = { ...a };
  for (const [phase, counts] of Object.entries(b) as [Phase, OperationCounts][]) {
    const sum = { ...(out[phase] ?? counts) };
    if (out[phase])
      for (const [k, v] of Object.entries(counts) as [keyof OperationCounts, number][]) sum[k] += v;
    out[phase] = sum;
  }
  return out;
}

/**
 * Runs the shard's alarm at the job's removal time (its deadline once finished), as the runtime would:
 * retention removes it from D1 and the shard.
 */
async function removeAtRetention(userId: string, jobId: string) {
  const { deadline } = await inShard(userId, (_s, state) =>
    state.storage.sql
      .exec<{ deadline: number | null }>("select deadline from jobs where id = ?", jobId)
      .one(),
  );
  expect(deadline, "a removal time").not.toBeNull();
  await setShardClock(userId, deadline ?? 0);
  await runDurableObjectAlarm(shardOf(userId));
}

/** Runs the shard's alarm at its pending index copies' flush time, as the runtime would: they land in D1. */
async function flushIndexCopy(userId: string) {
  const due = await inShard(userId, (_s, state) => lastCopyDueAt(state.storage.sql));
  expect(due, "a pending index copy").not.toBeNull();
  // A minute ahead of the wall clock: the alarms the job's steps set next are then never fired by the
  // runtime itself during the test (a copy flushed early would move a phase's rows).
  await setShardClock(userId, Math.max(Date.now() + 60_000, due ?? 0));
  await runDurableObjectAlarm(shardOf(userId));
}

async function submitThroughWorker(apiKey: string, body: unknown) {
  const res = await worker.fetch(
    new Request("http://scheduler.test/v1/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    env,
    createExecutionContext(),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

/** The start of an hour well ahead of the wall clock (no runtime alarm fires during a test). */
const HOUR_START = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000;

/**
 * Warms `user`'s key cache and shard as a running system has them (not part of any job's cost): a job
 * due later, and an earlier job finished and waiting for its retention, so the retention sweep's cursor
 * is made and has its time (retention-sweep.ts: the first swept job after an idle spell pays that
 * row, armSweep). Answers the earlier job's id.
 */
async function warm(user: { api_key: string; user_id: string }): Promise<string> {
  await submitThroughWorker(user.api_key, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
  const earlier = await submitThroughWorker(user.api_key, { type: "noop" });
  await deliver(await queuedMessages(user.user_id));
  await flushIndexCopy(user.user_id);
  return earlier.id;
}

/**
 * One job's operations per phase, submit to removed, on a warm shard (a running system's: the key
 * cache and the shard warmed by an earlier job, a newer job there by the time its retention runs out).
 */
async function lifeOf(body: Record<string, unknown>, claimed: "at submit" | "by the alarm" = "at submit") {
  const user = await createUser();
  // The shard's clock at a fixed place in an hour, so the job's whole life, earlier job and all, falls in
  // one hour whatever the wall clock says: the metrics rows a removal rolls or prunes are per hour.
  await setShardClock(user.user_id, HOUR_START + 5 * 60_000);
  const earlier = await warm(user);
  resetOperationTotals();

  const job = await submitThroughWorker(user.api_key, body);
  // Dispatched at submit, its message is out before any alarm run; a gated job waits for the alarm.
  expect((await queuedMessages(user.user_id)).length).toBe(claimed === "at submit" ? 1 : 0);
  const sent = claimed === "at submit" ? await queuedMessages(user.user_id) : await fireAlarm(user.user_id);
  expect(sent.map((m) => m.job_id)).toEqual([job.id]);
  await deliver(sent);
  await flushIndexCopy(user.user_id);
  const indexed = await env.INDEX_DB.prepare("select status from job_index where job_id = ?")
    .bind(job.id)
    .first<{ status: string }>();
  expect(indexed?.status).toBe("succeeded");
  const untilIndexed = operationTotals();
  // Not counted: a newer job, as a running shard has by the time a job's retention runs out.
  await submitThroughWorker(user.api_key, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
  await flushIndexCopy(user.user_id);
  // Not counted: the earlier job leaves at its own removal time, before this one's (its run also rolls
  // the minute both finished in: 2 rows shared by that hour's jobs, counted here before the sweep).
  await removeAtRetention(user.user_id, earlier);
  expect((await getJob(user, job.id)).status, "not yet due").toBe("succeeded");
  resetOperationTotals();
  await removeAtRetention(user.user_id, job.id);
  return { user, job, counted: addPhases(untilIndexed, operationTotals()) };
}

describe("cost budget of the canonical one-shot job", () => {
  it("stays within its operations per phase, submit to removed", async () => {
    const { user, job, counted } = await lifeOf({ type: "noop" });
    // The removal's run also rolled the minute the job finished in (counted in retention above): into
    // the totals, so the counters keep it after its row is gone.
    expect(
      await inShard(user.user_id, (_s, state) =>
        state.storage.sql.exec<{ n: number }>("select count(*) as n from metric_minutes").one(),
      ),
    ).toEqual({ n: 0 });
    expect(
      await inShard(user.user_id, (_s, state) =>
        state.storage.sql
          .exec<{ succeeded: number; jobs_succeeded: number }>(
            "select succeeded, jobs_succeeded from metric_totals",
          )
          .toArray(),
      ),
    ).toEqual([{ succeeded: 2, jobs_succeeded: 2 }]); // the earlier job's and this one's
    expect((await request(`/v1/jobs/${job.id}`, { headers: user.auth })).status).toBe(404);

    console.log("operations per canonical job", JSON.stringify(counted));
    for (const [phase, budget] of Object.entries(BUDGET) as [Phase, Partial<OperationCounts>][]) {
      for (const [what, most] of Object.entries(budget) as [keyof OperationCounts, number][]) {
        expect(counted[phase]?.[what] ?? 0, `${phase}.${what}`).toBeLessThanOrEqual(most);
      }
    }
    for (const [phase, budget] of Object.entries(BUDGET) as [Phase, Partial<OperationCounts>][]) {
      expect(counted[phase]?.sqlRowsWritten ?? 0, `${phase}.sqlRowsWritten`).toBe(budget.sqlRowsWritten ?? 0);
    }
    // Nothing is billed outside the phases the budget names.
    const named = Object.fromEntries(Object.keys(BUDGET).map((p) => [p, counted[p as Phase]]));
    expect(sumOperations(named)).toEqual(sumOperations(counted));
    // The shards' rows were counted (COUNT_SQL_ROWS, vitest.config.ts): without the meter every row
    // count is 0 and the bounds above would hold vacuously. A submit writes its job row at least.
    expect(counted.submit?.sqlRowsWritten ?? 0).toBeGreaterThan(0);
    // The job did run: every phase it needs was counted.
    expect(counted.begin?.doRequests).toBe(1);
    expect(counted.finish?.doRequests).toBe(1);
    expect(counted.claim?.queueMessages).toBe(1);
    expect(counted.index).toMatchObject({ doRequests: 1, d1RowsWritten: 1 });
    // Removed: its D1 row is gone too.
    const row = await env.INDEX_DB.prepare("select status from job_index where job_id = ?")
      .bind(job.id)
      .first<{ status: string }>();
    expect(row).toBeNull();
  });

  it("ten jobs through one consumer batch share one begin and one finish request, and one minute row", async () => {
    const user = await createUser();
    await warm(user);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await submitThroughWorker(user.api_key, { type: "noop" })).id);
    // Each dispatched at its submit (the ones before it queued, none scheduled and due): no alarm run.
    const sent = await queuedMessages(user.user_id);
    expect(sent).toHaveLength(10);
    resetOperationTotals();

    const result = await deliver(sent);
    const counted = operationTotals();
    expect(result.explicitAcks).toHaveLength(10);
    for (const id of ids) expect((await getJob(user, id)).status).toBe("succeeded");

    console.log("operations of a 10-job consumer batch", JSON.stringify(counted));
    expect(counted.consume).toMatchObject({ workerInvocations: 1 });
    // Per job as the canonical one: the job row (holding its first attempt, one-row form); one
    // request for all.
    expect(counted.begin).toMatchObject({ doRequests: 1, sqlRowsWritten: 10 * 1 });
    // Per job the job row (each submit's index copy still pending, each left to the retention sweep);
    // the minute's row once for all ten (the canonical job's finish is 1 request and 2 rows: here 0.1
    // and 1.1 a job).
    expect(counted.finish).toMatchObject({ doRequests: 1, sqlRowsWritten: 10 * 1 + 1 });
    // That one upsert counted every attempt and every finished job.
    const minute = await inShard(user.user_id, (_s, state) =>
      state.storage.sql
        .exec<{ attempts: number; jobs: number }>(
          "select sum(succeeded) as attempts, sum(jobs_succeeded) as jobs from metric_minutes",
        )
        .one(),
    );
    expect(minute).toEqual({ attempts: 11, jobs: 11 }); // and the earlier job's (warm)
  });

  it("a job with a callback_url costs the canonical budget plus its callback's", async () => {
    const user = await createUser();
    await warm(user);
    const queue = await recordDispatchQueue(user.user_id);
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("ok"));
    resetOperationTotals();

    const job = await submitThroughWorker(user.api_key, {
      type: "noop",
      callback_url: "http://127.0.0.1:9/callback",
    });
    // Dispatched at submit: no alarm run claims it.
    await deliver(await queuedMessages(user.user_id));
    const callbacks = takeCallbackMessages(queue);
    expect(callbacks).toHaveLength(1);
    await deliver(callbacks);
    await flushIndexCopy(user.user_id);
    const counted = operationTotals();
    expect((await getJob(user, job.id)).status).toBe("succeeded");
    expect(globalThis.fetch).toHaveBeenCalledTimes(1);

    console.log("operations per job with a callback", JSON.stringify(counted));
    expectWithin(counted, CALLBACK_BUDGET);
    // The callback's rows are its own: the finish costs what the canonical job's does.
    expect(counted.finish?.sqlRowsWritten).toBe(BUDGET.finish?.sqlRowsWritten);
    expect(counted.callback).toMatchObject({ doRequests: 2, sqlRowsWritten: 3, queueMessages: 1 });
  });

  it("a job with flow_control costs at most 2 SQLite rows written more than the alarm's claim; a key without a rate none, an idle key nothing", async () => {
    // A keyed job is claimed by the alarm (its key decides), not dispatched at submit: it pays the claim.
    const canonical =
      sumOperations((await lifeOf({ type: "noop" })).counted).sqlRowsWritten +
      CLAIMED_BY_ALARM.sqlRowsWritten;
    // A key with a rate: its start log is written at the begin (one row: WITHOUT ROWID) and goes with
    // the key's last job at retention (one row), no sooner, as its window may still hold the start.
    const rated = await lifeOf(
      { type: "noop", flow_control: { key: "customer-7", concurrency: 2, rate: 10 } },
      "by the alarm",
    );
    console.log("operations per job with a rated flow-control key", JSON.stringify(rated.counted));
    expect(sumOperations(rated.counted).sqlRowsWritten).toBe(canonical + 2);
    expect(rated.counted.begin?.sqlRowsWritten).toBe((BUDGET.begin?.sqlRowsWritten ?? 0) + 1);
    expect(rated.counted.retention?.sqlRowsWritten).toBe((BUDGET.retention?.sqlRowsWritten ?? 0) + 1);
    // Every other operation as the canonical job's: no request, message or D1 row more.
    const { sqlRowsWritten: _r, sqlRowsRead: _rr, ...others } = sumOperations(rated.counted);
    const {
      sqlRowsWritten: _c,
      sqlRowsRead: _cr,
      ...canonicalOthers
    } = sumOperations((await lifeOf({ type: "noop" })).counted);
    expect(others).toEqual({
      ...canonicalOthers,
      doRequests: canonicalOthers.doRequests + CLAIMED_BY_ALARM.doRequests,
    });
    expect(rated.counted.claim).toMatchObject({ ...CLAIMED_BY_ALARM, queueMessages: 1 });
    // A key with a concurrency alone keeps no state: its slots are read from the jobs' own rows.
    const limited = await lifeOf(
      { type: "noop", flow_control: { key: "customer-8", concurrency: 2 } },
      "by the alarm",
    );
    expect(sumOperations(limited.counted).sqlRowsWritten).toBe(canonical);
    // Idle keys hold nothing.
    for (const { user } of [rated, limited]) {
      const keys = await inShard(user.user_id, (_s, state) =>
        state.storage.sql.exec<{ n: number }>("select count(*) as n from flow_keys").one(),
      );
      expect(keys).toEqual({ n: 0 });
    }
  });
});
