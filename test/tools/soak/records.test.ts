// The soak's reading of its own records: a target delivery as the analysis sees it, and the command
// that reproduces a run.
import { describe, expect, it } from "vitest";
import type { Delivery } from "../../../tools/harness/target";
import { options, reproduceCommand } from "../../../tools/soak/options";
import { soakDelivery } from "../../../tools/soak/phases/verify";

const delivery = (webhookId: string, body: string): Delivery => ({
  method: "POST",
  url: "/ok?x=1",
  route: "/ok",
  headers: { "webhook-id": webhookId },
  body,
  webhookId,
  at: 1_000,
  status: 200,
  answeredAt: 1_005,
  hungUp: false,
  signature: true,
});

describe("soakDelivery", () => {
  it("takes the job and occurrence from the webhook-id and the planned index from the payload", () => {
    expect(soakDelivery(delivery("job_0_abc:3", '{"u":1,"j":42,"k":"ok"}'))).toEqual({
      wid: "job_0_abc:3",
      jobId: "job_0_abc",
      occurrence: 3,
      index: 42,
      route: "/ok",
      at: 1_000,
      status: 200,
      answeredAt: 1_005,
      hungUp: false,
      signature: true,
    });
  });

  it("keeps a delivery that is not ours, with no occurrence or index", () => {
    expect(soakDelivery(delivery("", "not json"))).toMatchObject({
      wid: "",
      jobId: "",
      occurrence: null,
      index: null,
    });
  });
});

describe("reproduceCommand", () => {
  it("keeps the workload's flags, drops where the output went, and pins the seed", () => {
    const argv = [
      "--ci",
      "--port",
      "9000",
      "--out=/tmp/x.json",
      "--save",
      "ci",
      "--keep-state",
      "--jobs",
      "50",
    ];
    expect(reproduceCommand(options(argv), argv)).toMatch(/^npm run soak -- --ci --jobs 50 --seed \d+$/);
    const seeded = ["--seed", "7", "--write-docs"];
    expect(reproduceCommand(options(seeded), seeded)).toBe("npm run soak -- --seed 7");
  });
});
