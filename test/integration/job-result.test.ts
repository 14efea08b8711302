// GET /v1/jobs/:id/result: the latest occurrence's result as stored, inline or read back from R2.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createUser, deliver, env, fireAlarm, request, submit, type TestUser } from "../support/helpers";
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
    const stored = await env.RESULTS.get(`reports/daily/${job.id}/0-1.json`);
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
    await env.RESULTS.delete(`tmp/${stored.id}/0-1.json`);
    await expectEnvelope(await resultOf(user, stored.id), 404);
    await expectEnvelope(await resultOf(user, noop.id), 404);
    await expectEnvelope(await resultOf(other, noop.id), 404);
    await expectEnvelope(await resultOf(user, "job_not_an_id"), 404);
  });
});
