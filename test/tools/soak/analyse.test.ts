// The soak's verdict logic on hand-made records: each must-be-0 figure must catch what it claims to.
//   npx vitest run --project tooling soak/

import assert from "node:assert/strict";
import { test } from "vitest";
import type { Attempt } from "../../../tools/harness/api-types";
import { analyse, compareIndex, type IndexedFields } from "../../../tools/soak/lib/analyse";
import { isDispatchQueue } from "../../../tools/soak/lib/server-log";
import type { JobView, Kind, SoakDelivery, SoakJob } from "../../../tools/soak/lib/types";

const T = Date.parse("2026-11-26T10:00:00.000Z");
const at = (s: number) => new Date(T + s * 1000).toISOString();
const attempt = (
  number: number,
  status: string,
  scheduled: number,
  started: number,
  finished: number | null,
  error: string | null = null,
): Attempt => ({
  number,
  status,
  scheduled_at: at(scheduled),
  started_at: at(started),
  finished_at: finished === null ? null : at(finished),
  lateness_ms: Math.round((started - scheduled) * 1000),
  error,
});
const job = (
  id: string,
  kind: Kind,
  view: Partial<JobView> | null,
  extra: Partial<SoakJob> = {},
): SoakJob => ({
  id,
  kind,
  user: 0,
  index: 0,
  priority: 50,
  offsetMs: 0,
  runAtMs: T,
  maxRetries: kind === "fail" ? 2 : kind === "hang" ? 1 : 3,
  viewAt: T + 1_000_000,
  view: view && { id, status: "scheduled", runs: 0, current_retries: 0, attempts: [], ...view },
  ...extra,
});
const delivery = (
  jobId: string,
  occurrence: number,
  s: number,
  route = "/ok",
  status = 200,
): SoakDelivery => ({
  wid: `${jobId}:${occurrence}`,
  jobId,
  occurrence,
  route,
  at: T + s * 1000,
  status,
  hungUp: false,
  signature: true,
});
/** A one-shot job whose first attempt ended without a report (`error`) and whose retry succeeded. */
const retriedView = (error: string) => ({
  status: "succeeded",
  runs: 1,
  attempts: [attempt(2, "succeeded", 30, 31, 31.1), attempt(1, "timed_out", 0, 0.5, 29, error)],
});
const run = (jobs: SoakJob[], deliveries: SoakDelivery[], kills: { at: number; readyAt: number }[] = []) =>
  analyse({ jobs, deliveries, kills, faultWindow: { preMs: 10_000, postMs: 10_000 } });

test("a clean one-shot job passes every check", () => {
  const a = run(
    [job("j1", "ok", { status: "succeeded", runs: 1, attempts: [attempt(1, "succeeded", 0, 0.5, 0.6)] })],
    [delivery("j1", 0, 0.55)],
  );
  assert.deepEqual(a.mustBeZero, {
    lostJobs: 0,
    duplicateAcceptedCompletions: 0,
    invariantViolations: 0,
    slowCrashRecoveries: 0,
  });
  assert.equal(a.rawDuplicateDeliveries.total, 0);
});

test("missing, unfinished and undelivered jobs are lost", () => {
  const a = run(
    [
      job("gone", "ok", null),
      job("stuck", "ok", { status: "queued", attempts: [] }),
      job("silent", "ok", { status: "succeeded", runs: 1, attempts: [attempt(1, "succeeded", 0, 0.5, 0.6)] }),
    ],
    [],
  );
  assert.equal(a.mustBeZero.lostJobs, 3);
  assert.deepEqual(a.lostBy, { missing: 1, unfinished: 1, neverDelivered: 3 });
});

test("two succeeded attempts of a one-shot job are a duplicate accepted completion", () => {
  const a = run(
    [
      job("j1", "ok", {
        status: "succeeded",
        runs: 1,
        attempts: [attempt(2, "succeeded", 20, 21, 21.1), attempt(1, "succeeded", 0, 0.5, 0.6)],
      }),
    ],
    [delivery("j1", 0, 0.55), delivery("j1", 0, 21.05)],
  );
  assert.equal(a.mustBeZero.duplicateAcceptedCompletions, 1);
});

test("a recurring job: one win per grid slot is fine, two in one slot are not, runs must match", () => {
  // interval 5 s from T: slots 0, 1, 2; slot 1 retried after a lease expiry.
  const ok = job(
    "r1",
    "rec",
    {
      status: "cancelled",
      runs: 3,
      attempts: [
        attempt(1, "succeeded", 0, 0.2, 0.3),
        attempt(2, "timed_out", 5, 5.2, 17, "timed out: no report within 10s"),
        attempt(4, "succeeded", 18, 18.1, 18.2),
        attempt(5, "succeeded", 20, 20.1, 20.2),
      ].reverse(),
    },
    { intervalSeconds: 5 },
  );
  const dels = [
    delivery("r1", 0, 0.25),
    delivery("r1", 1, 5.25),
    delivery("r1", 1, 18.15),
    delivery("r1", 2, 20.15),
  ];
  const a = run([ok], dels, [{ at: T + 6_000, readyAt: T + 14_000 }]);
  assert.equal(a.mustBeZero.duplicateAcceptedCompletions, 0);
  assert.equal(a.mustBeZero.invariantViolations, 0);
  assert.equal(a.recovery.lostDispatches.kill, 1); // attempt 3 was claimed but never began
  assert.equal(a.rawDuplicateDeliveries.afterKill, 1);

  const twice = structuredClone(ok);
  (twice.view as JobView).attempts = [
    attempt(1, "succeeded", 0, 0.2, 0.3),
    attempt(2, "succeeded", 0, 9, 9.1),
  ];
  (twice.view as JobView).runs = 1;
  const b = run([twice], [delivery("r1", 0, 0.25), delivery("r1", 0, 9.05)]);
  assert.equal(b.mustBeZero.duplicateAcceptedCompletions, 1);

  const inflated = structuredClone(ok);
  (inflated.view as JobView).runs = 5;
  assert.equal(run([inflated], dels).mustBeZero.duplicateAcceptedCompletions, 1);
});

test("raw duplicates are classified by whether a kill fell between the deliveries", () => {
  const view = retriedView("timed out: no report within 10s");
  const dels = [delivery("j1", 0, 0.55), delivery("j1", 0, 31.05)];
  const withKill = run([job("j1", "ok", view)], dels, [{ at: T + 1_000, readyAt: T + 9_000 }]);
  assert.equal(withKill.rawDuplicateDeliveries.afterKill, 1);
  const noKill = run(
    [job("j1", "ok", structuredClone(view))],
    dels.map((d) => ({ ...d })),
  );
  assert.equal(noKill.rawDuplicateDeliveries.withoutKill, 1);
  assert.match(Object.keys(noKill.rawDuplicateDeliveries.byCause)[0] ?? "", /lease expired/);
});

test("an attempt a kill cut off must be given up within 60 s of the restart", () => {
  const kill = { at: T + 1_000, readyAt: T + 9_000 };
  const cutOff = (id: string, givenUpAt: number, error: string) =>
    job(id, "ok", {
      status: "succeeded",
      runs: 1,
      attempts: [
        attempt(2, "succeeded", givenUpAt + 1, givenUpAt + 1.5, givenUpAt + 1.6),
        attempt(1, "timed_out", 0, 0.5, givenUpAt, error),
      ],
    });
  const dels = (id: string, givenUpAt: number) => [delivery(id, 0, 0.55), delivery(id, 0, givenUpAt + 1.55)];
  // Heartbeats stopped: given up 30.5 s after begin, 22 s after the restart.
  const quick = run(
    [cutOff("j1", 30.5, "heartbeats stopped: no report or heartbeat for 30s")],
    dels("j1", 30.5),
    [kill],
  );
  assert.equal(quick.mustBeZero.slowCrashRecoveries, 0);
  assert.equal(quick.crashRecovery.afterRestart.max, 21_500);
  assert.equal(quick.crashRecovery.allOneShotsFinalAfterLastRestartMs, 23_100);
  assert.equal(quick.recovery.leaseExpiries.kill, 1);
  assert.equal(quick.crashRecovery.runAtToSucceeded.cutOff.max, 32_100);
  // The timeout bound of a 900 s job: 893 s after the restart.
  const slow = run([cutOff("j2", 902, "timed out: no report within 900s")], dels("j2", 902), [kill]);
  assert.equal(slow.mustBeZero.slowCrashRecoveries, 1);
  // Still running when read, 100 s after the restart.
  const stuck = job("j3", "ok", { status: "running", attempts: [attempt(1, "running", 0, 0.5, null)] });
  stuck.viewAt = T + 109_000;
  const left = run([stuck], [delivery("j3", 0, 0.55)], [kill]);
  assert.equal(left.mustBeZero.slowCrashRecoveries, 1);
  assert.equal(left.crashRecovery.oneShotsLeftRunning, 1);
  assert.equal(left.crashRecovery.stillRunning, 1);
  assert.equal(left.crashRecovery.allOneShotsFinalAfterLastRestartMs, null);
});

test("a repeat delivery of a one-shot job under another webhook-id violates an invariant", () => {
  const view = retriedView("heartbeats stopped: no report or heartbeat for 30s");
  const same = run([job("j1", "ok", view)], [delivery("j1", 0, 0.55), delivery("j1", 0, 31.05)]);
  assert.equal(same.mustBeZero.invariantViolations, 0);
  assert.equal(same.rawDuplicateDeliveries.underAnotherWebhookId, 0);
  const other = run(
    [job("j1", "ok", structuredClone(view))],
    [delivery("j1", 0, 0.55), delivery("j1", 1, 31.05)],
  );
  assert.equal(other.mustBeZero.invariantViolations, 1);
  assert.equal(other.rawDuplicateDeliveries.underAnotherWebhookId, 1);
});

test("more deliveries than begun attempts, or a succeeded /fail job, violate invariants", () => {
  const a = run(
    [
      job("f1", "fail", {
        status: "failed",
        runs: 1,
        attempts: [
          attempt(3, "failed", 4, 4.1, 4.2, "HTTP 500"),
          attempt(2, "failed", 2, 2.1, 2.2, "HTTP 500"),
          attempt(1, "failed", 0, 0.1, 0.2, "HTTP 500"),
        ],
      }),
      job("f2", "fail", { status: "succeeded", runs: 1, attempts: [attempt(1, "succeeded", 0, 0.1, 0.2)] }),
    ],
    [
      delivery("f1", 0, 0.15, "/fail", 500),
      delivery("f1", 0, 2.15, "/fail", 500),
      delivery("f1", 0, 4.15, "/fail", 500),
      delivery("f1", 0, 4.16, "/fail", 500),
      delivery("f2", 0, 0.15, "/fail", 500),
    ],
  );
  assert.equal(a.mustBeZero.invariantViolations, 2);
  assert.equal(a.repeatsByDesign.fail, 3);
});

test("deliveries after a job's view was read are not held against it", () => {
  const j = job("j1", "ok", { status: "queued", attempts: [] });
  j.viewAt = T + 10_000;
  const a = run([j], [delivery("j1", 0, 20)]);
  assert.equal(a.mustBeZero.invariantViolations, 0);
  assert.equal(a.deliveriesAfterSnapshot, 1);
});

test("the D1 comparison finds missing, stale and foreign rows", () => {
  const v = (status: string, runs: number, u: number): IndexedFields => ({ status, runs, updated_at: at(u) });
  const views = new Map([
    ["a", v("succeeded", 1, 5)],
    ["b", v("failed", 1, 6)],
    ["c", v("cancelled", 3, 7)],
  ]);
  const listed = new Map([
    ["a", v("succeeded", 1, 5)],
    ["b", v("running", 0, 4)],
    ["x", v("scheduled", 0, 1)],
  ]);
  const out = compareIndex(views, listed);
  assert.deepEqual(out.map((d) => d.id).sort(), ["b", "c", "x"]);
});

test("isDispatchQueue counts every dispatch queue's batches, not the dead-letter queues'", () => {
  for (const q of ["scheduler-dispatch", "scheduler-dispatch-1", "scheduler-dispatch-3"])
    assert.equal(isDispatchQueue(q), true, q);
  for (const q of ["scheduler-dispatch-dlq", "scheduler-dispatch-1-dlq", "other", "scheduler-dispatch-x"])
    assert.equal(isDispatchQueue(q), false, q);
});
