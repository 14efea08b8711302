// GET /v1/jobs/:id/result: the latest occurrence's result as stored, inline or read back from R2.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  inShard,
  request,
  submit,
  type TestUser,
} from "../support/helpers";
import { expectEnvelope } from "../support/refusals";

afterEach(() => {
  vi.restoreAllMocks();
});

const resultOf = (user: TestUser, id: string) => request(`/v1/jobs/${id}/result`, { headers: user.auth });

describe("GET /v1/jobs/:id/result", () => {
  it("answers an inline result as the job shows it, and 404 before there is one", async () => {
    const user = await createUser();
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("pong"));
    const { body: job } = await submit(user, { type: "http", payload: { url: "https://example.com/ping" } });
    expect((await expectEnvelope(await resultOf(user, job.id), 404)).message).toMatch(/no result yet/);
    await deliver(await fireAlarm(user.user_id));
    const res = await resultOf(user, job.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 200, body: "pong", truncated: false });
  });

  it("reads a result_location result back from the results bucket, byte for byte", async () => {
    const user = await createUser();
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("report body"));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/report" },
      result_location: "r2://reports/daily",
    });
    await deliver(await fireAlarm(user.user_id));
    const res = await resultOf(user, job.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const stored = await env.RESULTS.get(`results/${user.user_id}/reports/daily/${job.id}/0-1.json`);
    expect(await res.text()).toBe(await stored?.text());
    expect(JSON.parse(await (await resultOf(user, job.id)).text())).toEqual({
      status: 200,
      body: "report body",
      truncated: false,
    });
  });

  it("is 404 when the stored object is gone, for a job with no result (noop), and for another user's job", async () => {
    const [user, other] = [await createUser(), await createUser()];
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("gone soon"));
    const { body: stored } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/x" },
      result_location: "r2://tmp",
    });
    const { body: noop } = await submit(user, { type: "noop" });
    await deliver(await fireAlarm(user.user_id));
    expect((await resultOf(user, stored.id)).status).toBe(200);
    await env.RESULTS.delete(`results/${user.user_id}/tmp/${stored.id}/0-1.json`);
    await expectEnvelope(await resultOf(user, stored.id), 404);
    await expectEnvelope(await resultOf(user, noop.id), 404);
    await expectEnvelope(await resultOf(other, noop.id), 404);
    await expectEnvelope(await resultOf(user, "job_not_an_id"), 404);
  });

  it("writes under the submitter's own root whatever the prefix names; `..` segments are a 400", async () => {
    const [user, victim] = [await createUser(), await createUser()];
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("mine"));
    // The attack of issue 22: the archive's key space of another user, and a climb out of the root.
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/x" },
      result_location: `r2://archive/${victim.user_id}/0/`,
    });
    await deliver(await fireAlarm(user.user_id));
    const key = `results/${user.user_id}/archive/${victim.user_id}/0/${job.id}/0-1.json`;
    expect((await getJob(user, job.id)).result).toEqual({ location: `r2://${key}` });
    expect(await env.RESULTS.head(key)).not.toBeNull();
    expect((await env.RESULTS.list({ prefix: `archive/${victim.user_id}/` })).objects).toEqual([]);
    for (const location of ["r2://../../x", "r2://a/../b", "r2://..", "r2://a/.."]) {
      const res = await request("/v1/jobs", {
        method: "POST",
        headers: user.auth,
        json: { type: "noop", result_location: location },
      });
      const error = await expectEnvelope(res, 400);
      expect(error.details, location).toEqual([
        { path: "result_location", message: "must not contain `..` segments" },
      ]);
    }
    // Dots inside a segment are a name like any other.
    expect((await submit(user, { type: "noop", result_location: "r2://a..b/.hidden" })).status).toBe(201);
  });

  it("still reads back a result a job wrote before results were scoped (its stored pointer)", async () => {
    const user = await createUser();
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("old"));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/x" },
      result_location: "r2://reports/old",
    });
    await deliver(await fireAlarm(user.user_id));
    // As a job written before shard migration 0019 has it: its object under the bare prefix, its row
    // pointing there, results_scoped false.
    const legacy = `reports/old/${job.id}/0-1.json`;
    const scoped = `results/${user.user_id}/reports/old/${job.id}/0-1.json`;
    await env.RESULTS.put(legacy, (await (await env.RESULTS.get(scoped))?.text()) ?? "");
    await env.RESULTS.delete(scoped);
    await inShard(user.user_id, (_s, state) => {
      state.storage.sql.exec(
        "update jobs set results_scoped = 0, result = ? where id = ?",
        JSON.stringify({ location: `r2://${legacy}` }),
        job.id,
      );
    });
    const res = await resultOf(user, job.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 200, body: "old", truncated: false });
  });

  it("reads back only an object of the job's own, whatever its stored pointer says", async () => {
    const [user, victim] = [await createUser(), await createUser()];
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("x"));
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://example.com/x" },
      result_location: "r2://mine",
    });
    await deliver(await fireAlarm(user.user_id));
    const secret = `archive/${victim.user_id}/0/2026-01-01T00/secret.jsonl`;
    await env.RESULTS.put(secret, "not yours");
    await inShard(user.user_id, (_s, state) => {
      state.storage.sql.exec(
        "update jobs set result = ? where id = ?",
        JSON.stringify({ location: `r2://${secret}` }),
        job.id,
      );
    });
    const res = await resultOf(user, job.id);
    expect(await res.text()).not.toContain("not yours");
  });
});
