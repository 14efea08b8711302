// Traces (design.md, Operators; issue 17 part 6): a W3C traceparent on a submit is kept with the job
// and sent on its webhook calls (every attempt, every occurrence, and its callback), so a trace runs
// from the submitter through the scheduler to the target. An invalid one is ignored, never refused.
import { afterEach, describe, expect, it, vi } from "vitest";
import { recordDispatchQueue, takeCallbackMessages } from "../support/callbacks";
import {
  createUser,
  deliver,
  fireAlarm,
  getJob,
  growShards,
  inShard,
  request,
  setShardClock,
  submit,
  type TestUser,
} from "../support/helpers";
import { network } from "../support/network";

afterEach(() => {
  vi.restoreAllMocks();
});

const HOOK = "https://hooks.example.com/run";
const CALLBACK = "http://127.0.0.1:9/callback";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
/** Far enough ahead that no alarm of the test runs it. */
const LATER = new Date(Date.now() + 365 * 24 * 3_600_000).toISOString();
const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

interface Sent {
  url: string;
  traceparent: string | null;
  tracestate: string | null;
  webhookId: string | null;
}

/** The network stand-in; what it was sent so far, each request as its trace headers (null: none). */
function traceNetwork(statuses: Record<string, number[]> = {}): () => Sent[] {
  const { received } = network(statuses);
  return () =>
    received.map(({ url, headers }) => ({
      url,
      traceparent: headers.traceparent ?? null,
      tracestate: headers.tracestate ?? null,
      webhookId: headers["webhook-id"] ?? null,
    }));
}

const httpJob = (extra: Record<string, unknown> = {}) => ({ type: "http", payload: { url: HOOK }, ...extra });

/** Submits one job with these headers (201 expected) and runs its first attempt. */
async function submitAndRun(user: TestUser, headers: Record<string, string>, job = httpJob()) {
  const { status, body } = await submit(user, job, headers);
  expect(status, JSON.stringify(body)).toBe(201);
  await deliver(await fireAlarm(user.user_id));
  return body;
}

/** The trace columns of the user's home shard's jobs row: what the job keeps. */
const storedTrace = (userId: string, jobId: string) =>
  inShard(userId, (_s, state) =>
    state.storage.sql
      .exec<{ traceparent: string | null; tracestate: string | null }>(
        "select traceparent, tracestate from jobs where id = ?",
        jobId,
      )
      .one(),
  );

describe("traceparent on a submit", () => {
  it("is kept with the job and sent on its webhook call, with its tracestate", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const job = await submitAndRun(user, { traceparent: TRACEPARENT, tracestate: TRACESTATE });
    expect(job).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
    expect(await storedTrace(user.user_id, job.id)).toEqual({
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
    });
    expect(sent()).toHaveLength(1);
    const [call] = sent() as [Sent];
    // Forwarded as it came: the same trace-id (and parent-id and flags), in version 00's format.
    expect(call.traceparent).toMatch(VERSION_00);
    expect(VERSION_00.exec(call.traceparent ?? "")?.[1]).toBe(TRACE_ID);
    expect(call).toMatchObject({ url: HOOK, traceparent: TRACEPARENT, tracestate: TRACESTATE });
    const done = await getJob(user, job.id);
    expect(done).toMatchObject({ status: "succeeded", traceparent: TRACEPARENT, tracestate: TRACESTATE });
  });

  it("sends no trace headers for a job submitted without one", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const job = await submitAndRun(user, {});
    expect(job).toMatchObject({ traceparent: null, tracestate: null });
    expect(sent()).toEqual([{ url: HOOK, traceparent: null, tracestate: null, webhookId: `${job.id}:0` }]);
    // A tracestate alone is no trace context: the spec reads it only beside a valid traceparent.
    const alone = await submitAndRun(user, { tracestate: TRACESTATE });
    expect(alone).toMatchObject({ traceparent: null, tracestate: null });
    expect(sent()[1]).toMatchObject({ traceparent: null, tracestate: null });
  });

  it("ignores an invalid traceparent: 201, nothing kept, nothing sent", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const invalid = [
      "garbage",
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE_ID}-0000000000000000-01`,
      `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`,
      `ff-${TRACE_ID}-00f067aa0ba902b7-01`,
      `${TRACEPARENT}-extra`,
      `00-${"a".repeat(10_000)}`,
    ];
    const ids: string[] = [];
    for (const traceparent of invalid) {
      const { status, body } = await submit(user, httpJob(), { traceparent, tracestate: TRACESTATE });
      expect(status, traceparent).toBe(201);
      expect(body, traceparent).toMatchObject({ traceparent: null, tracestate: null });
      ids.push(body.id);
    }
    await deliver(await fireAlarm(user.user_id));
    expect(sent()).toHaveLength(invalid.length);
    expect(sent().map((s) => [s.traceparent, s.tracestate])).toEqual(invalid.map(() => [null, null]));
    for (const id of ids)
      expect(await getJob(user, id)).toMatchObject({ status: "succeeded", traceparent: null });
  });

  it("keeps the traceparent and drops an invalid tracestate", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const job = await submitAndRun(user, { traceparent: TRACEPARENT, tracestate: "congo=1,Bad Key=2" });
    expect(job).toMatchObject({ traceparent: TRACEPARENT, tracestate: null });
    expect(sent()[0]).toMatchObject({ traceparent: TRACEPARENT, tracestate: null });
  });

  it("sends a later version's traceparent as version 00, its trace-id and parent-id kept", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const job = await submitAndRun(user, { traceparent: `cc-${TRACE_ID}-00f067aa0ba902b7-03-future` });
    expect(job.traceparent).toBe(TRACEPARENT);
    expect(sent()[0]?.traceparent).toBe(TRACEPARENT);
  });

  it("is sent again on a retried attempt, and on a recurring job's next occurrence", async () => {
    const user = await createUser();
    const sent = traceNetwork({ [HOOK]: [500, 200] });
    const headers = { traceparent: TRACEPARENT, tracestate: TRACESTATE };
    const { body: job } = await submit(user, httpJob({ max_retries: 1 }), headers);
    await deliver(await fireAlarm(user.user_id));
    expect((await getJob(user, job.id)).current_retries).toBe(1);
    await setShardClock(user.user_id, Date.now() + 3_600_000);
    await deliver(await fireAlarm(user.user_id));
    const done = await getJob(user, job.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts.map((a) => a.status)).toEqual(["succeeded", "failed"]);
    expect(sent().map((s) => [s.webhookId, s.traceparent, s.tracestate])).toEqual([
      [`${job.id}:0`, TRACEPARENT, TRACESTATE],
      [`${job.id}:0`, TRACEPARENT, TRACESTATE],
    ]);

    const other = await createUser();
    const recurring = traceNetwork();
    const start = Date.now() + 1_000;
    const recurringJob = httpJob({ interval_seconds: 60, run_at: new Date(start).toISOString() });
    const { body: every } = await submit(other, recurringJob, headers);
    await setShardClock(other.user_id, start);
    await deliver(await fireAlarm(other.user_id));
    expect((await getJob(other, every.id)).runs).toBe(1);
    await setShardClock(other.user_id, start + 60_000);
    await deliver(await fireAlarm(other.user_id));
    expect((await getJob(other, every.id)).runs).toBe(2);
    expect(recurring().map((s) => [s.webhookId, s.traceparent])).toEqual([
      [`${every.id}:0`, TRACEPARENT],
      [`${every.id}:1`, TRACEPARENT],
    ]);
  });

  it("is sent with the job's callback", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const queue = await recordDispatchQueue(user.user_id);
    const headers = { traceparent: TRACEPARENT, tracestate: TRACESTATE };
    const { body: job } = await submit(user, { type: "noop", callback_url: CALLBACK }, headers);
    await deliver(await fireAlarm(user.user_id));
    await deliver(takeCallbackMessages(queue));
    expect(sent()).toEqual([
      { url: CALLBACK, traceparent: TRACEPARENT, tracestate: TRACESTATE, webhookId: `${job.id}:0:callback` },
    ]);

    // And without one, the callback carries none.
    const plain = (await submit(user, { type: "noop", callback_url: CALLBACK })).body;
    await deliver(await fireAlarm(user.user_id));
    await deliver(takeCallbackMessages(queue));
    expect(sent()[1]).toEqual({
      url: CALLBACK,
      traceparent: null,
      tracestate: null,
      webhookId: `${plain.id}:0:callback`,
    });
  });

  it("is not part of an idempotent submit's meaning: a replay answers the original job's", async () => {
    const user = await createUser();
    const key = { "idempotency-key": `trace-${crypto.randomUUID()}` };
    const first = await submit(user, httpJob(), { ...key, traceparent: TRACEPARENT });
    const other = `00-${"1".repeat(32)}-${"2".repeat(16)}-00`;
    const replay = await submit(user, httpJob(), { ...key, traceparent: other });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ id: first.body.id, traceparent: TRACEPARENT });
  });
});

describe("traceparent on a batch submit", () => {
  it("is kept by every job of the batch, on every shard, and sent on each one's call", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const headers = { ...user.auth, traceparent: TRACEPARENT, tracestate: TRACESTATE };
    const res = await request("/v1/jobs/batch", {
      method: "POST",
      headers,
      json: { jobs: [httpJob(), httpJob({ name: "second" }), { type: "noop" }] },
    });
    expect(res.status).toBe(201);
    const { results } = (await res.json()) as { results: { status: number; job: { id: string } }[] };
    expect(results.map((r) => r.job)).toMatchObject(
      results.map(() => ({ traceparent: TRACEPARENT, tracestate: TRACESTATE })),
    );
    await deliver(await fireAlarm(user.user_id));
    expect(sent()).toHaveLength(2);
    expect(sent().map((s) => [s.traceparent, s.tracestate])).toEqual([
      [TRACEPARENT, TRACESTATE],
      [TRACEPARENT, TRACESTATE],
    ]);

    // Spread over several shards, each job's own row keeps it.
    await growShards(user, 4);
    const spread = await request("/v1/jobs/batch", {
      method: "POST",
      headers: { ...user.auth, traceparent: TRACEPARENT },
      json: { jobs: Array.from({ length: 12 }, () => ({ type: "noop", run_at: LATER })) },
    });
    expect(spread.status).toBe(201);
    const ids = ((await spread.json()) as { results: { job: { id: string } }[] }).results.map(
      (r) => r.job.id,
    );
    const shards = new Set(ids.map((id) => id.split("_")[1]));
    expect(shards.size).toBeGreaterThan(1);
    for (const id of ids) {
      expect(await getJob(user, id)).toMatchObject({ traceparent: TRACEPARENT, tracestate: null });
    }
  });

  it("sends none for a batch without one, and ignores an invalid one (201)", async () => {
    const user = await createUser();
    const sent = traceNetwork();
    const requests: Record<string, string>[] = [{}, { traceparent: "00-nope", tracestate: TRACESTATE }];
    for (const headers of requests) {
      const res = await request("/v1/jobs/batch", {
        method: "POST",
        headers: { ...user.auth, ...headers },
        json: { jobs: [httpJob(), httpJob()] },
      });
      expect(res.status).toBe(201);
      const { results } = (await res.json()) as { results: { job: unknown }[] };
      expect(results.map((r) => r.job)).toMatchObject([
        { traceparent: null, tracestate: null },
        { traceparent: null, tracestate: null },
      ]);
    }
    await deliver(await fireAlarm(user.user_id));
    expect(sent()).toHaveLength(4);
    expect(sent().every((s) => s.traceparent === null && s.tracestate === null)).toBe(true);
  });
});
