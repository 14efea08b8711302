// The cost budget: billed operations of the canonical job (one-shot, no pool, succeeds at once),
// counted where they happen (src/metering) from submit to its settled row in the D1 index. A change
// that adds a Durable Object request, a SQLite or D1 row written, or a queue message per job fails
// here; one that removes some should lower the budget (docs/cost.md has the prices and the bench).
import { createExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import {
  type OperationCounts,
  operationTotals,
  type Phase,
  resetOperationTotals,
  sumOperations,
} from "../../src/metering/operations";
import { createUser, deliver, env, fireAlarm, getJob } from "../helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The most each phase may cost per canonical job, as measured (docs/cost.md; before the lean schema
 * it was 24 SQLite rows and 5 D1 rows written per job, now 14 and 1). Rows read are left out:
 * they are billed at a thousandth of a row written and depend on how many jobs the shard holds.
 */
const BUDGET: Partial<Record<Phase, Partial<OperationCounts>>> = {
  api: { workerInvocations: 1 },
  // The job row, its id's key, jobs_wake, jobs_index_due.
  submit: { doRequests: 1, sqlRowsWritten: 4 },
  // The job row and jobs_wake; one message.
  claim: { doRequests: 1, sqlRowsWritten: 2, queueMessages: 1 },
  consume: { workerInvocations: 1 },
  // The attempt (WITHOUT ROWID: one row), the job row and jobs_wake.
  begin: { doRequests: 1, sqlRowsWritten: 3 },
  // The attempt, the job row, jobs_wake, jobs_index_due.
  finish: { doRequests: 1, sqlRowsWritten: 4 },
  // The job row (jobs_index_due entry removed); one D1 row (the index is one WITHOUT ROWID B-tree).
  index: { doRequests: 1, sqlRowsWritten: 1, d1RowsWritten: 1 },
};

async function submitThroughWorker(apiKey: string, body: unknown) {
  const res = await worker.fetch(
    new Request("http://scheduler.test/v1/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    env,
    createExecutionContext(),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

describe("cost budget of the canonical one-shot job", () => {
  it("stays within its operations per phase, submit to indexed", async () => {
    const user = await createUser();
    // Warm the key cache and the shard, as a running system is: not part of the job's cost.
    await submitThroughWorker(user.api_key, { type: "noop", run_at: "2030-06-01T00:00:00Z" });
    resetOperationTotals();

    const job = await submitThroughWorker(user.api_key, { type: "noop" });
    const sent = await fireAlarm(user.user_id);
    expect(sent.map((m) => m.job_id)).toEqual([job.id]);
    await deliver(sent);
    const counted = operationTotals();
    expect((await getJob(user, job.id)).status).toBe("succeeded");

    console.log("operations per canonical job", JSON.stringify(counted));
    for (const [phase, budget] of Object.entries(BUDGET) as [Phase, Partial<OperationCounts>][]) {
      for (const [what, most] of Object.entries(budget) as [keyof OperationCounts, number][]) {
        expect(counted[phase]?.[what] ?? 0, `${phase}.${what}`).toBeLessThanOrEqual(most);
      }
    }
    // Nothing is billed outside the phases the budget names.
    const named = Object.fromEntries(Object.keys(BUDGET).map((p) => [p, counted[p as Phase]]));
    expect(sumOperations(named)).toEqual(sumOperations(counted));
    // The job did run: every phase it needs was counted.
    expect(counted.begin?.doRequests).toBe(1);
    expect(counted.finish?.doRequests).toBe(1);
    expect(counted.claim?.queueMessages).toBe(1);
  });
});
