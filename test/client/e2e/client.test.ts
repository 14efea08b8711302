// The typed client end to end against `npm run dev` (the e2e project's shared server, test/e2e/dev-fixture.ts,
// on a state folder fresh for the run): create a user, submit an http job and wait for it, verify its webhook with the signing
// secret, batch-submit, page through every job, and see the API's errors as SchedulerError. Also the
// real Worker build serves /docs and the script it names (wrangler's text-module rule at work).
import { describe, expect, it } from "vitest";
import {
  createSchedulerClient,
  type Job,
  SchedulerError,
  verifyWebhook,
  WaitTimeoutError,
} from "../../../client/src";
import { poll } from "../../../tools/harness/util";
import { devFixture } from "../../e2e/dev-fixture";

describe("the typed client against npm run dev", () => {
  const fixture = devFixture();

  it("submits, waits, verifies the webhook, batches and lists", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const admin = createSchedulerClient({ baseUrl: server.baseUrl, token: fixture.adminToken });
    const created = await admin.api.POST("/v1/admin/users", { body: { name: "client-e2e" } });
    expect(created.response.status).toBe(201);
    const user = created.data;
    if (!user) throw new Error(JSON.stringify(created.error));
    const client = createSchedulerClient({ baseUrl: server.baseUrl, token: user.api_key });

    const job = await client.submit(
      { type: "http", payload: { url: target.url("/hook"), body: { hello: "client" } }, priority: 80 },
      { idempotencyKey: "client-e2e-1" },
    );
    // Due at once: it went out with its submit.
    expect(job).toMatchObject({ status: "queued", priority: 80, type: "http" });
    const replay = await client.submit(
      { type: "http", payload: { url: target.url("/hook"), body: { hello: "client" } }, priority: 80 },
      { idempotencyKey: "client-e2e-1" },
    );
    expect(replay.id).toBe(job.id);

    const done = await client.waitForJob(job.id, { timeoutMs: 30_000 });
    expect(done.status, JSON.stringify(done)).toBe("succeeded");
    const delivery = target.deliveries.find((d) => d.webhookId.startsWith(`${job.id}:`));
    if (!delivery) throw new Error("no delivery");
    expect(JSON.parse(verifyWebhook(delivery.body, delivery.headers, user.signing_secret))).toEqual({
      hello: "client",
    });
    expect(() => verifyWebhook(`${delivery.body} `, delivery.headers, user.signing_secret)).toThrow();

    const results = await client.submitBatch([
      { type: "noop", name: "b1", run_at: "2030-01-01T00:00:00Z" },
      { type: "noop", name: "b2", run_at: "2030-01-01T00:00:00Z", idempotency_key: "b2" },
      { type: "noop", name: "b3", run_at: "2030-01-01T00:00:00Z" },
    ]);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);

    // The listing index follows the shards within seconds: wait until all four are listed, a page of 2
    // at a time (so listAll has to follow cursors).
    const listAll = async () => {
      const seen: Job[] = [];
      for await (const j of client.listAll({ pageSize: 2 })) seen.push(j);
      return seen;
    };
    const listed = await poll("all four jobs listed", listAll, (jobs) => jobs.length === 4, {
      timeoutMs: 30_000,
    });
    expect(new Set(listed.map((j) => j.id)).size).toBe(4);
    expect(listed.map((j) => j.name).sort()).toEqual(["b1", "b2", "b3", null].sort());
    const scheduled: string[] = [];
    for await (const j of client.listAll({ status: "scheduled", type: "noop" })) scheduled.push(j.name ?? "");
    expect(scheduled.sort()).toEqual(["b1", "b2", "b3"]);

    // A job far in the future does not finish: the wait gives up with the job as last seen.
    const later = results[0]?.status === 201 ? results[0].job.id : "";
    const waited = await client
      .waitForJob(later, { timeoutMs: 300, intervalMs: 100 })
      .catch((e: unknown) => e);
    expect(waited).toBeInstanceOf(WaitTimeoutError);
    expect(await client.cancel(later)).toMatchObject({ status: "cancelled" });
  });

  it("throws the API's errors as SchedulerError", async () => {
    const client = createSchedulerClient({ baseUrl: fixture.server().baseUrl, token: "sk_usr_wrong" });
    await expect(client.getJob("job_0_x")).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    const admin = createSchedulerClient({ baseUrl: fixture.server().baseUrl, token: fixture.adminToken });
    const { data: user } = await admin.api.POST("/v1/admin/users", { body: {} });
    const mine = createSchedulerClient({ baseUrl: fixture.server().baseUrl, token: user?.api_key ?? "" });
    const err = await mine.submit({ type: "noop", priority: 101 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerError);
    expect(err).toMatchObject({ status: 400, code: "invalid_request", details: [{ path: "priority" }] });
  });

  it("serves /docs and the Swagger UI script it names from the Worker", async () => {
    const base = fixture.server().baseUrl;
    const html = await (await fetch(`${base}/docs`)).text();
    const script = html.match(/<script\b[^>]*\bsrc="([^"]+)"/)?.[1];
    expect(script).toMatch(/^\/docs\//);
    const js = await fetch(`${base}${script}`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(500_000);
  });
});
