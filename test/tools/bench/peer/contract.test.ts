import { describe, expect, it } from "vitest";
import {
  bullmqDelay,
  bullmqPriority,
  contractStatus,
  jobView,
  parseBatch,
  parseSubmit,
} from "../../../../tools/bench/peer/contract";

const NOW = Date.parse("2026-11-29T10:00:00.000Z");
const target = { url: "http://127.0.0.1:9000/hook" };

describe("parseSubmit", () => {
  it("accepts a minimal job with the contract's defaults", () => {
    const parsed = parseSubmit({ type: "noop" }, NOW);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.details));
    expect(parsed.value.id).toMatch(/^job_peer_[0-9a-f]{32}$/);
    expect(parsed.value.data).toMatchObject({
      type: "noop",
      runAt: NOW,
      priority: 50,
      maxRetries: 3,
      payload: null,
    });
  });

  it("takes run_at and priority from the body", () => {
    const parsed = parseSubmit(
      { type: "http", payload: target, run_at: "2026-11-29T10:00:02.500Z", priority: 90 },
      NOW,
    );
    expect(parsed.ok && parsed.value.data).toMatchObject({
      runAt: NOW + 2500,
      priority: 90,
      payload: target,
    });
  });

  it.each([
    [{ type: "noop", priority: 101 }, "priority"],
    [{ type: "noop", cron: "* * * * *" }, "cron"],
    [{ type: "noop", resources: { db: 1 } }, "resources"],
    [{ type: "shell" }, "type"],
    [{ type: "http", payload: { url: "http://example.com/" } }, "payload.url"],
    [{ type: "http", payload: { url: "not a url" } }, "payload.url"],
    [{ type: "noop", run_at: "tomorrow" }, "run_at"],
  ])("refuses %j at %s", (body, path) => {
    const parsed = parseSubmit(body, NOW);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.details.map((d) => d.path)).toContain(path);
  });
});

describe("parseBatch", () => {
  it("accepts every item or none, naming the bad item's path", () => {
    const good = parseBatch({ jobs: [{ type: "noop" }, { type: "noop", priority: 10 }] }, NOW);
    expect(good.ok && good.value.map((s) => s.data.priority)).toEqual([50, 10]);
    const bad = parseBatch({ jobs: [{ type: "noop" }, { type: "noop", priority: -1 }] }, NOW);
    expect(!bad.ok && bad.details.map((d) => d.path)).toEqual(["jobs[1].priority"]);
  });

  it.each([
    [{}],
    [{ jobs: [] }],
    [{ jobs: Array.from({ length: 1001 }, () => ({ type: "noop" })) }],
    [{ jobs: [], x: 1 }],
  ])("refuses %#", (body) => {
    expect(parseBatch(body, NOW).ok).toBe(false);
  });
});

describe("mapping to BullMQ", () => {
  it("keeps the contract's priority order (higher first) in BullMQ's (lower first), never 0", () => {
    expect(bullmqPriority(100)).toBe(1);
    expect(bullmqPriority(0)).toBe(101);
    expect(bullmqPriority(90)).toBeLessThan(bullmqPriority(10));
  });

  it("delays until run_at, and not at all for a past run_at", () => {
    expect(bullmqDelay(NOW + 2000, NOW)).toBe(2000);
    expect(bullmqDelay(NOW - 5000, NOW)).toBe(0);
  });

  it.each([
    ["delayed", "scheduled"],
    ["waiting", "queued"],
    ["prioritized", "queued"],
    ["active", "running"],
    ["completed", "succeeded"],
    ["failed", "failed"],
  ])("shows BullMQ's %s as %s", (state, status) => {
    expect(contractStatus(state)).toBe(status);
  });
});

describe("jobView", () => {
  const spec = parseSubmit({ type: "http", payload: target, run_at: "2026-11-29T10:00:02.000Z" }, NOW);
  if (!spec.ok) throw new Error("bad fixture");

  it("shows a finished job's attempt with its lateness from run_at", () => {
    const view = jobView(spec.value, {
      state: "completed",
      attemptsStarted: 1,
      processedOn: NOW + 2040,
      finishedOn: NOW + 2100,
      returnvalue: { status: 200 },
    });
    expect(view.status).toBe("succeeded");
    expect(view.attempts).toEqual([
      {
        number: 1,
        status: "succeeded",
        scheduled_at: "2026-11-29T10:00:02.000Z",
        started_at: "2026-11-29T10:00:02.040Z",
        finished_at: "2026-11-29T10:00:02.100Z",
        lateness_ms: 40,
        error: null,
      },
    ]);
  });

  it("shows a job waiting for its retry with a failed latest attempt", () => {
    const view = jobView(spec.value, {
      state: "delayed",
      attemptsStarted: 1,
      processedOn: NOW + 2000,
      finishedOn: NOW + 2010,
      failedReason: "target answered 500",
    });
    expect(view.status).toBe("scheduled");
    expect(view.attempts[0]?.status).toBe("failed");
    expect(view.current_retries).toBe(0);
  });

  it("shows no attempt before the job starts", () => {
    expect(jobView(spec.value, { state: "delayed", attemptsStarted: 0 }).attempts).toEqual([]);
  });
});
