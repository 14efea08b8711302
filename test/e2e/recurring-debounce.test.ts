// End to end through `npm run dev` (issue 18, "done when"): debounce, a recurring job's overlap policies
// against a target slower than its interval, catch-up after a pause, and bad input for each new field.
import { describe, expect, it } from "vitest";
import { type CreatedUser, FINISHED, type Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { type Delivery, maxInFlight } from "../../tools/harness/target";
import { poll, sleep } from "../../tools/harness/util";
import { ownDevFixture } from "./dev-fixture";

type JobWithPolicies = Job & { overlap?: string; catch_up?: string; runs: number };

/** A job's attempts that ended, oldest first. */
const finishedInOrder = (job: Job) =>
  [...job.attempts].reverse().filter((a) => a.finished_at !== null && a.status !== "running");
const ms = (at: string | null | undefined) => Date.parse(at ?? "");

describe("debounce, overlap and catch-up, through npm run dev", () => {
  // A server of its own: the local queue hands its consumer one batch at a time, so another file's slow
  // calls on the shared server would hold these jobs' messages back and blur what each policy does.
  const fixture = ownDevFixture("recurring-debounce", {
    answer: (d) => ({ status: 200, afterMs: d.route.startsWith("/slow") ? 5000 : 0 }),
  });

  async function newUser(name: string) {
    const api = new ApiClient(fixture.server().baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.api_key;
    const call = <T = JobWithPolicies>(method: string, path: string, body?: unknown) =>
      api.request<T>(method, path, { token: key, ...(body === undefined ? {} : { body }) });
    return { call };
  }

  it("five debounced submits within a second make one call, with the last body", async () => {
    const target = fixture.target();
    const { call } = await newUser("e2e-debounce");
    const statuses: number[] = [];
    const ids = new Set<string>();
    for (let i = 1; i <= 5; i++) {
      const res = await call("POST", "/v1/jobs", {
        type: "http",
        payload: { url: target.url("/debounced"), body: { n: i } },
        debounce: { key: "reindex-7", delay_seconds: 2 },
      });
      statuses.push(res.status);
      ids.add(res.body.id);
      await sleep(150);
    }
    expect(statuses).toEqual([201, 200, 200, 200, 200]);
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const done = await poll(
      "the debounced job to finish",
      () => call("GET", `/v1/jobs/${id}`).then((r) => r.body),
      (j) => FINISHED.has(j.status),
      { timeoutMs: 30_000 },
    );
    expect(done.status).toBe("succeeded");
    // Give a wrong second call time to show up.
    await sleep(2500);
    const calls = target.deliveries.filter((d) => d.route === "/debounced");
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]?.body ?? "null")).toEqual({ n: 5 });
    // Once it has started, the key makes a new job.
    const next = await call("POST", "/v1/jobs", {
      type: "noop",
      debounce: { key: "reindex-7", delay_seconds: 2 },
    });
    expect(next.status).toBe(201);
    expect(next.body.id).not.toBe(id);
  });

  /**
   * A job every 2 s whose target takes 5 s, alone on the server for 12 s (the local queue hands the
   * consumer one batch at a time, so another job's 5 s call would hold its messages back), then
   * cancelled; the target's calls for it once the last is answered.
   */
  async function slowEvery2s(overlap: string): Promise<{ calls: Delivery[]; job: JobWithPolicies }> {
    const target = fixture.target();
    const { call } = await newUser(`e2e-overlap-${overlap}`);
    const res = await call("POST", "/v1/jobs", {
      type: "http",
      payload: { url: target.url(`/slow-${overlap}`) },
      interval_seconds: 2,
      timeout_seconds: 30,
      max_retries: 0,
      overlap,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.overlap).toBe(overlap);
    await sleep(12_000);
    expect((await call("DELETE", `/v1/jobs/${res.body.id}`)).status).toBe(200);
    // Let the call in flight be answered.
    await sleep(5_500);
    const job = (await call("GET", `/v1/jobs/${res.body.id}`)).body;
    return { calls: target.deliveries.filter((d) => d.route === `/slow-${overlap}`), job };
  }

  it("every 2 s against a 5 s target, skip: never two calls at once, the next at a later slot", async () => {
    const { calls, job } = await slowEvery2s("skip");
    expect(maxInFlight(calls, "/slow-skip")).toBe(1);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < calls.length; i++) {
      const prev = calls[i - 1] as Delivery;
      expect((calls[i] as Delivery).at, `call ${i} after the previous answer`).toBeGreaterThanOrEqual(
        prev.answeredAt ?? Number.POSITIVE_INFINITY,
      );
    }
    // Each next occurrence is a slot after the previous one ended: those due while it ran were skipped.
    const done = finishedInOrder(job);
    for (let i = 1; i < done.length; i++)
      expect(ms(done[i]?.scheduled_at), `occurrence ${i} due after the previous ended`).toBeGreaterThan(
        ms(done[i - 1]?.finished_at),
      );
  });

  it("every 2 s against a 5 s target, buffer_one: never two at once, each next right after the answer", async () => {
    const { calls, job } = await slowEvery2s("buffer_one");
    expect(maxInFlight(calls, "/slow-buffer_one")).toBe(1);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < calls.length; i++) {
      const prev = calls[i - 1] as Delivery;
      const gap = (calls[i] as Delivery).at - (prev.answeredAt ?? prev.at);
      expect(gap, `call ${i} after the previous answer`).toBeGreaterThanOrEqual(0);
      expect(gap, `call ${i} right after the previous answer`).toBeLessThan(2000);
    }
    // Each next occurrence was due by the time the previous one ended (it came due while that ran, and
    // was buffered: scheduled at that end), and started once it ended.
    const done = finishedInOrder(job);
    expect(done.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < done.length; i++) {
      expect(ms(done[i]?.scheduled_at), `occurrence ${i} due when the previous ended`).toBeLessThanOrEqual(
        ms(done[i - 1]?.finished_at),
      );
      expect(ms(done[i]?.started_at)).toBeGreaterThanOrEqual(ms(done[i - 1]?.finished_at));
    }
  });

  it("every 2 s against a 5 s target, cancel_other: the running call is cut off and the next starts", async () => {
    const { calls, job } = await slowEvery2s("cancel_other");
    // A new occurrence about every 2 s, each with its own webhook id; the one before it cut off then.
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(new Set(calls.map((d) => d.webhookId)).size).toBe(calls.length);
    expect(calls.filter((d) => d.hungUp).length).toBeGreaterThanOrEqual(3);
    const cancelled = job.attempts.filter(
      (a) => a.status === "cancelled" && a.error?.includes("cancel_other"),
    );
    expect(cancelled.length).toBeGreaterThanOrEqual(3);
  });

  it("a job paused for 10 s with catch_up one runs once on resume", async () => {
    const target = fixture.target();
    const { call } = await newUser("e2e-catch-up");
    const res = await call("POST", "/v1/jobs", {
      type: "http",
      payload: { url: target.url("/catch-up") },
      interval_seconds: 2,
      catch_up: "one",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id;
    const runs = () => call("GET", `/v1/jobs/${id}`).then((r) => r.body);
    await poll("a first run", runs, (j) => j.runs >= 1, { timeoutMs: 30_000 });
    expect((await call("POST", `/v1/jobs/${id}/pause`)).status).toBe(200);
    await poll("the pause to settle", runs, (j) => j.status === "paused", { timeoutMs: 10_000 });
    await sleep(1000);
    const before = target.deliveries.filter((d) => d.route === "/catch-up").length;
    await sleep(10_000);
    expect(target.deliveries.filter((d) => d.route === "/catch-up")).toHaveLength(before);
    const resumedAt = Date.now();
    const resumed = await call("POST", `/v1/jobs/${id}/resume`);
    expect(resumed.status).toBe(200);
    const runsBefore = resumed.body.runs;
    // Occurrences were missed: one run for all of them, at once.
    const calls = () => target.deliveries.filter((d) => d.route === "/catch-up").slice(before);
    await poll(
      "the catch-up run",
      async () => calls().length,
      (n) => n >= 1,
      { timeoutMs: 10_000 },
    );
    expect((calls()[0]?.at ?? Infinity) - resumedAt, "the catch-up run goes at once").toBeLessThan(1500);
    // ...and one only: the next call is the next occurrence on the grid, not a second catch-up.
    const settled = await poll(
      "the catch-up run to finish",
      runs,
      (j) => j.runs > runsBefore && j.status === "scheduled",
      { timeoutMs: 10_000 },
    );
    const nextSlot = Date.parse(settled.run_at);
    expect(calls().filter((d) => d.at < nextSlot - 100)).toHaveLength(1);
    expect((await call("DELETE", `/v1/jobs/${id}`)).status).toBe(200);
  });

  it("bad input for each new field is a clear 400 naming it, and creates nothing", async () => {
    const { call } = await newUser("e2e-issue18-bad-input");
    const every = { type: "noop", interval_seconds: 60 };
    const bad: [Record<string, unknown>, string][] = [
      [{ type: "noop", flow_control: { key: "k" } }, "flow_control"],
      [{ type: "noop", flow_control: { key: "k", concurrency: 0 } }, "flow_control.concurrency"],
      [
        { type: "noop", flow_control: { key: "k", rate: 5, period_seconds: 100_000 } },
        "flow_control.period_seconds",
      ],
      [{ ...every, overlap: "queue_all" }, "overlap"],
      [{ ...every, catch_up: "some" }, "catch_up"],
      [{ ...every, catch_up: "all", catch_up_window_seconds: 0 }, "catch_up_window_seconds"],
      [{ ...every, catch_up: "all", catch_up_window_seconds: 604_801 }, "catch_up_window_seconds"],
      [{ type: "noop", debounce: { key: "d" } }, "debounce.delay_seconds"],
      [{ type: "noop", debounce: { key: "d", delay_seconds: 0 } }, "debounce.delay_seconds"],
      [{ type: "noop", debounce: { key: "", delay_seconds: 2 } }, "debounce.key"],
    ];
    for (const [body, path] of bad) {
      const res = await call<{ error: { code: string; details: { path: string }[] } }>(
        "POST",
        "/v1/jobs",
        body,
      );
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(
        res.body.error.details.some((d) => d.path === path || d.path.startsWith(`${path}.`)),
        `${JSON.stringify(body)} names ${path}: ${JSON.stringify(res.body.error.details)}`,
      ).toBe(true);
    }
    const listed = await call<{ jobs: unknown[] }>("GET", "/v1/jobs");
    expect(listed.body.jobs).toEqual([]);
  });
});
