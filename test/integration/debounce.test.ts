// Debounce (docs/design.md "Debounce") through the API and the real shard: replace-while-pending with
// delay_seconds and max_wait_seconds, 200 vs 201, exact under concurrent submits, after the job started,
// in a batch, with an Idempotency-Key, across shard growth, and bad input.
import { afterEach, describe, expect, it, vi } from "vitest";
import { debouncedRunAt } from "../../src/core/debounce";
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

afterEach(() => {
  vi.restoreAllMocks();
});

const jobsOf = (user: TestUser) =>
  inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ id: string; status: string }>("select id, status from jobs order by rowid")
      .toArray(),
  );

const debounced = (n: number, extra: Record<string, unknown> = {}) => ({
  type: "noop",
  payload: { n },
  debounce: { key: "reindex-7", delay_seconds: 2 },
  ...extra,
});

describe("debouncedRunAt", () => {
  it("is delay after the latest submit, but no later than max_wait after the first", () => {
    const d = { key: "k", delay_seconds: 10, max_wait_seconds: 15 };
    expect(debouncedRunAt(d, 0, 0)).toBe(10_000);
    expect(debouncedRunAt(d, 0, 4_000)).toBe(14_000);
    expect(debouncedRunAt(d, 0, 12_000)).toBe(15_000);
    expect(debouncedRunAt({ ...d, max_wait_seconds: null }, 0, 12_000)).toBe(22_000);
  });
});

describe("debounce", () => {
  it("replaces the pending job: one job, the last body, due delay after the last submit (201 then 200s)", async () => {
    const user = await createUser();
    const T = Date.now() + 60_000;
    const answers = [];
    for (let i = 1; i <= 5; i++) {
      await setShardClock(user.user_id, T + i * 150);
      answers.push(await submit(user, debounced(i)));
    }
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const job = await getJob(user, answers[0]?.body.id as string);
    expect(job.payload).toEqual({ n: 5 });
    expect(Date.parse(job.run_at)).toBe(T + 5 * 150 + 2000);
    expect(job.debounce).toEqual({ key: "reindex-7", delay_seconds: 2, max_wait_seconds: null });
    expect((await jobsOf(user)).length).toBe(1);
    // Nothing runs before it is due; then once, with the last body.
    await setShardClock(user.user_id, T + 5 * 150 + 1999);
    expect(await fireAlarm(user.user_id)).toHaveLength(0);
    await setShardClock(user.user_id, T + 5 * 150 + 2000);
    const sent = await fireAlarm(user.user_id);
    expect(sent).toHaveLength(1);
  });

  it("runs no later than max_wait_seconds after the first submit", async () => {
    const user = await createUser();
    const T = Date.now() + 60_000;
    const body = (n: number) => ({
      type: "noop",
      payload: { n },
      debounce: { key: "k", delay_seconds: 10, max_wait_seconds: 15 },
    });
    for (const at of [0, 6_000, 12_000]) {
      await setShardClock(user.user_id, T + at);
      await submit(user, body(at));
    }
    const [row] = await jobsOf(user);
    expect(Date.parse((await getJob(user, row?.id as string)).run_at)).toBe(T + 15_000);
  });

  it("once the job has started, the next submit with the key makes a new pending job", async () => {
    const user = await createUser();
    const T = Date.now() + 60_000;
    await setShardClock(user.user_id, T);
    const first = await submit(user, debounced(1));
    await setShardClock(user.user_id, T + 2000);
    const [claim] = await fireAlarm(user.user_id);
    // Claimed (its message in flight) is started: not replaced.
    const whileQueued = await submit(user, debounced(2));
    expect(whileQueued.status).toBe(201);
    expect(whileQueued.body.id).not.toBe(first.body.id);
    await deliver([claim]);
    expect((await getJob(user, first.body.id)).payload).toEqual({ n: 1 });
    // The new one is pending, and is what the next submit replaces.
    const again = await submit(user, debounced(3));
    expect(again).toMatchObject({ status: 200, body: { id: whileQueued.body.id, payload: { n: 3 } } });
  });

  it("is exact under concurrent submits: one pending job per key", async () => {
    const user = await createUser();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(user, debounced(i))));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(9);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await jobsOf(user)).toHaveLength(1);
  });

  it("keeps a key's home as the user's shards grow", async () => {
    const user = await createUser();
    const first = await submit(user, debounced(1));
    await growShards(user, 8);
    const second = await submit(user, debounced(2));
    await growShards(user, 16);
    const third = await submit(user, debounced(3));
    expect([second.status, third.status]).toEqual([200, 200]);
    expect(new Set([first.body.id, second.body.id, third.body.id]).size).toBe(1);
    expect(first.body.id.startsWith("job_0_")).toBe(true);
  });

  it("in a batch: a later item with the key replaces the earlier one, and a pending job is replaced too", async () => {
    const user = await createUser();
    type Results = { results: { status: number; job: { id: string; payload: unknown } }[] };
    const batch = async (items: unknown[]) => {
      const res = await request("/v1/jobs/batch", {
        method: "POST",
        headers: user.auth,
        json: { jobs: items },
      });
      return { status: res.status, body: (await res.json()) as Results };
    };
    const one = await batch([debounced(1), { type: "noop" }, debounced(2)]);
    expect(one.status).toBe(201);
    expect(one.body.results.map((r) => r.status)).toEqual([201, 201, 200]);
    const [a, , c] = one.body.results;
    expect(c?.job.id).toBe(a?.job.id);
    expect((await getJob(user, a?.job.id as string)).payload).toEqual({ n: 2 });
    const two = await batch([debounced(3), debounced(4)]);
    expect(two.body.results.map((r) => [r.status, r.job.id])).toEqual([
      [200, a?.job.id],
      [200, a?.job.id],
    ]);
    expect((await getJob(user, a?.job.id as string)).payload).toEqual({ n: 4 });
    expect((await jobsOf(user)).length).toBe(2);
  });

  it("with an Idempotency-Key, a replay answers as before; a new key replaces", async () => {
    const user = await createUser();
    const first = await submit(user, debounced(1), { "idempotency-key": "a" });
    const replay = await submit(user, debounced(1), { "idempotency-key": "a" });
    expect(replay).toMatchObject({ status: 200, body: { id: first.body.id, payload: { n: 1 } } });
    const next = await submit(user, debounced(2), { "idempotency-key": "b" });
    expect(next).toMatchObject({ status: 200, body: { id: first.body.id, payload: { n: 2 } } });
    // The second key names the same job.
    const replayB = await submit(user, debounced(2), { "idempotency-key": "b" });
    expect(replayB.body.id).toBe(first.body.id);
    expect(await jobsOf(user)).toHaveLength(1);
  });

  it("a paused job has not started: it is replaced and stays paused; a cancelled one is not pending", async () => {
    const user = await createUser();
    const first = await submit(user, debounced(1));
    await request(`/v1/jobs/${first.body.id}/pause`, { method: "POST", headers: user.auth });
    const second = await submit(user, debounced(2));
    expect(second).toMatchObject({
      status: 200,
      body: { id: first.body.id, status: "paused", payload: { n: 2 } },
    });
    const resumed = await request(`/v1/jobs/${first.body.id}/resume`, { method: "POST", headers: user.auth });
    expect(((await resumed.json()) as { status: string }).status).toBe("scheduled");
    await request(`/v1/jobs/${first.body.id}`, { method: "DELETE", headers: user.auth });
    const third = await submit(user, debounced(3));
    expect(third.status).toBe(201);
    expect(third.body.id).not.toBe(first.body.id);
  });

  it("a cancelled job retried runs as a plain job: the key keeps one pending job", async () => {
    const user = await createUser();
    const first = await submit(user, debounced(1));
    await request(`/v1/jobs/${first.body.id}`, { method: "DELETE", headers: user.auth });
    const second = await submit(user, debounced(2));
    expect(second.status).toBe(201);
    const retried = await request(`/v1/jobs/${first.body.id}/retry`, { method: "POST", headers: user.auth });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { debounce: unknown }).debounce).toBeNull();
    // The next submit replaces the key's one pending job, not the retried one.
    const third = await submit(user, debounced(3));
    expect(third).toMatchObject({ status: 200, body: { id: second.body.id } });
    expect((await getJob(user, first.body.id)).payload).toEqual({ n: 1 });
    // The same through a bulk retry.
    await request(`/v1/jobs/${second.body.id}`, { method: "DELETE", headers: user.auth });
    const fourth = await submit(user, debounced(4));
    const bulk = await request("/v1/jobs/retry", {
      method: "POST",
      headers: user.auth,
      json: { ids: [second.body.id] },
    });
    expect(((await bulk.json()) as { matched: number }).matched).toBe(1);
    expect((await getJob(user, second.body.id)).debounce).toBeNull();
    expect((await submit(user, debounced(5))).body.id).toBe(fourth.body.id);
  });

  it("refuses bad debounce with a 400 naming the field, and changes nothing", async () => {
    const user = await createUser();
    const pending = await submit(user, debounced(1));
    const bad: [Record<string, unknown>, string][] = [
      [{ type: "noop", debounce: { key: "d" } }, "debounce.delay_seconds"],
      [{ type: "noop", debounce: { key: "", delay_seconds: 2 } }, "debounce.key"],
      [{ type: "noop", debounce: { key: "x".repeat(201), delay_seconds: 2 } }, "debounce.key"],
      [{ type: "noop", debounce: { key: "d", delay_seconds: 0 } }, "debounce.delay_seconds"],
      [{ type: "noop", debounce: { key: "d", delay_seconds: 86_401 } }, "debounce.delay_seconds"],
      [
        { type: "noop", debounce: { key: "d", delay_seconds: 5, max_wait_seconds: 4 } },
        "debounce.max_wait_seconds",
      ],
      [{ type: "noop", debounce: { key: "d", delay_seconds: 5, wait: 4 } }, "debounce"],
      [{ type: "noop", interval_seconds: 60, debounce: { key: "d", delay_seconds: 2 } }, "debounce"],
      [{ type: "noop", run_at: "2030-01-01T00:00:00Z", debounce: { key: "d", delay_seconds: 2 } }, "run_at"],
      // The pending job's key with a bad body: refused, and the pending job keeps its body.
      [{ type: "nope", debounce: { key: "reindex-7", delay_seconds: 2 } }, "type"],
    ];
    for (const [body, path] of bad) {
      const res = await submit(user, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const details = (res.body as unknown as { error: { details: { path: string }[] } }).error.details;
      expect(
        details.map((d) => d.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    expect(await jobsOf(user)).toHaveLength(1);
    expect((await getJob(user, pending.body.id)).payload).toEqual({ n: 1 });
    // PATCH cannot change it, and says why.
    const patch = await request(`/v1/jobs/${pending.body.id}`, {
      method: "PATCH",
      headers: user.auth,
      json: { debounce: { key: "x", delay_seconds: 3 } },
    });
    expect(patch.status).toBe(400);
    expect(JSON.stringify(await patch.json())).toContain("debounce cannot be changed by PATCH");
    // Nor can a PATCH make it recurring: debounce is for one-shot jobs.
    const recurring = await request(`/v1/jobs/${pending.body.id}`, {
      method: "PATCH",
      headers: user.auth,
      json: { interval_seconds: 60 },
    });
    expect(recurring.status).toBe(400);
    expect(JSON.stringify(await recurring.json())).toContain("debounce applies only to one-shot jobs");
    expect((await getJob(user, pending.body.id)).interval_seconds).toBeNull();
  });

  it("the job runs once, with the last body, through the consumer", async () => {
    const user = await createUser();
    const bodies: unknown[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response("ok");
    });
    const T = Date.now() + 60_000;
    for (let i = 1; i <= 3; i++) {
      await setShardClock(user.user_id, T + i * 100);
      await submit(user, {
        type: "http",
        payload: { url: "http://127.0.0.1:9/hook", body: { n: i } },
        debounce: { key: "k", delay_seconds: 1 },
      });
    }
    await setShardClock(user.user_id, T + 2000);
    await deliver(await fireAlarm(user.user_id));
    await setShardClock(user.user_id, T + 60_000);
    expect(await fireAlarm(user.user_id)).toHaveLength(0);
    expect(bodies).toEqual([{ n: 3 }]);
    const [row] = await jobsOf(user);
    expect(row?.status).toBe("succeeded");
  });
});
