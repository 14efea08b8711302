// The consumer's reports to a shard go by group commit (src/consumer/report-batcher.ts): a batch's
// attempts of one shard begin in one request and, when they end together, report in fewer requests
// than attempts, each report still fenced on its own; a request that cannot be delivered retries only
// the messages whose reports it carried. (How reports wait for a request in flight is the unit test's,
// test/unit/report-batcher.test.ts, where the test answers each request by hand.)
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import type { BeginResult, FinishReport, FinishResult } from "../../src/shard/rpc";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  inShard,
  setShardClock,
  shardOf,
  submit,
} from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

type Real = ReturnType<typeof env.TASK_SHARD.get>;

/**
 * The Worker's env with a shard namespace that records the consumer's beginMany and finishMany calls
 * (the jobs each carried) and lets a test act around them.
 */
function recordingShards(hooks: {
  afterBegin?: (real: Real) => Promise<void>;
  beforeFinish?: (reports: FinishReport[]) => void;
}) {
  const begins: string[][] = [];
  const finishes: string[][] = [];
  const ns = env.TASK_SHARD;
  const namespace = {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: DurableObjectId) => {
      const real = ns.get(id);
      return {
        beginMany: async (...args: Parameters<Real["beginMany"]>) => {
          begins.push(args[0].map((a) => a.jobId));
          const answers = await real.beginMany(...args);
          await hooks.afterBegin?.(real);
          return answers;
        },
        finishMany: (reports: FinishReport[]) => {
          finishes.push(reports.map((r) => r.jobId));
          hooks.beforeFinish?.(reports);
          return real.finishMany(reports);
        },
        heartbeat: (jobId: string, attempt: number) => real.heartbeat(jobId, attempt),
        signingSecrets: () => real.signingSecrets(),
      };
    },
  };
  return { bindings: { ...env, TASK_SHARD: namespace as unknown as Env["TASK_SHARD"] }, begins, finishes };
}

describe("group commit of a batch's reports", () => {
  it("attempts whose calls end milliseconds apart share one finish request (the linger)", async () => {
    const user = await createUser();
    for (let i = 0; i < 4; i++) {
      await submit(user, { type: "http", payload: { url: "https://example.com/hook" } });
    }
    // The target answers the i-th call i × 3 ms after it: each report is ready at its own time.
    let call = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      const delay = 3 * call++;
      await new Promise((resolve) => setTimeout(resolve, delay));
      return new Response("ok");
    });
    await setShardClock(user.user_id, Date.now() + 1_000);
    const sent = await fireAlarm(user.user_id);
    expect(sent).toHaveLength(4);
    const { bindings, finishes } = recordingShards({});
    // A linger no machine's load can run out: the last attempt's report is what sends the group.
    const result = await deliver(sent, { ...bindings, REPORT_LINGER_MS: "10000" });
    expect(result.explicitAcks).toHaveLength(4);
    expect(call).toBe(4);
    expect(finishes).toHaveLength(1);
    expect(new Set(finishes[0])).toEqual(new Set(sent.map((m) => m.job_id)));
  });

  it("N attempts of one shard: one begin, fewer finish requests than N, each report fenced on its own", async () => {
    const user = await createUser();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await submit(user, { type: "noop", max_retries: 1, retry_delay_seconds: 60 })).body.id);
    }
    const t0 = Date.now() + 1_000;
    await setShardClock(user.user_id, t0);
    const sent = await fireAlarm(user.user_id);
    expect(sent.map((m) => m.job_id)).toEqual([...ids].sort());
    const middle = sent[2];
    if (!middle) throw new Error("not dispatched");
    // While the attempts run, another report of the middle job's attempt gets there first (a failure):
    // the consumer's own report of it is then refused as stale, in the middle of its group.
    const { bindings, begins, finishes } = recordingShards({
      afterBegin: async (real) => {
        const first = await real.finish(middle.job_id, middle.attempt, {
          outcome: { ok: false },
          error: "reported first",
        });
        expect(first.ok).toBe(true);
      },
    });
    const logged: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      if (typeof line === "string") logged.push(line);
    });
    const result = await deliver(sent, bindings);

    expect(result.explicitAcks).toHaveLength(6);
    expect(result.retryMessages).toEqual([]);
    expect(begins).toEqual([sent.map((m) => m.job_id)]);
    expect(finishes.length).toBeLessThan(6);
    // Every report went, in the order the attempts ended (here: all together, in one request).
    expect(finishes).toEqual([sent.map((m) => m.job_id)]);
    for (const m of sent) {
      const job = await getJob(user, m.job_id);
      if (m === middle) {
        expect(job).toMatchObject({ status: "scheduled", current_retries: 1, last_error: "reported first" });
        expect(job.attempts.map((a) => a.status)).toEqual(["failed"]);
      } else {
        expect(job.status, m.job_id).toBe("succeeded");
      }
    }
    const reported = logged.map((l) => JSON.parse(l)).filter((e) => e.event === "attempts_reported");
    expect(reported).toEqual([
      expect.objectContaining({ user_id: user.user_id, shard: 0, attempts: 6, accepted: 5, refused: 1 }),
    ]);
  });

  it("a finish request that fails every try retries only the messages whose reports it carried", async () => {
    const user = await createUser();
    const answers = new Map<string, (r: Response) => void>();
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (input) => new Promise<Response>((resolve) => answers.set(new URL(String(input)).pathname, resolve)),
    );
    const ids = new Map<string, string>();
    for (const name of ["a", "b", "c"]) {
      const { body } = await submit(user, { type: "http", payload: { url: `https://example.com/${name}` } });
      ids.set(name, body.id);
    }
    const sent = await fireAlarm(user.user_id);
    const { bindings, finishes } = recordingShards({
      beforeFinish: (reports) => {
        if (reports.some((r) => r.jobId === ids.get("a"))) throw new Error("shard unreachable");
      },
    });
    vi.spyOn(console, "error").mockImplementation(() => {});
    const logged: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      if (typeof line === "string") logged.push(line);
    });
    const running = deliver(sent, bindings);
    await vi.waitFor(() => expect(answers.size).toBe(3));
    answers.get("/a")?.(new Response("a"));
    // Its request is tried three times (REPORT_TRIES), then its message is left to the queue's retry.
    await vi.waitFor(() => expect(finishes).toHaveLength(3));
    answers.get("/b")?.(new Response("b"));
    answers.get("/c")?.(new Response("c"));
    const result = await running;

    const a = ids.get("a") ?? "";
    expect(finishes.slice(0, 3)).toEqual([[a], [a], [a]]);
    // b and c went afterwards, together or one after the other (their bodies are read in turns of
    // their own), never with a.
    expect(finishes.slice(3).flat().sort()).toEqual([ids.get("b"), ids.get("c")].sort());
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toHaveLength(2);
    expect((await getJob(user, a)).status).toBe("running");
    expect((await getJob(user, ids.get("b") ?? "")).status).toBe("succeeded");
    expect((await getJob(user, ids.get("c") ?? "")).status).toBe("succeeded");
    const reported = logged.map((l) => JSON.parse(l)).filter((e) => e.event === "attempts_reported");
    expect(reported).toEqual([
      expect.objectContaining({ attempts: 3, accepted: 2, refused: 0, unreported: 1 }),
    ]);
    // The retried message finds its attempt begun: refused at begin, it runs nothing twice; the shard's
    // deadline gives the attempt up and retries the job.
    expect((await shardOf(user.user_id).begin(a, sent.find((m) => m.job_id === a)?.attempt ?? 0)).ok).toBe(
      false,
    );
  });
});

describe("finishMany on the shard", () => {
  it("fences each report alone, answers in order, and shares one minute row and one callback send", async () => {
    const user = await createUser();
    // A minute ahead of the wall clock, so the runtime never fires the submits' index copies by itself
    // mid-test (each accepted report is priced below with its copy still pending).
    await setShardClock(user.user_id, Date.now() + 60_000);
    const callback = { callback_url: "http://127.0.0.1:9/callback" };
    const a = (await submit(user, { type: "noop", ...callback })).body.id;
    const b = (await submit(user, { type: "noop", ...callback })).body.id;
    const c = (await submit(user, { type: "noop", ...callback, max_retries: 0 })).body.id;
    const d = (await submit(user, { type: "noop" })).body.id;
    const sent = await fireAlarm(user.user_id);
    const attemptOf = (id: string) => sent.find((m) => m.job_id === id)?.attempt ?? 0;
    const shard = shardOf(user.user_id);
    // Through the RPC stub's types an answer holding `unknown` (the payload) reads as never: named here.
    const begun = (await shard.beginMany(
      [a, b, c, d].map((jobId) => ({ jobId, attempt: attemptOf(jobId) })),
    )) as unknown as BeginResult[];
    expect(begun.map((x) => x.ok)).toEqual([true, true, true, true]);
    const batches: unknown[][] = [];
    await inShard(user.user_id, (s) => {
      const guts = s as unknown as { env: Env };
      const queue = {
        send: async () => {
          throw new Error("sendBatch only");
        },
        sendBatch: async (batch: Iterable<MessageSendRequest>) => {
          batches.push([...batch].map((m) => m.body));
        },
      };
      guts.env = { ...guts.env, DISPATCH: queue as unknown as Queue<unknown> };
    });
    const minutesBefore = await inShard(user.user_id, (_s, state) =>
      state.storage.sql.exec("select * from metric_minutes").toArray(),
    );
    expect(minutesBefore).toEqual([]);
    resetOperationTotals();

    const ok = { outcome: { ok: true as const } };
    const results = (await shard.finishMany([
      { jobId: a, attempt: attemptOf(a), report: ok },
      // An older attempt's report, in the middle: refused, the ones after it go on.
      { jobId: b, attempt: attemptOf(b) - 1, report: ok },
      { jobId: c, attempt: attemptOf(c), report: { outcome: { ok: false }, error: "boom" } },
      { jobId: d, attempt: attemptOf(d), report: ok },
      // The same report of a twice in one request: the second is refused.
      { jobId: a, attempt: attemptOf(a), report: ok },
    ])) as unknown as FinishResult[];
    const counted = operationTotals();

    expect(results.map((r) => (r.ok ? `${r.view.id}:${r.view.status}` : r.reason))).toEqual([
      `${a}:succeeded`,
      "stale",
      `${c}:failed`,
      `${d}:succeeded`,
      "finished",
    ]);
    expect((await getJob(user, b)).status).toBe("running");
    // One send for the callbacks the request finished (a's and c's; d has none, b did not finish).
    expect(batches).toEqual([
      [
        expect.objectContaining({ kind: "callback", job_id: a }),
        expect.objectContaining({ kind: "callback", job_id: c }),
      ],
    ]);
    // One request; per accepted report the job row (the attempt ended in it; its submit's index copy
    // still pending, and left to the retention sweep: no jobs_wake entry), the minute's row once,
    // holding all three, and the sweep's cursor, made and given its time by these, the shard's first
    // finished jobs (src/shard/sql/retention-sweep.ts).
    expect(counted.finish).toMatchObject({ doRequests: 1, sqlRowsWritten: 3 * 1 + 1 + 2 });
    expect(counted.callback).toMatchObject({ queueMessages: 2 });
    const minutes = await inShard(user.user_id, (_s, state) =>
      state.storage.sql
        .exec<{ succeeded: number; failed: number; jobs_succeeded: number; jobs_failed: number }>(
          "select succeeded, failed, jobs_succeeded, jobs_failed from metric_minutes",
        )
        .toArray()
        .map((r) => ({ ...r })),
    );
    expect(minutes).toEqual([{ succeeded: 2, failed: 1, jobs_succeeded: 2, jobs_failed: 1 }]);
  });
});
