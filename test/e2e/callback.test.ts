// End to end, through `npm run dev`: a job with a callback_url runs, and its job object then arrives at
// a local receiver through the dispatch queue and the consumer, signed with the user's secret. The
// result route reads the result back.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { type CreatedUser, FINISHED, type Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { poll } from "../../tools/harness/util";
import { devFixture } from "./dev-fixture";

describe("a job's callback, through npm run dev", () => {
  const fixture = devFixture();

  it("POSTs the finished job object to callback_url, signed, after the job's own call", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const api = new ApiClient(server.baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "e2e-callback" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const user = created.body;

    const submitted = await api.request<Job>("POST", "/v1/jobs", {
      token: user.api_key,
      body: {
        type: "http",
        payload: { url: target.url("/hook"), body: { n: 1 } },
        callback_url: target.url("/done"),
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id;

    const callback = await poll(
      "the callback to arrive",
      async () => target.deliveries.find((d) => d.route === "/done"),
      (d) => d !== undefined,
      { timeoutMs: 30_000 },
    );
    if (!callback) throw new Error("no callback");
    expect(callback.method).toBe("POST");
    expect(callback.webhookId).toBe(`${id}:0:callback`);
    new Webhook(user.signing_secret).verify(callback.body, callback.headers, { jsonParse: false });
    const sent = JSON.parse(callback.body) as Job;
    expect(sent).toMatchObject({ id, status: "succeeded", runs: 1 });

    // The callback is a snapshot of the finished job, and the job is left as it was.
    const job = await poll(
      `job ${id} to finish`,
      () => api.request<Job>("GET", `/v1/jobs/${id}`, { token: user.api_key }).then((r) => r.body),
      (j) => FINISHED.has(j.status),
      { timeoutMs: 10_000 },
    );
    expect(job).toEqual(sent);
    const hook = target.deliveries.filter((d) => d.route === "/hook");
    expect(hook).toHaveLength(1);
    expect((hook[0]?.at ?? Infinity) <= callback.at).toBe(true);

    const result = await api.request<unknown>("GET", `/v1/jobs/${id}/result`, { token: user.api_key });
    expect(result.status).toBe(200);
    expect(result.body).toEqual(job.result);
  });
});
