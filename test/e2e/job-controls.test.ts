// End to end through `npm run dev`: a recurring http job is paused (no delivery while paused, though
// occurrences pass), resumed (the next occurrence arrives; missed ones are not burst), patched to a
// long interval, and run now (one extra delivery; its schedule does not move). Webhook ids stay unique.
import { describe, expect, it } from "vitest";
import type { CreatedUser, Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { poll, sleep } from "../../tools/harness/util";
import { devFixture } from "./dev-fixture";

const INTERVAL_S = 4;

describe("pause, resume, patch and run a recurring job, through npm run dev", () => {
  const fixture = devFixture();

  it("stops while paused, resumes on its schedule and runs an extra occurrence on demand", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const api = new ApiClient(server.baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "e2e-controls" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.api_key;
    const call = (method: string, path: string, body?: unknown) =>
      api.request<Job>(method, path, { token: key, ...(body === undefined ? {} : { body }) });

    const submitted = await call("POST", "/v1/jobs", {
      type: "http",
      payload: { url: target.url("/tick") },
      interval_seconds: INTERVAL_S,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id;
    const job = () => call("GET", `/v1/jobs/${id}`).then((r) => r.body);
    const ids = () => target.deliveries.map((d) => d.headers["webhook-id"]);
    const delivered = (n: number) =>
      poll(
        `${n} deliveries`,
        async () => target.deliveries.length,
        (k) => k >= n,
        { timeoutMs: 30_000 },
      );

    await delivered(1);
    const paused = await call("POST", `/v1/jobs/${id}/pause`);
    expect(paused).toMatchObject({ status: 200, body: { status: "paused" } });
    // The first attempt may still be reporting: wait until its run is counted, then watch two
    // intervals pass with nothing delivered.
    await poll("the first occurrence to settle", job, (j) => j.runs === 1, { timeoutMs: 30_000 });
    const whilePaused = target.deliveries.length;
    await sleep(2 * INTERVAL_S * 1000 + 1000);
    expect(target.deliveries.length, "nothing is delivered while paused").toBe(whilePaused);
    expect((await job()).status).toBe("paused");

    const resumedAt = Date.now();
    const resumed = await call("POST", `/v1/jobs/${id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe("scheduled");
    const nextAt = Date.parse(resumed.body.run_at);
    // The next occurrence from now on its grid: never in the past (missed ones are skipped).
    expect(nextAt).toBeGreaterThanOrEqual(resumedAt - 1000);
    expect(nextAt).toBeLessThanOrEqual(resumedAt + INTERVAL_S * 1000 + 1000);
    await delivered(whilePaused + 1);
    expect(new Set(ids()).size, "webhook ids are unique").toBe(ids().length);

    // A long interval: the occurrence already due keeps its time, the ones after it are an hour
    // apart. Then run now: one extra delivery, and the nominal occurrence stays put.
    const patched = await call("PATCH", `/v1/jobs/${id}`, { interval_seconds: 3600 });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((patched.body as Job & { interval_seconds: number }).interval_seconds).toBe(3600);
    const settled = await poll(
      "the job to wait for its hourly occurrence",
      job,
      (j) => j.status === "scheduled" && Date.parse(j.run_at) > Date.now() + 3_000_000,
      { timeoutMs: 30_000 },
    );
    const nominal = settled.run_at;
    const before = target.deliveries.length;
    const ran = await call("POST", `/v1/jobs/${id}/run`);
    expect(ran.status, JSON.stringify(ran.body)).toBe(200);
    await delivered(before + 1);
    const after = await poll(
      "the extra occurrence to settle",
      job,
      (j) => j.status === "scheduled" && j.runs > settled.runs,
      { timeoutMs: 30_000 },
    );
    expect(after.run_at, "run now does not shift the schedule").toBe(nominal);
    expect(new Set(ids()).size, "webhook ids are unique").toBe(ids().length);
    expect(target.deliveries.length).toBe(before + 1);
  });
});
