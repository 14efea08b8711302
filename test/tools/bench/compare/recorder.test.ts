import { describe, expect, it } from "vitest";
import { deliveries, jobIdOf, perSecond } from "../../../../tools/bench/compare/recorder";

describe("deliveries", () => {
  const runAt = new Map([
    ["job_a", 1000],
    ["job_b", 1000],
    ["job_c", 2000],
  ]);

  it("measures lateness from each job's first arrival, and counts repeats of a webhook-id", () => {
    const d = deliveries(
      [
        { webhookId: "job_a:0", at: 1010 },
        { webhookId: "job_b:0", at: 1500 },
        { webhookId: "job_a:0", at: 3000 },
        { webhookId: "job_other:0", at: 1200 },
      ],
      runAt,
    );
    expect(d).toMatchObject({ submitted: 3, ran: 2, missing: 1, duplicates: 1, all_ran: false });
    expect(d.lateness_ms).toMatchObject({ n: 2, min: 10, max: 500 });
    expect([d.first_arrival, d.last_arrival]).toEqual([1010, 1500]);
  });

  it("says all ran when every job arrived once", () => {
    const d = deliveries(
      [
        { webhookId: "job_a:0", at: 1000 },
        { webhookId: "job_b:0", at: 1001 },
        { webhookId: "job_c:0", at: 2002 },
      ],
      runAt,
    );
    expect(d).toMatchObject({ ran: 3, missing: 0, duplicates: 0, all_ran: true });
  });

  it("takes the job id from a webhook-id, whose ids may contain underscores but not colons", () => {
    expect(jobIdOf("job_0_abc:0")).toBe("job_0_abc");
    expect(jobIdOf("garbage")).toBe("");
  });

  it("rates from the due instant to the last arrival", () => {
    expect(perSecond(5000, 10_000, 12_500)).toBe(2000);
    expect(perSecond(10, 10_000, null)).toBeNull();
  });
});
