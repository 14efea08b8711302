// callback_url (issue 10 part 3): after each finished occurrence the job object is POSTed to the
// callback URL, signed like a target call, with its own bounded retries, through the dispatch queue
// and the consumer. The shard's callbacks row is the truth: a lost message is sent again by the alarm.
import { runDurableObjectAlarm } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CALLBACK_MAX_TRIES, CALLBACK_TIMEOUT_MS } from "../../src/core/callback-policy";
import type { JobView } from "../../src/core/job";
import type { Env } from "../../src/env";
import { pendingCallbacks, recordDispatchQueue, takeCallbackMessages } from "../support/callbacks";
import {
  createUser,
  deliver,
  env,
  fireAlarm,
  getJob,
  inShard,
  setShardClock,
  shardOf,
  submit,
  type TestUser,
  unreachableShards,
} from "../support/helpers";
import { expectLogged } from "../support/log-capture";
import { network, type Received } from "../support/network";

afterEach(() => {
  vi.restoreAllMocks();
});

const CALLBACK = "http://127.0.0.1:9/callback";
const TARGET = "http://127.0.0.1:9/target";

/** A one-shot noop job with a callback, run to succeeded; returns it and the queue it reports on. */
async function finishedJob(user: TestUser, extra: Record<string, unknown> = {}) {
  const queue = await recordDispatchQueue(user.user_id);
  const { status, body } = await submit(user, { type: "noop", callback_url: CALLBACK, ...extra });
  expect(status).toBe(201);
  await deliver(await fireAlarm(user.user_id));
  const job = await getJob(user, body.id);
  expect(job.status).toBe("succeeded");
  return { job, queue };
}

const verify = (user: TestUser, r: Received) => new Webhook(user.signing_secret).verify(r.body, r.headers);

describe("callback_url", () => {
  it("POSTs the job object after the occurrence finishes, signed and verifiable, and changes nothing", async () => {
    const user = await createUser();
    const net = network({ [CALLBACK]: [200] });
    const { job, queue } = await finishedJob(user);
    const messages = takeCallbackMessages(queue);
    expect(messages).toEqual([
      { kind: "callback", user_id: user.user_id, job_id: job.id, occurrence: 0, attempt: 1 },
    ]);

    expect(await deliver(messages)).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });
    const calls = net.to(CALLBACK);
    expect(calls).toHaveLength(1);
    const call = calls[0] as Received;
    expect(call.method).toBe("POST");
    expect(call.headers["content-type"]).toBe("application/json");
    expect(call.headers["webhook-id"]).toBe(`${job.id}:0:callback`);
    // standardwebhooks checks the signature over "id.timestamp.body" with the user's secret.
    expect(verify(user, call)).toEqual(job);
    expect(await pendingCallbacks(user.user_id)).toEqual([]);
    // The callback is not part of the job's life: the job is exactly as it was.
    expect(await getJob(user, job.id)).toEqual(job);
  });

  it("retries after a 500 under the same webhook-id, at its backoff time, then clears", async () => {
    const user = await createUser();
    const net = network({ [CALLBACK]: [500, 200] });
    const { job, queue } = await finishedJob(user);
    await deliver(takeCallbackMessages(queue));
    const [waiting] = await pendingCallbacks(user.user_id);
    expect(waiting).toMatchObject({ job_id: job.id, occurrence: 0, attempt: 2, sends: 0 });
    // Before its time the alarm sends nothing.
    await setShardClock(user.user_id, (waiting?.deadline ?? 0) - 1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(takeCallbackMessages(queue)).toEqual([]);

    await setShardClock(user.user_id, waiting?.deadline ?? 0);
    await runDurableObjectAlarm(shardOf(user.user_id));
    const retry = takeCallbackMessages(queue);
    expect(retry).toEqual([
      { kind: "callback", user_id: user.user_id, job_id: job.id, occurrence: 0, attempt: 2 },
    ]);
    await deliver(retry);
    const calls = net.to(CALLBACK);
    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([
      `${job.id}:0:callback`,
      `${job.id}:0:callback`,
    ]);
    expect(verify(user, calls[1] as Received)).toEqual(job);
    expect(await pendingCallbacks(user.user_id)).toEqual([]);
    expect(await getJob(user, job.id)).toEqual(job);
  });

  it(`gives up after ${CALLBACK_MAX_TRIES} tries; the job's outcome is untouched`, async () => {
    const user = await createUser();
    const net = network({ [CALLBACK]: [503] });
    const { job, queue } = await finishedJob(user);
    let messages = takeCallbackMessages(queue);
    for (let tryNo = 1; tryNo <= CALLBACK_MAX_TRIES; tryNo++) {
      expect(messages.map((m) => ("kind" in m ? m.attempt : null))).toEqual([tryNo]);
      await deliver(messages);
      const pending = await pendingCallbacks(user.user_id);
      if (tryNo < CALLBACK_MAX_TRIES) {
        expect(pending).toMatchObject([{ attempt: tryNo + 1 }]);
        await setShardClock(user.user_id, pending[0]?.deadline ?? 0);
      } else {
        expect(pending).toEqual([]);
      }
      await runDurableObjectAlarm(shardOf(user.user_id));
      messages = takeCallbackMessages(queue);
    }
    expect(messages).toEqual([]);
    expect(net.to(CALLBACK)).toHaveLength(CALLBACK_MAX_TRIES);
    expect(await getJob(user, job.id)).toEqual(job);
  });

  it("a failed occurrence (retries spent) gets its callback too, with the failure in it", async () => {
    const user = await createUser();
    const queue = await recordDispatchQueue(user.user_id);
    const net = network({ [TARGET]: [500], [CALLBACK]: [200] });
    const { body } = await submit(user, {
      type: "http",
      payload: { url: TARGET },
      max_retries: 0,
      callback_url: CALLBACK,
    });
    await deliver(await fireAlarm(user.user_id));
    const failed = await getJob(user, body.id);
    expect(failed.status).toBe("failed");
    await deliver(takeCallbackMessages(queue));
    const [call] = net.to(CALLBACK);
    expect(verify(user, call as Received)).toMatchObject({
      id: body.id,
      status: "failed",
      last_error: /500/,
    });
    expect(await getJob(user, body.id)).toEqual(failed);
  });

  it("a retried attempt sends nothing; each occurrence of a recurring job sends its own", async () => {
    const user = await createUser();
    const queue = await recordDispatchQueue(user.user_id);
    const net = network({ [TARGET]: [500, 200], [CALLBACK]: [200] });
    const start = Date.now() + 1000; // the job, due now, is due at the shard's clock
    await setShardClock(user.user_id, start);
    const { body } = await submit(user, {
      type: "http",
      payload: { url: TARGET },
      interval_seconds: 3600,
      retry_delay_seconds: 1,
      callback_url: CALLBACK,
    });
    await deliver(await fireAlarm(user.user_id));
    // The first attempt failed and will be retried: the occurrence is not over.
    expect(takeCallbackMessages(queue)).toEqual([]);
    await setShardClock(user.user_id, start + 5_000);
    await deliver(await fireAlarm(user.user_id));
    await deliver(takeCallbackMessages(queue));
    await setShardClock(user.user_id, start + 3_600_000 + 1_000);
    await deliver(await fireAlarm(user.user_id));
    const second = takeCallbackMessages(queue);
    expect(second).toMatchObject([{ occurrence: 1, attempt: 1 }]);
    await deliver(second);
    const calls = net.to(CALLBACK);
    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([
      `${body.id}:0:callback`,
      `${body.id}:1:callback`,
    ]);
    expect((calls.map((c) => verify(user, c)) as JobView[]).map((j) => [j.runs, j.status])).toEqual([
      [1, "scheduled"],
      [2, "scheduled"],
    ]);
  });

  it("refuses a private callback target without ALLOW_PRIVATE_TARGETS, once, as a permanent failure", async () => {
    const user = await createUser();
    const net = network({});
    const { job, queue } = await finishedJob(user);
    const strict = { ...env, ALLOW_PRIVATE_TARGETS: "false" } as Env;
    const logs = vi.spyOn(console, "log");
    await deliver(takeCallbackMessages(queue), strict);
    expect(net.received).toEqual([]);
    expect(await pendingCallbacks(user.user_id)).toEqual([]);
    const line = logs.mock.calls.map((c) => String(c[0])).find((l) => l.includes('"callback_finished"'));
    expect(JSON.parse(line ?? "{}")).toMatchObject({
      job_id: job.id,
      outcome: "failed",
      report: "abandoned",
      error: expect.stringMatching(/^target refused: only https targets are allowed/),
    });
    expect(await getJob(user, job.id)).toEqual(job);
  });

  it("sends a lost message again when its report is overdue (the shard's clock), and the copy delivers it", async () => {
    const user = await createUser();
    const net = network({ [CALLBACK]: [200] });
    const start = Date.now() + 1000; // the job, due now, is due at the shard's clock
    await setShardClock(user.user_id, start);
    const { job, queue } = await finishedJob(user);
    expect(takeCallbackMessages(queue)).toHaveLength(1); // ...and lost.
    const [sent] = await pendingCallbacks(user.user_id);
    expect(sent).toMatchObject({ attempt: 1, sends: 1 });
    expect(sent?.deadline).toBeGreaterThanOrEqual(start + CALLBACK_TIMEOUT_MS);

    await setShardClock(user.user_id, (sent?.deadline ?? 0) - 1);
    await runDurableObjectAlarm(shardOf(user.user_id));
    expect(takeCallbackMessages(queue)).toEqual([]);
    await setShardClock(user.user_id, sent?.deadline ?? 0);
    await runDurableObjectAlarm(shardOf(user.user_id));
    const again = takeCallbackMessages(queue);
    // The same try, not a new one: any copy may deliver it.
    expect(again).toEqual([
      { kind: "callback", user_id: user.user_id, job_id: job.id, occurrence: 0, attempt: 1 },
    ]);
    const [resent] = await pendingCallbacks(user.user_id);
    // The next wait is longer: a slow queue gets few copies.
    expect((resent?.deadline ?? 0) - (sent?.deadline ?? 0)).toBeGreaterThan((sent?.deadline ?? 0) - start);
    await deliver(again);
    expect(net.to(CALLBACK)).toHaveLength(1);
    expect(await pendingCallbacks(user.user_id)).toEqual([]);
    // A late copy of the delivered try is refused by the shard and not delivered again.
    await deliver(again);
    expect(net.to(CALLBACK)).toHaveLength(1);
  });

  it("an attempt given up by the alarm (timed out) sends its callback from that alarm", async () => {
    const user = await createUser();
    const queue = await recordDispatchQueue(user.user_id);
    network({ [CALLBACK]: [200] });
    const start = Date.now() + 1000; // the job, due now, is due at the shard's clock
    await setShardClock(user.user_id, start);
    const { body } = await submit(user, { type: "noop", max_retries: 0, callback_url: CALLBACK });
    const [claim] = await fireAlarm(user.user_id);
    // Begin it, then let the consumer vanish: no report, no heartbeat.
    await inShard(user.user_id, (s) => s.begin(body.id, claim?.attempt ?? 0));
    await setShardClock(user.user_id, start + 10 * 60_000);
    await runDurableObjectAlarm(shardOf(user.user_id));
    const job = await getJob(user, body.id);
    expect(job.status).toBe("failed");
    const messages = takeCallbackMessages(queue);
    expect(messages).toEqual([
      { kind: "callback", user_id: user.user_id, job_id: body.id, occurrence: 0, attempt: 1 },
    ]);
  });

  it("acks a malformed or unknown callback message without a call, and retries one whose shard is unreachable", async () => {
    const user = await createUser();
    const net = network({});
    const unknown = { kind: "callback", user_id: user.user_id, job_id: "job_0_00000000000000000000000000" };
    const handled = await deliver([
      { ...unknown, occurrence: -1, attempt: 1 },
      { ...unknown, occurrence: 0, attempt: 1 },
    ]);
    expect(handled.explicitAcks).toHaveLength(2);
    expect(handled.retryMessages).toEqual([]);
    expect(net.received).toEqual([]);
    expect(expectLogged("dispatch_message_malformed"), "the one with occurrence -1").toHaveLength(1);

    const { job, queue } = await finishedJob(user);
    const broken = unreachableShards("beginCallbacks");
    const messages = takeCallbackMessages(queue);
    const result = await deliver(messages, broken);
    expect(result.retryMessages).toHaveLength(1);
    expect(net.received).toEqual([]);
    expectLogged("dispatch_message_failed", {
      kind: "callback",
      job_id: job.id,
      error: { message: "shard unavailable" },
    });
    // The try is not spent: the retried message delivers it.
    expect(await pendingCallbacks(user.user_id)).toMatchObject([{ job_id: job.id, attempt: 1 }]);
    await deliver(messages);
    expect(net.to(CALLBACK)).toHaveLength(1);
  });

  it("a job without callback_url records and sends nothing", async () => {
    const user = await createUser();
    const queue = await recordDispatchQueue(user.user_id);
    const { body } = await submit(user, { type: "noop" });
    await deliver(await fireAlarm(user.user_id));
    expect((await getJob(user, body.id)).status).toBe("succeeded");
    expect(takeCallbackMessages(queue)).toEqual([]);
    expect(await pendingCallbacks(user.user_id)).toEqual([]);
  });
});
