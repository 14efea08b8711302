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

  // Issue 15, from outside: a user's shards grow while keyed requests are resent; old ids keep working;
  // a bulk cancel reaches every shard; a job removed by retention never comes back into the listing.
  it("keeps keys, ids and bulk actions across growth to 8 shards, and removed jobs out of the listing", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const api = new ApiClient(server.baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "e2e-growth" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.api_key;
    const admin = (body: unknown) =>
      api.request("PATCH", `/v1/admin/users/${created.body.user_id}`, { token: fixture.adminToken, body });
    const keyed = (i: number) =>
      api.request<Job>("POST", "/v1/jobs", {
        token: key,
        headers: { "idempotency-key": `growth-${i}` },
        body: { type: "noop", run_at: "2030-01-01T00:00:00Z", name: `growth ${i}`, labels: { wave: "w" } },
      });

    const first = new Map<number, string>();
    for (let i = 0; i < 32; i++) {
      const out = await keyed(i);
      expect(out.status, JSON.stringify(out.body)).toBe(201);
      first.set(i, out.body.id);
    }
    expect((await admin({ shards: 8 })).status).toBe(200);
    // At once (no waiting for any cache): every key answers its original job, every old id is readable.
    for (let i = 0; i < 32; i++) {
      const out = await keyed(i);
      expect(out.status, `key growth-${i}`).toBe(200);
      expect(out.body.id).toBe(first.get(i));
    }
    for (const id of first.values()) {
      expect((await api.request("GET", `/v1/jobs/${id}`, { token: key })).status).toBe(200);
    }
    // New unkeyed jobs spread over the new shards; a bulk cancel by label reaches them all.
    const spread: string[] = [];
    for (let i = 0; i < 24; i++) {
      const out = await api.request<Job>("POST", "/v1/jobs", {
        token: key,
        body: { type: "noop", run_at: "2030-01-01T00:00:00Z", labels: { wave: "w" } },
      });
      expect(out.status).toBe(201);
      spread.push(out.body.id);
    }
    expect(new Set(spread.map((id) => id.split("_")[1])).size).toBeGreaterThan(1);
    const oldOne = first.get(0) as string;
    expect((await api.request<Job>("DELETE", `/v1/jobs/${oldOne}`, { token: key })).body.status).toBe(
      "cancelled",
    );
    const bulk = await api.request<{ matched: number }>("POST", "/v1/jobs/cancel", {
      token: key,
      body: { labels: { wave: "w" } },
    });
    expect(bulk.body).toEqual({ matched: 32 + 24 - 1 });

    // Retention of 1 s: a fast job finishes beside a slow one of the same dispatch and is removed
    // while the slow one still runs; once both are done, the fast one stays out of the listing.
    expect((await admin({ finished_retention_seconds: 1 })).status).toBe(200);
    target.answerWith((d) => (d.route === "/slow" ? { status: 200, afterMs: 4_000 } : { status: 200 }));
    const due = new Date(Date.now() + 2_000).toISOString();
    const [slow, fast] = await Promise.all(
      ["/slow", "/fast"].map((route) =>
        api.request<Job>("POST", "/v1/jobs", {
          token: key,
          body: { type: "http", run_at: due, payload: { url: target.url(route) } },
        }),
      ),
    );
    const fastId = (fast as { body: Job }).body.id;
    const slowId = (slow as { body: Job }).body.id;
    await poll(
      "the fast job to be removed by retention",
      () => api.request("GET", `/v1/jobs/${fastId}`, { token: key }).then((r) => r.status),
      (status) => status === 404,
      { timeoutMs: 30_000 },
    );
    // Removed too, 1 s after it finished: by then its consumer batch has written whatever it writes.
    await poll(
      "the slow job to be removed by retention",
      () => api.request("GET", `/v1/jobs/${slowId}`, { token: key }).then((r) => r.status),
      (status) => status === 404,
      { timeoutMs: 30_000 },
    );
    const listed = await api.request<JobPage>("GET", "/v1/jobs?limit=100", { token: key });
    expect(listed.body.jobs.map((j) => j.id)).not.toContain(fastId);
    expect(listed.body.jobs.map((j) => j.id)).not.toContain(slowId);
  });
});
