// Claim order from outside (issue 7): through `npm run dev`, a priority-80 job for an idle pool must not
// wait behind 300 priority-1 jobs while 250 priority-90 jobs are blocked on a busy pool. Before claimDue
// became one ordered walk, all 300 priority-1 jobs ran first and the priority-80 job was 10–36 s late.
//
// Miniflare's local queue hands the consumer one batch at a time and waits for it (its broker's flush),
// so the holder's call, which keeps busy's units while it runs, holds back every later delivery of its
// queue. It ends 3 s after the due time. The due jobs are claimed at the due time, in claim order, and
// sent to that queue (the holder's begin came long before: the shard cannot tell its queue is held up
// until a send waited 50 ms), so the first of them wait for the holder's batch and the later sends take
// the next queue; either way the priority-80 job starts within 5 s of the end of the holder's call.
import { describe, expect, it } from "vitest";
import type { CreatedUser, Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { mapLimit, poll } from "../../tools/harness/util";
import { ownDevFixture } from "./dev-fixture";

const BLOCKED = 250;
const LOW = 300;

describe("claim order through npm run dev", () => {
  // A server of its own: the holder's call hangs for ~33 s, and the local queue hands its consumer one
  // batch at a time, so on the shared server it held back the messages of any other file whose shard
  // sent to its queue (CI, 2026-12-04: job-controls.test.ts waited 30 s for a due occurrence).
  const fixture = ownDevFixture("claim-order");

  it("runs the priority-80 job in the first dispatch, not after the priority-1 jobs", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const t = target;
    const api = new ApiClient(server.baseUrl);
    const user = (
      await api.expect<CreatedUser>([201], "POST", "/v1/admin/users", {
        token: fixture.adminToken,
        body: { name: "order" },
      })
    ).body;
    const key = user.api_key;
    // All due at one instant, far enough ahead for every submit to land first; the holder's call
    // hangs until 3 s after it (it holds its pool units while running).
    const dueAt = Date.now() + 30_000;
    const due = new Date(dueAt).toISOString();
    const holdUntil = dueAt + 3_000;
    t.answerWith((d) =>
      d.route === "/hold" ? { status: 200, afterMs: holdUntil - Date.now() } : { status: 200 },
    );
    await api.putPool(key, "busy", 3);
    await api.putPool(key, "free", 1);

    // A running job holds 2 of busy's 3 units.
    const holder = (
      await api.submit(key, {
        type: "http",
        payload: { url: t.url("/hold") },
        resources: { busy: 2 },
        timeout_seconds: 120,
      })
    ).body;
    await poll(
      "the holder to run",
      () => api.job(key, holder.id),
      (j) => j.status === "running",
      { timeoutMs: 30_000 },
    );

    await mapLimit(Array.from({ length: BLOCKED }), 16, () =>
      api.submit(key, { type: "noop", priority: 90, run_at: due, resources: { busy: 2 } }),
    );
    await mapLimit(Array.from({ length: LOW }), 16, () =>
      api.submit(key, { type: "http", priority: 1, run_at: due, payload: { url: t.url("/low") } }),
    );
    const high = (
      await api.submit(key, {
        type: "http",
        priority: 80,
        run_at: due,
        payload: { url: t.url("/high") },
        resources: { free: 1 },
      })
    ).body;
    expect(Date.now(), "every job was submitted before the due time").toBeLessThan(Date.parse(due));

    await poll(
      "the priority-80 job to finish",
      () => api.job(key, high.id),
      (j: Job) => j.status === "succeeded",
      { timeoutMs: 60_000 },
    );
    const routes = t.deliveries.map((d) => d.route);
    const highAt = routes.indexOf("/high");
    expect(highAt, "the priority-80 job was delivered").toBeGreaterThanOrEqual(0);
    // It goes out in the first cycle, with at most one window of priority-1 jobs (50 in flight, the
    // holder one of them) claimed after it in the same cycle and delivered concurrently.
    expect(routes.slice(0, highAt).filter((r) => r === "/low").length).toBeLessThan(50);
    const done = await api.job(key, high.id);
    const started = Date.parse(done.attempts[0]?.started_at ?? "");
    // The holder's call ends at holdUntil; its finish may not be recorded yet when this one is.
    expect(started - holdUntil, "started within 5 s of the end of the holder's call").toBeLessThan(5_000);
  });
});
