// End to end: the consumer dies in the middle of an attempt. An http job with a 900 s timeout calls a
// target that does not answer its first request; while that request hangs, the whole dev server
// (wrangler, workerd: the shard and the consumer with it) is killed with SIGKILL and restarted on the
// same state. The attempt made no heartbeat after the kill, so the shard gives it up 30 s after its
// begin (not 910 s) and retries it: a second delivery, with the same webhook-id, arrives within about
// 30 s of the restart.
import { describe, expect, it } from "vitest";
import type { CreatedUser, Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { poll } from "../../tools/harness/util";
import { ownDevFixture } from "./dev-fixture";

const HEARTBEAT_TIMEOUT_MS = 30_000;
/** Alarm, backoff (1 s), claim, queue and consumer between the shard giving up and the retry's delivery. */
const SLACK_MS = 15_000;
/** Longer than the test: the first request is never answered (the target clears the timer on close). */
const HANG_MS = 600_000;

describe("a consumer killed mid-attempt", () => {
  // The first request hangs; every later one is answered at once.
  let requests = 0;
  const fixture = ownDevFixture("killed", {
    answer: () => (++requests === 1 ? { status: 200, afterMs: HANG_MS } : { status: 200 }),
  });

  it("retries the attempt within ~30 s of the restart, under the same webhook-id", {
    timeout: 240_000,
  }, async () => {
    const [dev, hook] = [fixture.server(), fixture.target()];
    const api = new ApiClient(dev.baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "e2e-killed" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.api_key;
    const submitted = await api.request<Job>("POST", "/v1/jobs", {
      token: key,
      body: {
        type: "http",
        payload: { url: hook.url("/slow") },
        timeout_seconds: 900,
        max_retries: 1,
        retry_delay_seconds: 1,
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id;
    const getJob = () => api.request<Job>("GET", `/v1/jobs/${id}`, { token: key }).then((r) => r.body);

    // The attempt is running: its request has reached the target, which does not answer.
    await poll(
      "the first delivery",
      async () => hook.deliveries.length,
      (n) => n >= 1,
      { timeoutMs: 30_000 },
    );
    expect((await getJob()).status).toBe("running");

    await dev.crash();
    await dev.start();
    await dev.ready(90_000);
    const readyAt = Date.now();

    await poll(
      "the retry's delivery",
      async () => hook.deliveries.length,
      (n) => n >= 2,
      {
        timeoutMs: HEARTBEAT_TIMEOUT_MS + SLACK_MS + 30_000,
        intervalMs: 250,
      },
    );
    const [first, retry] = hook.deliveries;
    if (!first || !retry) throw new Error("missing deliveries");
    console.log(
      `restart → retry delivered ${retry.at - readyAt} ms; first → retry ${retry.at - first.at} ms`,
    );
    expect(retry.at - readyAt, "restart → retry delivered (ms)").toBeLessThanOrEqual(
      HEARTBEAT_TIMEOUT_MS + SLACK_MS,
    );
    // Not a lost message sent again: the shard waited for the heartbeat timeout after the begin.
    expect(retry.at - first.at, "first → retry delivery (ms)").toBeGreaterThanOrEqual(
      HEARTBEAT_TIMEOUT_MS - 1_000,
    );
    expect(retry.webhookId).toBe(`${id}:0`);
    expect(retry.webhookId).toBe(first.webhookId);

    const done = await poll("the job to succeed", getJob, (j) => j.status === "succeeded", {
      timeoutMs: 30_000,
    });
    expect(done.attempts.map((a) => `${a.number}:${a.status}`)).toEqual(["2:succeeded", "1:timed_out"]);
    expect(done.attempts[1]?.error).toMatch(/^heartbeats stopped: /);
    expect(hook.deliveries).toHaveLength(2);
  });
});
