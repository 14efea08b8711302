// Failures that no retry can fix end the occurrence at once (docs/design.md, Executors), and retry_policy
// `transient` stops retries on client errors; network errors say what the runtime let us know.
import { afterEach, describe, expect, it, vi } from "vitest";
import { shardStub } from "../../src/shard/address";
import { createUser, deliver, env, fireAlarm, getJob, submit, type TestUser } from "../support/helpers";
import { newJobs } from "../support/new-job";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Submits `job`, runs its first attempt through the consumer, and returns the job afterwards. */
async function runOnce(user: TestUser, job: Record<string, unknown>, bindings = env) {
  const { status, body } = await submit(user, { max_retries: 3, ...job });
  expect(status, JSON.stringify(body)).toBe(201);
  const messages = await fireAlarm(user.user_id);
  expect(messages.map((m) => m.job_id)).toEqual([body.id]);
  await deliver(messages, bindings);
  return getJob(user, body.id);
}

const answering = (status: number) =>
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("no", { status }));

describe("permanent failures", () => {
  it("fails a job whose target is refused at run time without retrying, whatever retries are left", async () => {
    const user = await createUser();
    const fetch = answering(200);
    // Accepted while private targets were allowed; refused by the executor once they are not.
    const strict = { ...env, ALLOW_PRIVATE_TARGETS: "false" } as typeof env;
    const job = await runOnce(user, { type: "http", payload: { url: "http://10.0.0.1/hook" } }, strict);
    expect(job).toMatchObject({ status: "failed", current_retries: 0, runs: 1, next_run_at: null });
    expect(job.last_error).toMatch(/^target refused: /);
    expect(job.attempts.map((a) => a.status)).toEqual(["failed"]);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("fails a job whose type has no executor at once", async () => {
    const user = await createUser();
    const spec = newJobs(user.user_id, Date.now())("job_0_00000000000000000000000001", {
      type: "retired-executor",
      maxRetries: 5,
    });
    expect((await shardStub(env, user.user_id, 0).submit(spec)).ok).toBe(true);
    await deliver(await fireAlarm(user.user_id));
    const job = await getJob(user, spec.id);
    expect(job).toMatchObject({ status: "failed", current_retries: 0 });
    expect(job.last_error).toBe('no executor for type "retired-executor"');
  });
});

describe("retry_policy", () => {
  const hook = { type: "http", payload: { url: "https://example.com/hook" } };

  it("transient: a client error fails the occurrence at once", async () => {
    const user = await createUser();
    answering(404);
    const job = await runOnce(user, { ...hook, retry_policy: "transient" });
    expect(job).toMatchObject({ status: "failed", current_retries: 0, last_error: "HTTP 404: no" });
  });

  it("transient: 408, 425, 429 and 5xx are retried", async () => {
    for (const status of [408, 425, 429, 500, 503]) {
      const user = await createUser();
      answering(status);
      const job = await runOnce(user, { ...hook, retry_policy: "transient" });
      expect(job, `HTTP ${status}`).toMatchObject({ status: "scheduled", current_retries: 1 });
      vi.restoreAllMocks();
    }
  });

  it("all (the default): a client error is retried like any failure", async () => {
    const user = await createUser();
    answering(404);
    const job = await runOnce(user, hook);
    expect(job).toMatchObject({ status: "scheduled", current_retries: 1, retry_policy: "all" });
  });

  it("a recurring job whose occurrence fails permanently moves on to its next occurrence", async () => {
    const user = await createUser();
    answering(400);
    const job = await runOnce(user, { ...hook, retry_policy: "transient", interval_seconds: 3600 });
    expect(job).toMatchObject({
      status: "scheduled",
      current_retries: 0,
      runs: 1,
      last_error: "HTTP 400: no",
    });
    expect(Date.parse(job.run_at) - Date.parse(job.created_at)).toBeGreaterThanOrEqual(3_590_000);
    expect(job.next_run_at).toBe(job.run_at);
  });
});

describe("network errors", () => {
  it("records a refused connection as such, not as an internal error", async () => {
    const user = await createUser();
    // Nothing listens on port 1; the test project allows private targets (ALLOW_PRIVATE_TARGETS).
    const job = await runOnce(user, { type: "http", payload: { url: "http://127.0.0.1:1/hook" } });
    expect(job).toMatchObject({ status: "scheduled", current_retries: 1 });
    expect(job.last_error).toBe(
      "could not connect to 127.0.0.1:1: the connection was refused or closed before a response",
    );
  });
});
