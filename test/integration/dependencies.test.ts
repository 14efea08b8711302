// Dependencies (docs/design.md "Dependencies") through the API, the real shards and the consumer: fan-in
// from a batch ("@N"), failure propagation (transitively, and `run`), across a user's shards (the outbox,
// a lost message, a repeated one), the controls on a blocked job, retry, dependents, retention, and bad
// input that creates nothing.
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { shardOfJobId } from "../../src/core/ids";
import type { JobView } from "../../src/core/job";
import type { DispatchMessage } from "../../src/dispatch/message";
import type { Env } from "../../src/env";
import type { TaskShard } from "../../src/shard/task-shard";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  growShards,
  inShard,
  request,
  setShardClock,
  shardOf,
  submit,
  submitBatch,
  type TestUser,
} from "../support/helpers";
import { expectLogged } from "../support/log-capture";

afterEach(() => {
  vi.restoreAllMocks();
});

const noop = (extra: Record<string, unknown> = {}) => ({ type: "noop", ...extra });

const batch = submitBatch;

const inShardN = <R>(userId: string, n: number, fn: (s: TaskShard, state: DurableObjectState) => R) =>
  runInDurableObject(shardOf(userId, n), fn);

/** Fires every shard's alarm until nothing more is queued or told, running what is queued each round. */
async function runAll(user: TestUser, shards: number, rounds = 8): Promise<string[]> {
  const ran: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const queued: DispatchMessage[] = [];
    for (let n = 0; n < shards; n++) queued.push(...(await fireAlarm(user.user_id, n)));
    if (queued.length > 0) {
      await deliver(queued);
      ran.push(...queued.map((m) => m.job_id));
    }
  }
  return ran;
}

const messagesOn = (userId: string, n: number) =>
  inShardN(userId, n, (_s, state) =>
    state.storage.sql.exec<{ kind: string }>("select kind from dependency_messages").toArray(),
  );

/** Shard n's calls of `method` to the user's other shards fail (its messages stay in the outbox). */
const unreachable = (userId: string, n: number, method: "subscribeDependents" | "settleDependents") =>
  inShardN(userId, n, (s) => {
    const target = s as unknown as { env: Env };
    const real = target.env;
    const down = {
      idFromName: (name: string) => real.TASK_SHARD.idFromName(name),
      get: () => ({ [method]: () => Promise.reject(new Error("down")) }),
    };
    target.env = { ...real, TASK_SHARD: down as unknown as Env["TASK_SHARD"] };
  });

/** Shard n reaches the other shards again, and its messages are due now (not at their backoff). */
const reachable = (userId: string, n: number) =>
  inShardN(userId, n, (s, state) => {
    const target = s as unknown as { env: Env };
    target.env = { ...target.env, TASK_SHARD: env.TASK_SHARD };
    state.storage.sql.exec("update dependency_messages set deadline = 0");
  });

/** Places the next API-placed jobs on shard n (placement draws Math.random). */
function placeOn(n: number, shards: number) {
  vi.spyOn(Math, "random").mockReturnValue((n + 0.5) / shards);
}

describe("depends_on in one batch (fan-in)", () => {
  it("runs C only after A and B succeeded, and C becomes due when the last one did", async () => {
    const user = await createUser();
    const { status, body } = await batch(user, [
      noop({ name: "A" }),
      noop({ name: "B", run_at: new Date(Date.now() + 3_600_000).toISOString() }),
      noop({ name: "C", depends_on: ["@0", "@1"] }),
    ]);
    expect(status).toBe(201);
    const [a, b, c] = body.results.map((r) => r.job) as [JobView, JobView, JobView];
    expect(body.results.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(c.depends_on).toEqual([a.id, b.id]);
    expect(c.blocked_by).toEqual([a.id, b.id]);
    expect(c.status).toBe("scheduled");
    // The group lives on one shard: the whole graph in one transaction.
    expect(new Set([a, b, c].map((j) => shardOfJobId(j.id))).size).toBe(1);
    const n = shardOfJobId(a.id) as number;
    // A runs; B is not due yet; C waits on B.
    expect((await fireAlarm(user.user_id, n)).map((m) => m.job_id)).toEqual([a.id]);
    await deliver(await fireAlarm(user.user_id, n));
    expect((await getJob(user, c.id)).blocked_by).toEqual([b.id]);
    expect(await fireAlarm(user.user_id, n)).toEqual([]);
    // B is run now (its own control): when it succeeds, C is due at once, and runs.
    expect((await request(`/v1/jobs/${b.id}/run`, { method: "POST", headers: user.auth })).status).toBe(200);
    await deliver(await fireAlarm(user.user_id, n));
    const due = await getJob(user, c.id);
    expect(due.blocked_by).toEqual([]);
    expect(Date.parse(due.run_at)).toBeGreaterThanOrEqual(
      Date.parse((await getJob(user, b.id)).attempts[0]?.finished_at as string),
    );
    expect((await fireAlarm(user.user_id, n)).map((m) => m.job_id)).toEqual([c.id]);
    await deliver(await fireAlarm(user.user_id, n));
    const done = await getJob(user, c.id);
    expect(done.status).toBe("succeeded");
    const started = (id: string) =>
      getJob(user, id).then((j) => Date.parse(j.attempts[0]?.started_at as string));
    expect(await started(c.id)).toBeGreaterThanOrEqual(await started(b.id));
    // A's dependents are listed.
    const dependents = await request(`/v1/jobs/${a.id}/dependents`, { headers: user.auth });
    expect(await dependents.json()).toEqual({ dependents: [c.id] });
  });

  it("fails C with dependency_failed when A fails, and a job depending on C fails too", async () => {
    const user = await createUser();
    const { body } = await batch(user, [
      noop({ name: "A", max_retries: 0 }),
      noop({ name: "B" }),
      noop({ name: "C", depends_on: ["@0", "@1"] }),
      noop({ name: "D", depends_on: ["@2"] }),
      noop({ name: "E", depends_on: ["@0"], on_dependency_failure: "run" }),
    ]);
    const [a, , c, d, e] = body.results.map((r) => r.job) as JobView[];
    const n = shardOfJobId((a as JobView).id) as number;
    expect(await fireAlarm(user.user_id, n)).toHaveLength(2);
    await inShardN(user.user_id, n, async (s) => {
      await s.begin((a as JobView).id, 1);
      await s.finish((a as JobView).id, 1, { outcome: { ok: false }, error: "boom" });
    });
    for (const job of [c, d] as JobView[]) {
      const seen = await getJob(user, job.id);
      expect(seen.status).toBe("failed");
      expect(seen.last_error).toBe("dependency_failed");
      expect(seen.attempts).toEqual([]);
    }
    // `run`: E is no longer blocked and runs anyway.
    expect((await getJob(user, (e as JobView).id)).blocked_by).toEqual([]);
    const ran = await runAll(user, 1);
    expect(ran).toContain((e as JobView).id);
    expect(ran).not.toContain((c as JobView).id);
    expect((await getJob(user, (e as JobView).id)).status).toBe("succeeded");
  });
});

describe("depends_on across a user's shards", () => {
  it("hears a dependency on another shard, through the outbox, and a lost message only delays it", async () => {
    const user = await createUser();
    await growShards(user, 4);
    placeOn(1, 4);
    const a = (await submit(user, noop({ name: "A" }))).body;
    placeOn(3, 4);
    const b = (await submit(user, noop({ name: "B", depends_on: [a.id] }))).body;
    expect([shardOfJobId(a.id), shardOfJobId(b.id)]).toEqual([1, 3]);
    expect(b.blocked_by).toEqual([a.id]);
    // B's shard subscribes to A on A's shard; first that shard cannot be reached: the message stays.
    await unreachable(user.user_id, 3, "subscribeDependents");
    expect(await messagesOn(user.user_id, 3)).toEqual([{ kind: "subscribe" }]);
    await fireAlarm(user.user_id, 3);
    const kept = await inShardN(user.user_id, 3, (_s, state) =>
      state.storage.sql
        .exec<{ sends: number; deadline: number }>("select sends, deadline from dependency_messages")
        .one(),
    );
    expect(kept.sends).toBe(1);
    expect(kept.deadline).toBeGreaterThan(Date.now());
    expectLogged("dependency_messages_failed", {
      shard: `${user.user_id}/3`,
      kind: "subscribe",
      to: 1,
      error: { message: "down" },
    });
    // Reachable again: the next try (its deadline moved to now) subscribes.
    await reachable(user.user_id, 3);
    await fireAlarm(user.user_id, 3);
    expect(await messagesOn(user.user_id, 3)).toEqual([]);
    // A second, repeated subscribe changes nothing.
    expect(await shardOf(user.user_id, 1).subscribeDependents([{ jobId: b.id, depId: a.id }])).toEqual([
      "pending",
    ]);
    // A runs on its shard: its dependent on shard 3 is told by a settle message, then runs.
    const ran = await runAll(user, 4);
    expect(ran.indexOf(a.id)).toBeGreaterThanOrEqual(0);
    expect(ran.indexOf(b.id)).toBeGreaterThan(ran.indexOf(a.id));
    expect((await getJob(user, b.id)).status).toBe("succeeded");
    expect(await messagesOn(user.user_id, 1)).toEqual([]);
  });
});

describe("bad input creates nothing", () => {
  it("refuses unknown ids, another user's job, @N outside a batch or naming a later item, recurring jobs", async () => {
    const user = await createUser();
    const other = await createUser();
    const theirs = (await submit(other, noop())).body;
    const mine = (await submit(user, noop())).body;
    const missing = `${mine.id.slice(0, -4)}${mine.id.endsWith("zzzz") ? "yyyy" : "zzzz"}`;
    const cases: [Record<string, unknown>, string][] = [
      [noop({ depends_on: [missing] }), "depends_on[0]"],
      [noop({ depends_on: [mine.id, theirs.id] }), "depends_on[1]"],
      [noop({ depends_on: ["@0"] }), "depends_on[0]"],
      [noop({ depends_on: ["nope"] }), "depends_on[0]"],
      [noop({ depends_on: [mine.id, mine.id] }), "depends_on"],
      [noop({ depends_on: [] }), "depends_on"],
      [noop({ depends_on: [mine.id], interval_seconds: 60 }), "depends_on"],
      [noop({ depends_on: [mine.id], debounce: { key: "k", delay_seconds: 1 } }), "depends_on"],
      [noop({ depends_on: [mine.id], on_dependency_failure: "ignore" }), "on_dependency_failure"],
    ];
    for (const [body, path] of cases) {
      const res = await submit(user, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const details = (res.body as unknown as { error: { details: { path: string }[] } }).error.details;
      expect(details.map((d) => d.path)).toContain(path);
    }
    const later = await batch(user, [noop({ depends_on: ["@1"] }), noop()]);
    expect(later.status).toBe(400);
    const unknownInBatch = await batch(user, [noop(), noop({ depends_on: ["@0", missing] })]);
    expect(unknownInBatch.status).toBe(400);
    expect(JSON.stringify(unknownInBatch.body)).toContain("jobs[1].depends_on[1]");
    const listed = await inShardN(user.user_id, 0, (_s, state) =>
      state.storage.sql.exec<{ n: number }>("select count(*) as n from jobs").one(),
    );
    expect(listed.n).toBe(1);
  });
});

describe("controls on a blocked job", () => {
  it("refuses run, pauses and resumes, and a cancel fails its dependents", async () => {
    const user = await createUser();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const { body } = await batch(user, [
      noop({ run_at: later }),
      noop({ depends_on: ["@0"] }),
      noop({ depends_on: ["@1"] }),
    ]);
    const [a, b, c] = body.results.map((r) => r.job) as [JobView, JobView, JobView];
    const post = (id: string, what: string) =>
      request(`/v1/jobs/${id}/${what}`, { method: "POST", headers: user.auth });
    expect((await post(b.id, "run")).status).toBe(409);
    expect((await post(b.id, "pause")).status).toBe(200);
    // A succeeds while B is paused: B stays paused, no longer blocked, and runs when resumed.
    await post(a.id, "run");
    const n = shardOfJobId(a.id) as number;
    await deliver(await fireAlarm(user.user_id, n));
    const paused = await getJob(user, b.id);
    expect([paused.status, paused.blocked_by]).toEqual(["paused", []]);
    expect(await fireAlarm(user.user_id, n)).toEqual([]);
    expect((await post(b.id, "resume")).status).toBe(200);
    // Cancelling B fails C (dependency_failed); retrying C waits on B again, which failed: it fails again.
    expect((await request(`/v1/jobs/${b.id}`, { method: "DELETE", headers: user.auth })).status).toBe(200);
    expect((await getJob(user, c.id)).last_error).toBe("dependency_failed");
    expect((await post(c.id, "retry")).status).toBe(200);
    expect((await getJob(user, c.id)).status).toBe("failed");
    // Retry B, then C: C waits on B and runs after it.
    expect((await post(b.id, "retry")).status).toBe(200);
    const waiting = (await (await post(c.id, "retry")).json()) as JobView;
    expect([waiting.status, waiting.blocked_by]).toEqual(["scheduled", [b.id]]);
    const ran = await runAll(user, 1);
    expect(ran.indexOf(c.id)).toBeGreaterThan(ran.indexOf(b.id));
    expect((await getJob(user, c.id)).status).toBe("succeeded");
  });
});

describe("what a dependency already is when the dependent is submitted", () => {
  it("a succeeded one does not block, a failed one fails it at once, a recurring one counts its next occurrence", async () => {
    const user = await createUser();
    await growShards(user, 2);
    placeOn(0, 2);
    const ok = (await submit(user, noop())).body;
    const bad = (await submit(user, noop({ max_retries: 0 }))).body;
    const every = (await submit(user, noop({ interval_seconds: 3600 }))).body;
    await fireAlarm(user.user_id, 0);
    await inShardN(user.user_id, 0, async (s) => {
      await s.begin(ok.id, 1);
      await s.finish(ok.id, 1, { outcome: { ok: true } });
      await s.begin(bad.id, 1);
      await s.finish(bad.id, 1, { outcome: { ok: false }, error: "boom" });
    });
    placeOn(1, 2);
    const after = (await submit(user, noop({ depends_on: [ok.id] }))).body;
    expect([after.status, after.blocked_by]).toEqual(["scheduled", []]);
    const failed = await submit(user, noop({ depends_on: [ok.id, bad.id] }));
    expect(failed.status).toBe(201);
    expect([failed.body.status, failed.body.last_error]).toEqual(["failed", "dependency_failed"]);
    const onEvery = (await submit(user, noop({ depends_on: [every.id] }))).body;
    expect(onEvery.blocked_by).toEqual([every.id]);
    await runAll(user, 2, 3);
    // The recurring job's occurrence (it was claimed above, before the dependent existed) finished:
    // the dependent heard it and ran.
    expect((await getJob(user, onEvery.id)).status).toBe("succeeded");
    expect((await getJob(user, after.id)).status).toBe("succeeded");
    // Each dependency lists its dependents, those that heard it at once included.
    const dependentsOf = async (id: string) =>
      (
        (await (await request(`/v1/jobs/${id}/dependents`, { headers: user.auth })).json()) as {
          dependents: string[];
        }
      ).dependents;
    expect(await dependentsOf(ok.id)).toEqual([after.id, failed.body.id].sort());
    expect(await dependentsOf(bad.id)).toEqual([failed.body.id]);
  });
});

describe("a batch item naming an item that was not created", () => {
  it("is not created either (409), and a repeat of the whole graph with keys replays it", async () => {
    const user = await createUser();
    const graph = [
      { ...noop({ payload: { v: 1 } }), idempotency_key: "graph-a" },
      { ...noop({ depends_on: ["@0"] }), idempotency_key: "graph-c" },
    ];
    const first = await batch(user, graph);
    expect(first.body.results.map((r) => r.status)).toEqual([201, 201]);
    const again = await batch(user, graph);
    expect(again.body.results.map((r) => r.status)).toEqual([200, 200]);
    expect(again.body.results.map((r) => r.job.id)).toEqual(first.body.results.map((r) => r.job.id));
    const conflicting = await batch(user, [
      { ...noop({ payload: { v: 2 } }), idempotency_key: "graph-a" },
      noop({ depends_on: ["@0"] }),
    ]);
    expect(conflicting.body.results.map((r) => r.status)).toEqual([409, 409]);
    expect(JSON.stringify(conflicting.body.results[1])).toContain("was not created");
  });
});

describe("retention", () => {
  it("keeps a finished dependency until its dependent on another shard has heard of it", async () => {
    const user = await createUser();
    await growShards(user, 2);
    placeOn(0, 2);
    const a = (await submit(user, noop())).body;
    placeOn(1, 2);
    const b = (await submit(user, noop({ depends_on: [a.id] }))).body;
    await fireAlarm(user.user_id, 1); // B's shard subscribes to A.
    // A's shard cannot reach B's: A finishes, its settle message stays in its outbox.
    await unreachable(user.user_id, 0, "settleDependents");
    await deliver(await fireAlarm(user.user_id, 0));
    expect((await getJob(user, a.id)).status).toBe("succeeded");
    expect(await messagesOn(user.user_id, 0)).toEqual([{ kind: "settle" }]);
    // Past A's retention, the shard still keeps it: B has not heard.
    const later = Date.now() + 8 * 86_400_000;
    await inShardN(user.user_id, 0, (s) => {
      s.clock = () => later;
    });
    await fireAlarm(user.user_id, 0);
    expect((await getJob(user, a.id)).status).toBe("succeeded");
    expectLogged("dependency_messages_failed", {
      shard: `${user.user_id}/0`,
      kind: "settle",
      to: 1,
      error: { message: "down" },
    });
    // Reachable again: B hears, and A goes at its next removal.
    await reachable(user.user_id, 0);
    await inShardN(user.user_id, 0, (_s, state) =>
      state.storage.sql.exec("update jobs set deadline = 0 where status = 'succeeded'"),
    );
    await fireAlarm(user.user_id, 0);
    expect((await getJob(user, b.id)).blocked_by).toEqual([]);
    await fireAlarm(user.user_id, 0);
    expect((await request(`/v1/jobs/${a.id}`, { headers: user.auth })).status).toBe(404);
  });
});

describe("a pooled dependent made due", () => {
  // A due job that names pools does not drive the alarm by its deadline (it may be waiting for units,
  // and a release wakes the shard), so whatever makes one due at once must wake the shard itself.
  const alarmOf = (user: TestUser) => inShard(user.user_id, (_s, state) => state.storage.getAlarm());

  it("wakes the shard at once when its dependency succeeds, and is claimed then", async () => {
    const user = await createUser();
    // The shard's clock ahead of the wall clock: the runtime fires no alarm by itself.
    const now = Date.now() + 86_400_000;
    await setShardClock(user.user_id, now);
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const at = new Date(now).toISOString();
    const { body } = await batch(user, [
      noop({ run_at: at }),
      noop({ run_at: at, depends_on: ["@0"], resources: { p: 1 } }),
    ]);
    const [a, b] = body.results.map((r) => r.job) as [JobView, JobView];
    expect((await fireAlarm(user.user_id, 0)).map((m) => m.job_id)).toEqual([a.id]);
    await deliver(await fireAlarm(user.user_id, 0));
    expect((await getJob(user, b.id)).blocked_by).toEqual([]);
    expect(await alarmOf(user)).toBeLessThanOrEqual(now);
    expect((await fireAlarm(user.user_id, 0)).map((m) => m.job_id)).toEqual([b.id]);
  });

  it("wakes the shard at once when a dependency of a job that says run is cancelled", async () => {
    const user = await createUser();
    const now = Date.now() + 86_400_000;
    await setShardClock(user.user_id, now);
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const { body } = await batch(user, [
      noop({ run_at: new Date(now + 3_600_000).toISOString() }),
      noop({ depends_on: ["@0"], on_dependency_failure: "run", resources: { p: 1 } }),
    ]);
    const [a, b] = body.results.map((r) => r.job) as [JobView, JobView];
    await fireAlarm(user.user_id, 0);
    expect((await request(`/v1/jobs/${a.id}`, { method: "DELETE", headers: user.auth })).status).toBe(200);
    expect((await getJob(user, b.id)).blocked_by).toEqual([]);
    expect(await alarmOf(user)).toBeLessThanOrEqual(now);
  });

  it("wakes the home shard at once when a dependency on another shard succeeds", async () => {
    const user = await createUser();
    await growShards(user, 2);
    const now = Date.now() + 86_400_000;
    for (const n of [0, 1])
      await inShardN(user.user_id, n, (s) => {
        s.clock = () => now;
      });
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    placeOn(1, 2);
    const a = (await submit(user, noop({ run_at: new Date(now).toISOString() }))).body;
    // Pooled: on the home shard.
    const b = (await submit(user, noop({ depends_on: [a.id], resources: { p: 1 } }))).body;
    expect([shardOfJobId(a.id), shardOfJobId(b.id)]).toEqual([1, 0]);
    await fireAlarm(user.user_id, 0); // subscribes
    await deliver(await fireAlarm(user.user_id, 1)); // A runs and succeeds
    await fireAlarm(user.user_id, 1); // tells B's shard
    expect((await getJob(user, b.id)).blocked_by).toEqual([]);
    expect(await alarmOf(user)).toBeLessThanOrEqual(now);
  });

  it("is claimed in the alarm run whose expiry of its dependency made it due, before lower priorities", async () => {
    const user = await createUser();
    const now = Date.now() + 86_400_000;
    await setShardClock(user.user_id, now);
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 1 } });
    const at = new Date(now).toISOString();
    // X is due a second after the submit (a job due at its submit would go out with it).
    const { body } = await batch(user, [
      noop({ run_at: new Date(now + 1_000).toISOString(), priority: 100, expires_after_seconds: 1 }),
      noop({ depends_on: ["@0"], on_dependency_failure: "run", priority: 100, resources: { p: 1 } }),
      noop({ run_at: at, resources: { p: 1 } }),
    ]);
    const [x, d] = body.results.map((r) => r.job) as [JobView, JobView, JobView];
    // X is too late to start: the alarm expires it, which makes D due; D outranks the other job.
    await setShardClock(user.user_id, now + 5_000);
    expect((await fireAlarm(user.user_id, 0)).map((m) => m.job_id)).toEqual([d.id]);
    expect((await getJob(user, x.id)).last_error).toBe("expired");
  });

  it("goes in the next run, at once, when a lower job reserved its pool before the expiry made it due", async () => {
    const user = await createUser();
    const now = Date.now() + 86_400_000;
    await setShardClock(user.user_id, now);
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 2 } });
    const at = new Date(now + 1_000).toISOString();
    const { body } = await batch(user, [
      noop({ run_at: at, priority: 100, resources: { p: 1 } }),
      // Ahead of X in the walk (due as early, lower id): wants both units, one is taken, so it reserves.
      noop({ run_at: at, resources: { p: 2 } }),
      noop({ run_at: new Date(now + 2_000).toISOString(), expires_after_seconds: 1 }),
      noop({ depends_on: ["@2"], on_dependency_failure: "run", priority: 100, resources: { p: 1 } }),
    ]);
    const [c, _a, x, d] = body.results.map((r) => r.job) as [JobView, JobView, JobView, JobView];
    await setShardClock(user.user_id, now + 5_000);
    // X expires after the reservation: D comes due then, and this run cannot give it the unit.
    expect((await fireAlarm(user.user_id, 0)).map((m) => m.job_id)).toEqual([c.id]);
    expect((await getJob(user, x.id)).last_error).toBe("expired");
    expect((await getJob(user, d.id)).status).toBe("scheduled");
    // So the alarm is due at once, and the next run, deciding afresh, gives D (priority 100) the unit.
    expect(await inShard(user.user_id, (_s, state) => state.storage.getAlarm())).toBeLessThanOrEqual(
      now + 5_000,
    );
    expect((await fireAlarm(user.user_id, 0)).map((m) => m.job_id).sort()).toEqual([c.id, d.id].sort());
  });
});
