// End to end through `npm run dev` (issue 18, "done when"): flow control per key, seen from the webhook
// target. 30 jobs of one key with concurrency 2 against a target that answers after 1 s never have more
// than 2 requests in flight, and all finish; jobs of another key and jobs without one are not slowed
// by the saturated key; 20 jobs with rate 5 per second start no more than 5 in any second.
import { describe, expect, it } from "vitest";
import { type CreatedUser, FINISHED, type Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { maxInFlight } from "../../tools/harness/target";
import { poll } from "../../tools/harness/util";
import { devFixture } from "./dev-fixture";

/** The most of `times` in any window [t, t + windowMs). */
function mostInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("flow control per key, through npm run dev", () => {
  const fixture = devFixture({
    answer: (d) => ({ status: 200, afterMs: d.route === "/slow" ? 1000 : 0 }),
  });

  it("keeps a key's concurrency and rate exactly, and a saturated key holds up nobody else", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const api = new ApiClient(server.baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "e2e-flow-control" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.api_key;
    const submit = async (body: Record<string, unknown>) => {
      const res = await api.request<Job>("POST", "/v1/jobs", { token: key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id;
    };
    const finished = (ids: string[], what: string, timeoutMs: number) =>
      poll(
        what,
        () => Promise.all(ids.map((id) => api.request<Job>("GET", `/v1/jobs/${id}`, { token: key }))),
        (replies) => replies.every((r) => FINISHED.has(r.body.status)),
        { timeoutMs },
      ).then((replies) => replies.map((r) => r.body));

    // 30 jobs of one key, 2 at a time, each call taking 1 s: about 15 s.
    const slowIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      slowIds.push(
        await submit({
          type: "http",
          payload: { url: target.url("/slow"), body: { i } },
          flow_control: { key: "customer-slow", concurrency: 2 },
          timeout_seconds: 30,
        }),
      );
    }
    // While that key is saturated: jobs of another key and jobs without a key go at once.
    await poll(
      "the saturated key's first calls",
      async () => target.deliveries.length,
      (n) => n >= 2,
      {
        timeoutMs: 30_000,
      },
    );
    const othersAt = Date.now();
    const others = [
      ...(await Promise.all(
        [0, 1, 2].map((i) =>
          submit({
            type: "http",
            payload: { url: target.url("/other"), body: { i } },
            flow_control: { key: "customer-other", concurrency: 3 },
          }),
        ),
      )),
      ...(await Promise.all(
        [0, 1, 2].map((i) => submit({ type: "http", payload: { url: target.url("/plain"), body: { i } } })),
      )),
    ];
    await finished(others, "the other key's and the plain jobs", 30_000);
    const othersDone = Date.now() - othersAt;
    const slowDoneThen = target.deliveries.filter((d) => d.route === "/slow" && d.status === 200).length;
    // Done in seconds, while most of the saturated key's 30 calls (15 s in all) were still waiting.
    expect(othersDone, "jobs of other keys wait for nobody").toBeLessThan(8_000);
    expect(slowDoneThen).toBeLessThan(30);

    const slow = await finished(slowIds, "the saturated key's 30 jobs", 120_000);
    expect(slow.every((j) => j.status === "succeeded")).toBe(true);
    expect(target.deliveries.filter((d) => d.route === "/slow")).toHaveLength(30);
    expect(
      maxInFlight(target.deliveries, "/slow"),
      "at most 2 calls of the key in flight",
    ).toBeLessThanOrEqual(2);
    expect(maxInFlight(target.deliveries, "/slow"), "and the key's 2 slots were used").toBe(2);

    // 20 jobs with rate 5 a second: at least 4 s, never 6 starts in a second.
    const rateIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      rateIds.push(
        await submit({
          type: "http",
          payload: { url: target.url("/rate"), body: { i } },
          flow_control: { key: "customer-rate", rate: 5, period_seconds: 1 },
        }),
      );
    }
    const rated = await finished(rateIds, "the rate-limited key's 20 jobs", 60_000);
    expect(rated.every((j) => j.status === "succeeded")).toBe(true);
    // The shard's starts (each attempt's started_at): never more than 5 in any 1 s window.
    const starts = rated.map((j) => Date.parse(j.attempts[0]?.started_at ?? ""));
    expect(starts.every(Number.isFinite)).toBe(true);
    expect(mostInWindow(starts, 1000), "starts in any second").toBeLessThanOrEqual(5);
    // And as the target saw them arrive: each call arrives at most `jitter` after its start, so a
    // window of (1 s − jitter) at the target holds calls that started within 1 s: at most 5 too.
    const startOf = new Map(rated.map((j) => [j.id, Date.parse(j.attempts[0]?.started_at ?? "")]));
    const calls = target.deliveries.filter((d) => d.route === "/rate");
    expect(calls).toHaveLength(20);
    const jitter = Math.max(
      0,
      ...calls.map((d) => d.at - (startOf.get(d.webhookId.split(":")[0] ?? "") ?? NaN)),
    );
    expect(jitter, "every call arrives after its start, within 1 s").toBeLessThan(1000);
    const arrivals = calls.map((d) => d.at);
    expect(
      mostInWindow(arrivals, 1000 - jitter),
      "calls in any (1 s − jitter) at the target",
    ).toBeLessThanOrEqual(5);
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(3000);

    const view = await api.request<{ running: number; waiting: number }>(
      "GET",
      "/v1/flow-control/customer-rate",
      { token: key },
    );
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ running: 0, waiting: 0 });
  });
});
