// The consumer's edges: message validation, results to R2, priority order of claims, cron jobs.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import { claimDue } from "../../src/shard/sql/claim";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  growShards,
  inShard,
  setShardClock,
  shardOf,
  submit,
  unreachableShards,
} from "../support/helpers";
import { expectLogged } from "../support/log-capture";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("consumer", () => {
  it("acks malformed messages without touching any job", async () => {
    const result = await deliver([{ nope: true }, "text", { user_id: "u", job_id: "j", attempt: 0 }]);
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toEqual([]);
    expect(expectLogged("dispatch_message_malformed", { issues: expect.any(Array) })).toHaveLength(3);
  });

  it("acks a message for a job that does not exist", async () => {
    const user = await createUser();
    const result = await deliver([
      { user_id: user.user_id, job_id: "job_0_00000000000000000000000000", attempt: 1 },
    ]);
    expect(result.explicitAcks).toHaveLength(1);
  });

  it("retries the message when the shard cannot be reached", async () => {
    const user = await createUser();
    const broken = unreachableShards("beginMany");
    const result = await deliver(
      [{ user_id: user.user_id, job_id: "job_0_00000000000000000000000000", attempt: 1 }],
      broken,
    );
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toEqual([]);
    expectLogged("dispatch_message_failed", {
      user_id: user.user_id,
      attempt: 1,
      error: { message: "shard unavailable" },
    });
  });

  it("writes results to R2 under the user's root and result_location, and keeps a pointer on the job", async () => {
    const user = await createUser();
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("report body"));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/report" },
      result_location: "r2://reports/daily",
    });
    await deliver(await fireAlarm(user.user_id));
    const done = await getJob(user, job.id);
    // Under the user's own root (src/core/result-location.ts).
    const key = `results/${user.user_id}/reports/daily/${job.id}/0-1.json`;
    expect(done.result).toEqual({ location: `r2://${key}` });
    const stored = await env.RESULTS.get(key);
    expect(await stored?.json()).toEqual({ status: 200, body: "report body", truncated: false });
  });

  it("keeps a small result inline", async () => {
    const user = await createUser();
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("x".repeat(10_000)));
    const { body: job } = await submit(user, { type: "http", payload: { url: "https://example.com/big" } });
    await deliver(await fireAlarm(user.user_id));
    const result = (await getJob(user, job.id)).result as { body: string; truncated: boolean };
    expect(result.body).toHaveLength(8 * 1024);
    expect(result.truncated).toBe(true);
  });
});

describe("ordering and recurrence", () => {
  it("claims due jobs by priority, then by run_at, in bounded batches", async () => {
    const user = await createUser();
    const base = Date.now() + 60_000;
    const jobs = [
      { priority: 10, at: 0 },
      { priority: 90, at: 2 },
      { priority: 90, at: 1 },
      { priority: 50, at: 0 },
    ];
    const ids: string[] = [];
    for (const j of jobs) {
      const run_at = new Date(base + j.at * 1000).toISOString();
      ids.push((await submit(user, { type: "noop", priority: j.priority, run_at })).body.id);
    }
    const batches = await inShard(user.user_id, (shard) => {
      const db = (shard as unknown as { db: Parameters<typeof claimDue>[0] }).db;
      const t = {
        dispatchDeadlineMs: 30_000,
        leaseGraceMs: 0,
        heartbeatTimeoutMs: 30_000,
        indexFlushDelayMs: 0,
      };
      const policy = { limit: 2, agingSeconds: 0 };
      const now = base + 10_000;
      const first = claimDue(db, now, policy, t);
      const second = claimDue(db, now, policy, t);
      const third = claimDue(db, now, policy, t);
      return [first, second, third];
    });
    expect(batches.map((b) => b.claims.map((c) => ids.indexOf(c.id)))).toEqual([[2, 1], [3, 0], []]);
    expect(batches.map((b) => b.more)).toEqual([true, false, false]);
  });

  it("runs a cron job at each match in its time zone", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, {
      type: "noop",
      cron: "0 9 * * *",
      timezone: "Europe/Paris",
      run_at: "2030-03-29T00:00:00Z",
    });
    // 09:00 in Paris is 08:00Z before the spring change (2030-03-31) and 07:00Z after it.
    expect(job.run_at).toBe("2030-03-29T08:00:00.000Z");
    const expected = ["2030-03-30T08:00:00.000Z", "2030-03-31T07:00:00.000Z", "2030-04-01T07:00:00.000Z"];
    let runAt = job.run_at;
    for (const next of expected) {
      await setShardClock(user.user_id, Date.parse(runAt) + 1_000);
      await deliver(await fireAlarm(user.user_id));
      const view = await getJob(user, job.id);
      expect(view.status).toBe("scheduled");
      expect(view.run_at).toBe(next);
      runAt = view.run_at;
    }
    expect((await getJob(user, job.id)).runs).toBe(3);
  });
});

describe("consumer batches", () => {
  it("begins all of a batch's attempts on one shard in one request, each fenced on its own", async () => {
    const user = await createUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit(user, { type: "noop" })).body.id);
    await setShardClock(user.user_id, Date.now() + 1_000);
    const sent = await fireAlarm(user.user_id);
    expect(sent).toHaveLength(5);
    resetOperationTotals();
    // A stale copy of one message rides along: refused at begin, it leaves the other four running.
    const stale = { ...sent[0], attempt: (sent[0]?.attempt ?? 1) - 1 };
    const result = await deliver([...sent, stale]);
    expect(result.explicitAcks).toHaveLength(6);
    // Attempt 0 is no attempt: the stale copy is refused before it reaches the shard.
    expectLogged("dispatch_message_malformed", { issues: [expect.objectContaining({ path: ["attempt"] })] });
    expect(operationTotals().begin?.doRequests).toBe(1);
    for (const id of ids) expect((await getJob(user, id)).status).toBe("succeeded");
  });
});

describe("signing secrets", () => {
  it("asks a user's home shard for them at most once per batch, however many shards its jobs are on", async () => {
    const user = await createUser();
    await growShards(user, 4);
    const sent: Request[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      sent.push(new Request(input, init));
      return new Response("ok");
    });
    for (let i = 0; i < 16; i++) {
      const out = await submit(user, { type: "http", payload: { url: `https://example.com/${i}` } });
      expect(out.status).toBe(201);
    }
    const messages: unknown[] = [];
    for (let s = 0; s < 4; s++) {
      const stub = shardOf(user.user_id, s);
      await runDurableObjectAlarm(stub);
      const queued = await runInDurableObject(stub, (_shard, state) =>
        state.storage.sql
          .exec<{ id: string; attempt: number }>(
            "select id, attempt from jobs where status = 'queued' and run_deadline is null",
          )
          .toArray(),
      );
      messages.push(...queued.map((q) => ({ user_id: user.user_id, job_id: q.id, attempt: q.attempt })));
    }
    expect(messages).toHaveLength(16);
    const shardsUsed = new Set(messages.map((m) => (m as { job_id: string }).job_id.split("_")[1]));
    expect([...shardsUsed].filter((s) => s !== "0").length).toBeGreaterThan(1);

    let asked = 0;
    const counting = {
      ...env,
      TASK_SHARD: {
        idFromName: (name: string) => env.TASK_SHARD.idFromName(name),
        get: (id: DurableObjectId) => {
          const stub = env.TASK_SHARD.get(id);
          return new Proxy(stub, {
            get(target, prop: string) {
              if (prop === "signingSecrets") asked++;
              const rpc = target as unknown as Record<string, (...args: unknown[]) => unknown>;
              return (...args: unknown[]) => rpc[prop]?.(...args);
            },
          });
        },
      } as unknown as typeof env.TASK_SHARD,
    };
    const result = await deliver(messages, counting);
    expect(result.explicitAcks).toHaveLength(16);
    // None when the home shard's begin answered first (it has them), else one ask for the batch.
    expect(asked).toBeLessThanOrEqual(1);
    expect(sent).toHaveLength(16);
    for (const request of sent) expect(request.headers.get("webhook-signature")).toMatch(/^v1,/);
  });
});

describe("an attempt replaced by its next occurrence (overlap cancel_other)", () => {
  it("is stopped at its cutoff by the consumer, which reports nothing; the shard cancels it", async () => {
    const user = await createUser();
    // Interval 1 s: the cutoff, the next nominal time, is at most a second of real time away (the
    // consumer's call stops on its own timer, which the test cannot move).
    const job = (
      await submit(user, {
        type: "http",
        payload: { url: "http://127.0.0.1:9/slow" },
        interval_seconds: 1,
        overlap: "cancel_other",
        max_retries: 0,
      })
    ).body;
    let aborted: number | null = null;
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => {
            aborted = Date.now();
            reject(new DOMException("aborted", "AbortError"));
          });
        }),
    );
    const [message] = await fireAlarm(user.user_id);
    expect(message?.job_id).toBe(job.id);
    const cutoff = await inShard(user.user_id, (_s, state) =>
      state.storage.sql.exec<{ d: number }>("select deadline as d from jobs where id = ?", job.id).one(),
    );
    const result = await deliver([message]);
    // Acked, stopped at the cutoff (not at its 60 s timeout), and never reported.
    expect(result.explicitAcks).toHaveLength(1);
    expect(aborted).not.toBeNull();
    // At the cutoff: not before it (less a timer's slack), and long before its own 60 s timeout (with
    // room for a busy machine's late timers).
    expect(aborted ?? 0).toBeGreaterThanOrEqual(cutoff.d - 100);
    expect(aborted ?? 0).toBeLessThan(cutoff.d + 5_000);
    // The shard's alarm at the cutoff (the runtime's own, or this one) cancels the attempt and starts
    // the next occurrence. No report of it was taken: it ended cancelled, not failed or timed out.
    await runDurableObjectAlarm(shardOf(user.user_id));
    const after = await getJob(user, job.id);
    const replaced = after.attempts.find((a) => a.number === message?.attempt);
    expect(replaced).toMatchObject({ status: "cancelled" });
    expect(replaced?.error).toContain("cancel_other");
  });
});
