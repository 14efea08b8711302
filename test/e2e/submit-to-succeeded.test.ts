// End to end, as a user runs it: `node scripts/dev.mjs` (wrangler dev: API Worker, TaskShard, the dispatch
// queue and its consumer, D1) serves a state folder fresh for the run (the e2e files' shared server); an http job is submitted, delivered to a
// local target with a Standard Webhooks signature, and ends `succeeded`, in the shard and in the D1 listing.
//
// The server reads its variables from a temporary file (dev.mjs --vars-file, passed on as wrangler's
// --env-file, which makes wrangler ignore .dev.vars), so the test neither needs nor touches the
// developer's .dev.vars.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { type CreatedUser, FINISHED, type Job, type JobPage } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { poll } from "../../tools/harness/util";
import { devFixture } from "./dev-fixture";

describe("an http job from submit to succeeded, through npm run dev", () => {
  const fixture = devFixture();

  it("delivers one signed request, records the attempt, and lists the job", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const api = new ApiClient(server.baseUrl);

    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "e2e" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const user = created.body;

    const submitted = await api.request<Job>("POST", "/v1/jobs", {
      token: user.api_key,
      body: { type: "http", payload: { url: target.url("/hook"), body: { hello: "world" } } },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id;

    // Until finished, so a failure is reported at once (with its error) instead of at the deadline.
    const getJob = () =>
      api.request<Job>("GET", `/v1/jobs/${id}`, { token: user.api_key }).then((r) => r.body);
    const job = await poll(`job ${id} to finish`, getJob, (j) => FINISHED.has(j.status), {
      timeoutMs: 30_000,
    });
    expect(job.status, JSON.stringify(job)).toBe("succeeded");
    expect(job.runs).toBe(1);
    expect(job.attempts[0]).toMatchObject({ number: 1, status: "succeeded" });
    expect(job.result?.status).toBe(200);

    expect(target.deliveries, "deliveries to the target").toHaveLength(1);
    const delivery = target.deliveries[0];
    if (!delivery) throw new Error("no delivery");
    expect(delivery.method).toBe("POST");
    expect(delivery.url).toBe("/hook");
    expect(delivery.headers["webhook-id"]).toBe(`${id}:0`);
    expect(delivery.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(delivery.body)).toEqual({ hello: "world" });
    // Throws unless webhook-signature is the HMAC of "id.timestamp.body" under the user's secret.
    expect(new Webhook(user.signing_secret).verify(delivery.body, delivery.headers)).toEqual({
      hello: "world",
    });

    // The D1 index is a read model written after the fact: it converges, so poll (bounded) for it.
    const listJobs = () =>
      api
        .request<JobPage>("GET", "/v1/jobs", { token: user.api_key })
        .then((r) => r.body.jobs.find((j) => j.id === id));
    const listed = await poll(
      "the job to be listed as succeeded",
      listJobs,
      (j) => j?.status === "succeeded",
      {
        timeoutMs: 30_000,
      },
    );
    expect(listed).toMatchObject({ id, status: "succeeded", runs: 1 });
  });
});
