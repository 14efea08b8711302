// PATCH /v1/jobs/:id through the Worker and the real shard: the submit rules on the patched job, and
// an attempt already queued or running keeps what it started with.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import {
  createUser,
  deliver,
  fireAlarm,
  getJob,
  growShards,
  request,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";

async function patch(user: TestUser, id: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`/v1/jobs/${id}`, {
    method: "PATCH",
    headers: { ...user.auth, ...headers },
    ...(typeof body === "string"
      ? { body, headers: { ...user.auth, "content-type": "application/json" } }
      : { json: body }),
  });
  return {
    status: res.status,
    body: (await res.json()) as JobView & { error?: { code: string; details?: { path: string }[] } },
  };
}

/** The job as the user sees it, without the fields every write moves. */
async function stable(user: TestUser, id: string) {
  const { updated_at: _, ...rest } = await getJob(user, id);
  return rest;
}

describe("PATCH /v1/jobs/:id", () => {
  it("changes the given fields of a scheduled job and nothing else", async () => {
    const user = await createUser();
    // Due in an hour: scheduled (a job due at once goes out with its submit).
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const { body: job } = await submit(user, {
      type: "noop",
      name: "a",
      labels: { team: "x" },
      run_at: runAt,
    });
    const out = await patch(user, job.id, {
      priority: 90,
      name: "b",
      labels: { team: "y" },
      max_retries: 5,
      timeout_seconds: 10,
      retry_policy: "transient",
      expires_after_seconds: 60,
      payload: { any: "json" },
    });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({
      priority: 90,
      name: "b",
      labels: { team: "y" },
      max_retries: 5,
      timeout_seconds: 10,
      retry_policy: "transient",
      expires_after_seconds: 60,
      payload: { any: "json" },
      run_at: job.run_at,
      status: "scheduled",
    });
    // null clears a clearable field.
    expect((await patch(user, job.id, { name: null, expires_after_seconds: null })).body).toMatchObject({
      name: null,
      expires_after_seconds: null,
    });
  });

  it("recomputes run_at when the schedule changes", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00.000Z" });
    const moved = await patch(user, job.id, { run_at: "2031-06-01T12:00:00Z" });
    expect(moved.body.run_at).toBe("2031-06-01T12:00:00.000Z");
    const cron = await patch(user, job.id, { cron: "0 9 * * *", timezone: "Europe/Paris" });
    expect(cron.status).toBe(200);
    // The first 09:00 Paris time at or after the job's nominal occurrence.
    expect(cron.body).toMatchObject({
      cron: "0 9 * * *",
      timezone: "Europe/Paris",
      run_at: "2031-06-02T07:00:00.000Z",
    });
    // Switching to an interval must clear the cron (they are exclusive), and then the zone goes too.
    const both = await patch(user, job.id, { interval_seconds: 60 });
    expect(both.status).toBe(400);
    expect(both.body.error?.details?.map((d) => d.path)).toContain("cron");
    const interval = await patch(user, job.id, { interval_seconds: 60, cron: null });
    expect(interval.body).toMatchObject({ interval_seconds: 60, cron: null, timezone: null });
  });

  it("leaves an attempt already queued with what it started with; the patch applies to the next", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://old.example.com/" },
      interval_seconds: 3600,
      timeout_seconds: 30,
    });
    const [message] = await fireAlarm(user.user_id);
    const out = await patch(user, job.id, {
      payload: { url: "https://new.example.com/" },
      timeout_seconds: 5,
    });
    expect(out.status).toBe(200);
    // The view shows the change at once.
    expect(out.body).toMatchObject({ status: "queued", payload: { url: "https://new.example.com/" } });
    const shard = shardOf(user.user_id);
    const begun = await shard.begin(job.id, message?.attempt ?? 0);
    expect(begun).toMatchObject({
      ok: true,
      payload: { url: "https://old.example.com/" },
      timeoutSeconds: 30,
    });
    // Patched again while running: still the attempt's own fields until it ends.
    await patch(user, job.id, { priority: 7 });
    expect(await shard.heartbeat(job.id, 1)).toEqual({ ok: true });
    await shard.finish(job.id, 1, { outcome: { ok: true } });
    const after = await getJob(user, job.id);
    expect(after).toMatchObject({
      status: "scheduled",
      priority: 7,
      timeout_seconds: 5,
      payload: { url: "https://new.example.com/" },
    });
    await setShardClock(user.user_id, Date.parse(after.run_at));
    const [next] = await fireAlarm(user.user_id);
    expect(await shard.begin(job.id, next?.attempt ?? 0)).toMatchObject({
      ok: true,
      payload: { url: "https://new.example.com/" },
      timeoutSeconds: 5,
    });
  });

  it("sends the retry of an attempt that fails at the run_at patched while it ran", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", max_retries: 3, retry_delay_seconds: 30 });
    const shard = shardOf(user.user_id);
    const [message] = await fireAlarm(user.user_id);
    expect(await shard.begin(job.id, message?.attempt ?? 0)).toMatchObject({ ok: true, occurrence: 0 });
    const runAt = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const patched = await patch(user, job.id, { run_at: runAt });
    expect(patched.body).toMatchObject({ status: "running", run_at: runAt });
    await shard.finish(job.id, 1, { outcome: { ok: false }, error: "boom" });
    // The PATCH answered with this run_at: the retry keeps that promise instead of its 15-30 s backoff.
    expect(await getJob(user, job.id)).toMatchObject({
      status: "scheduled",
      run_at: runAt,
      current_retries: 1,
    });
    await setShardClock(user.user_id, Date.parse(runAt) - 1);
    expect(await fireAlarm(user.user_id)).toEqual([]);
    await setShardClock(user.user_id, Date.parse(runAt));
    const [retry] = await fireAlarm(user.user_id);
    // Still a retry of the same occurrence: the same webhook-id, one retry spent.
    expect(await shard.begin(job.id, retry?.attempt ?? 0)).toMatchObject({ ok: true, occurrence: 0 });
  });

  it("anchors a recurring job's schedule at a run_at patched while an attempt that then fails ran", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", interval_seconds: 3600 });
    const shard = shardOf(user.user_id);
    await fireAlarm(user.user_id);
    await shard.begin(job.id, 1);
    const runAt = Date.now() + 90 * 60_000;
    await patch(user, job.id, { run_at: new Date(runAt).toISOString() });
    await shard.finish(job.id, 1, { outcome: { ok: false }, error: "boom" });
    expect(await getJob(user, job.id)).toMatchObject({ run_at: new Date(runAt).toISOString() });
    await setShardClock(user.user_id, runAt);
    await fireAlarm(user.user_id);
    await shard.begin(job.id, 2);
    await shard.finish(job.id, 2, { outcome: { ok: true } });
    // The next occurrence follows the patched run_at, not the grid of the first one.
    expect(await getJob(user, job.id)).toMatchObject({
      status: "scheduled",
      run_at: new Date(runAt + 3_600_000).toISOString(),
      current_retries: 0,
    });
  });

  it.each([
    ["not JSON", "{", 400],
    ["an empty patch", {}, 400],
    ["an unknown field", { colour: "red" }, 400],
    ["a field not patchable", { type: "http" }, 400],
    ["a bad priority", { priority: 101 }, 400],
    ["a run_at too far ahead", { run_at: "2099-01-01T00:00:00Z" }, 400],
    ["a bad cron", { cron: "not a cron" }, 400],
    ["a timezone without cron", { timezone: "Europe/Paris" }, 400],
    ["a payload the executor refuses", { payload: { nope: true } }, 400],
    ["an unknown pool", { resources: { nowhere: 1 } }, 400],
    ["a refused callback_url", { callback_url: "ftp://example.com/" }, 400],
    ["an oversized payload", { payload: "x".repeat(70 * 1024) }, 413],
  ])("refuses %s with a clear 4xx, changing nothing", async (_what, body, status) => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "http", payload: { url: "https://a.example.com/" } });
    const before = await stable(user, job.id);
    const out = await patch(user, job.id, body);
    expect(out.status).toBe(status);
    expect(out.body.error?.code).toBe(status === 413 ? "payload_too_large" : "invalid_request");
    expect(await stable(user, job.id)).toEqual(before);
  });

  it("answers 415 for a body that is not JSON by its media type", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop" });
    const res = await request(`/v1/jobs/${job.id}`, {
      method: "PATCH",
      headers: { ...user.auth, "content-type": "text/plain" },
      body: "{}",
    });
    expect(res.status).toBe(415);
  });

  it("answers 409 for a finished job, 404 for unknown and foreign ids, 401 without a key", async () => {
    const owner = await createUser();
    const other = await createUser();
    const { body: job } = await submit(owner, { type: "noop" });
    expect((await patch(other, job.id, { priority: 1 })).status).toBe(404);
    expect((await patch(owner, "job_0_nope", { priority: 1 })).status).toBe(404);
    const anon = await request(`/v1/jobs/${job.id}`, { method: "PATCH", json: { priority: 1 } });
    expect(anon.status).toBe(401);
    await deliver(await fireAlarm(owner.user_id));
    expect((await getJob(owner, job.id)).status).toBe("succeeded");
    const finished = await patch(owner, job.id, { priority: 1 });
    expect(finished).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    expect((await getJob(owner, job.id)).priority).toBe(50);
  });

  it("says why a job on another shard cannot start naming pools, and changes nothing", async () => {
    const user = await createUser();
    await growShards(user, 4);
    await request("/v1/pools/p", { method: "PUT", headers: user.auth, json: { capacity: 2 } });
    let job: JobView | undefined;
    for (let i = 0; i < 40 && !job; i++) {
      const { body } = await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" });
      if (!body.id.startsWith("job_0_")) job = body;
    }
    if (!job) throw new Error("no job landed off the home shard in 40 submits");
    const before = await stable(user, job.id);
    const out = await patch(user, job.id, { resources: { p: 1 } });
    expect(out.status).toBe(400);
    expect(JSON.stringify(out.body.error?.details)).toContain("other shards");
    expect(await stable(user, job.id)).toEqual(before);
  });
});
