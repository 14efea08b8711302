// Named log events (src/log.ts): each trouble path writes one JSON line naming what happened, and the
// attempts the consumer runs are logged in one line per consumer batch per shard (each attempt on its
// own too only with LOG_ATTEMPTS=true).
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import {
  createUser,
  deliver,
  env,
  failingD1,
  fireAlarm,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
} from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Captures the JSON event lines written to console.log and console.error. */
function captureEvents() {
  const lines: { level: "info" | "error"; entry: Record<string, unknown> }[] = [];
  const keep = (level: "info" | "error") => (line: unknown) => {
    if (typeof line !== "string" || !line.startsWith('{"event":')) return;
    lines.push({ level, entry: JSON.parse(line) as Record<string, unknown> });
  };
  vi.spyOn(console, "log").mockImplementation(keep("info"));
  vi.spyOn(console, "error").mockImplementation(keep("error"));
  return {
    named: (event: string) => lines.filter((l) => l.entry.event === event),
  };
}

const brokenShards = {
  idFromName: () => ({}),
  get: () => ({
    begin: async () => {
      throw new Error("shard unavailable");
    },
    beginMany: async () => {
      throw new Error("shard unavailable");
    },
    authenticate: async () => {
      throw new Error("shard unavailable");
    },
  }),
} as unknown as Env["TASK_SHARD"];

describe("log events", () => {
  it("attempts_reported: by default one line per consumer batch per shard, and no line per attempt", async () => {
    const user = await createUser();
    await submit(user, { type: "noop" });
    await submit(user, { type: "noop" });
    await submit(user, { type: "http", payload: { url: "http://127.0.0.1:9/hook" }, max_retries: 0 });
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("no", { status: 500 }));
    const events = captureEvents();
    await deliver(await fireAlarm(user.user_id));
    expect(events.named("attempt_finished")).toEqual([]);
    expect(events.named("attempts_reported")).toEqual([
      {
        level: "info",
        entry: {
          event: "attempts_reported",
          user_id: user.user_id,
          shard: 0,
          attempts: 3,
          accepted: 3,
          refused: 0,
          unreported: 0,
          outcomes: { succeeded: 2, failed: 1, timed_out: 0, cancelled: 0 },
          lateness_ms: [expect.any(Number), expect.any(Number), expect.any(Number)],
          duration_ms_max: expect.any(Number),
          queue_wait_ms_max: expect.any(Number),
        },
      },
    ]);
  });

  it("attempts_reported says how long the shard's messages waited in the queue before the batch", async () => {
    const user = await createUser();
    await submit(user, { type: "noop" });
    await submit(user, { type: "noop" });
    const events = captureEvents();
    // Sent 5 s before the consumer took them: where a job's lateness before its begin goes.
    await deliver(await fireAlarm(user.user_id), env, new Date(Date.now() - 5_000));
    const [line] = events.named("attempts_reported");
    expect(line?.entry.attempts).toBe(2);
    expect(line?.entry.queue_wait_ms_max).toBeGreaterThanOrEqual(5_000);
    expect(line?.entry.queue_wait_ms_max).toBeLessThan(60_000);
  });

  it("attempt_finished: with LOG_ATTEMPTS=true also one line per attempt run, with its outcome and timings", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    const events = captureEvents();
    await deliver(await fireAlarm(user.user_id), { ...env, LOG_ATTEMPTS: "true" });
    const finished = events.named("attempt_finished");
    expect(finished).toHaveLength(1);
    expect(finished[0]).toEqual({
      level: "info",
      entry: {
        event: "attempt_finished",
        job_id: job.id,
        user_id: user.user_id,
        attempt: 1,
        outcome: "succeeded",
        lateness_ms: expect.any(Number),
        duration_ms: expect.any(Number),
        report: "accepted",
      },
    });
    // The batch's line is there too, so what counts from it counts the same either way.
    expect(events.named("attempts_reported").map((l) => l.entry)).toEqual([
      expect.objectContaining({ attempts: 1, accepted: 1, lateness_ms: [finished[0]?.entry.lateness_ms] }),
    ]);
  });

  it("attempt_finished names a failure, and a redelivered message that runs nothing logs no line", async () => {
    const user = await createUser();
    await submit(user, { type: "http", payload: { url: "http://127.0.0.1:9/hook" }, max_retries: 0 });
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("no", { status: 500 }));
    const messages = await fireAlarm(user.user_id);
    const events = captureEvents();
    const logging = { ...env, LOG_ATTEMPTS: "true" };
    await deliver(messages, logging);
    await deliver(messages, logging);
    expect(events.named("attempt_finished").map((l) => l.entry.outcome)).toEqual(["failed"]);
    expect(events.named("attempts_reported").map((l) => l.entry.outcomes)).toEqual([
      { succeeded: 0, failed: 1, timed_out: 0, cancelled: 0 },
    ]);
  });

  it("attempt_given_up: the shard's one line for an attempt whose consumer never reported", async () => {
    const user = await createUser();
    const t0 = Date.UTC(2030, 0, 1);
    await setShardClock(user.user_id, t0);
    const { body: job } = await submit(user, { type: "noop", run_at: new Date(t0 - 250).toISOString() });
    const [claim] = await fireAlarm(user.user_id);
    expect((await shardOf(user.user_id).begin(job.id, claim?.attempt ?? 0)).ok).toBe(true);
    await setShardClock(user.user_id, t0 + 40_000);
    const events = captureEvents();
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(events.named("attempt_given_up")).toEqual([
      {
        level: "info",
        entry: {
          event: "attempt_given_up",
          job_id: job.id,
          user_id: user.user_id,
          attempt: 1,
          outcome: "timed_out",
          lateness_ms: 250,
          error: "heartbeats stopped: no report or heartbeat for 30s",
        },
      },
    ]);
  });

  it("dispatch_message_malformed and dispatch_message_failed, at error level", async () => {
    const events = captureEvents();
    await deliver([{ job_id: 42 }]);
    const message = {
      user_id: "usr_00000000000000000000",
      job_id: "job_0_00000000000000000000000000",
      attempt: 1,
    };
    await deliver([message], { ...env, TASK_SHARD: brokenShards });
    expect(events.named("dispatch_message_malformed")).toEqual([
      { level: "error", entry: expect.objectContaining({ issues: expect.any(Array) }) },
    ]);
    expect(events.named("dispatch_message_failed")).toEqual([
      {
        level: "error",
        entry: {
          event: "dispatch_message_failed",
          ...message,
          error: { name: "Error", message: "shard unavailable" },
        },
      },
    ]);
  });

  it("dispatch_send_failed and index_write_failed from the shard's alarm", async () => {
    const user = await createUser();
    // Due after its submit, so the alarm below claims it (and fails to send it).
    await submit(user, { type: "noop", run_at: new Date(Date.now() + 5_000).toISOString() });
    await inShard(user.user_id, (shard) => {
      const target = shard as unknown as { env: Env };
      target.env = {
        ...target.env,
        INDEX_DB: failingD1,
        DISPATCH: {
          send: async () => {},
          sendBatch: async () => {
            throw new Error("queue unavailable");
          },
        } as unknown as Queue<unknown>,
      };
      shard.clock = () => Date.now() + 10_000;
    });
    const events = captureEvents();
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(events.named("dispatch_send_failed")).toEqual([
      {
        level: "error",
        entry: expect.objectContaining({ jobs: 1, error: { name: "Error", message: "queue unavailable" } }),
      },
    ]);
    expect(events.named("index_write_failed")).toEqual([
      { level: "error", entry: expect.objectContaining({ jobs: 1, shard: `${user.user_id}/0` }) },
    ]);
  });

  it("listing_failed and unhandled_error from the API", async () => {
    const user = await createUser();
    const events = captureEvents();
    // First, before the key is cached: authenticating reaches the (broken) home shard.
    const unreachable = await request(
      "/v1/pools",
      { headers: user.auth },
      { ...env, TASK_SHARD: brokenShards },
    );
    expect(unreachable.status).toBe(500);
    const listing = await request("/v1/jobs", { headers: user.auth }, { ...env, INDEX_DB: failingD1 });
    expect(listing.status).toBe(503);
    expect(events.named("listing_failed")).toEqual([
      { level: "error", entry: expect.objectContaining({ user_id: user.user_id }) },
    ]);
    expect(events.named("unhandled_error")).toEqual([
      {
        level: "error",
        entry: expect.objectContaining({
          method: "GET",
          path: "/v1/pools",
          error: { name: "Error", message: "shard unavailable" },
        }),
      },
    ]);
  });
});
