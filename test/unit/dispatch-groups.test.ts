// Several claimed attempts in one queue message (src/shard/dispatch-sender.ts claimMessages) and how the
// consumer settles such a message once (src/consumer/shared-settlement.ts).
import { describe, expect, it } from "vitest";
import { SharedSettlement } from "../../src/consumer/shared-settlement";
import {
  attemptsCarried,
  DispatchGroupSchema,
  JOBS_PER_MESSAGE,
  QueueMessageSchema,
} from "../../src/dispatch/message";
import { claimMessages } from "../../src/shard/dispatch-sender";

const claim = (i: number) => ({
  id: `job_0_${String(i).padStart(26, "0")}`,
  userId: "usr_a",
  attempt: i + 1,
});

describe("attemptsCarried", () => {
  it("counts a group's jobs, a lone attempt as one, and a callback try as none (no begin answers it)", () => {
    const claims = Array.from({ length: 3 * JOBS_PER_MESSAGE + 2 }, (_, i) => claim(i));
    const total = claimMessages(claims).reduce((n, m) => n + attemptsCarried(m), 0);
    expect(total).toBe(claims.length);
    expect(attemptsCarried({ user_id: "usr_a", job_id: claim(0).id, attempt: 1 })).toBe(1);
    const callback = {
      kind: "callback" as const,
      user_id: "usr_a",
      job_id: claim(0).id,
      occurrence: 0,
      attempt: 1,
    };
    expect(attemptsCarried(callback)).toBe(0);
  });
});

describe("claimMessages", () => {
  it("sends a lone claim as a plain message, as before groups existed", () => {
    expect(claimMessages([claim(0)])).toEqual([{ user_id: "usr_a", job_id: claim(0).id, attempt: 1 }]);
    expect(claimMessages([])).toEqual([]);
  });

  it("packs claims in order, JOBS_PER_MESSAGE a message, each a valid queue message", () => {
    for (const n of [2, JOBS_PER_MESSAGE, JOBS_PER_MESSAGE + 1, 3 * JOBS_PER_MESSAGE + 2]) {
      const claims = Array.from({ length: n }, (_, i) => claim(i));
      const messages = claimMessages(claims);
      expect(messages).toHaveLength(Math.ceil(n / JOBS_PER_MESSAGE));
      for (const m of messages) expect(QueueMessageSchema.safeParse(m).success, JSON.stringify(m)).toBe(true);
      // Every claim once, in order, under its own attempt.
      const carried = messages.flatMap((m) =>
        "jobs" in m ? m.jobs : [{ job_id: m.job_id, attempt: m.attempt }],
      );
      expect(carried).toEqual(claims.map((c) => ({ job_id: c.id, attempt: c.attempt })));
    }
  });

  it("refuses a group over JOBS_PER_MESSAGE or empty", () => {
    const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ job_id: claim(i).id, attempt: 1 }));
    expect(
      DispatchGroupSchema.safeParse({ user_id: "usr_a", jobs: jobs(JOBS_PER_MESSAGE + 1) }).success,
    ).toBe(false);
    expect(DispatchGroupSchema.safeParse({ user_id: "usr_a", jobs: [] }).success).toBe(false);
  });
});

/** A message that records how it was settled. */
function recorder() {
  const calls: string[] = [];
  return {
    calls,
    ack: () => calls.push("ack"),
    retry: (o?: QueueRetryOptions) => calls.push(`retry ${o?.delaySeconds ?? 0}`),
  };
}

describe("SharedSettlement", () => {
  it("acks the message once, after every part is acked", () => {
    const m = recorder();
    const shared = new SharedSettlement(m, 3);
    shared.ack();
    shared.ack();
    expect(m.calls).toEqual([]);
    shared.ack();
    expect(m.calls).toEqual(["ack"]);
  });

  it("retries it once, at the longest delay asked, when any part asked, after all parts settled", () => {
    const m = recorder();
    const shared = new SharedSettlement(m, 3);
    shared.retry({ delaySeconds: 5 });
    shared.ack();
    expect(m.calls).toEqual([]);
    shared.retry({ delaySeconds: 2 });
    expect(m.calls).toEqual(["retry 5"]);
  });
});
