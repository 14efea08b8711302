// The helpers' own logic against a stand-in server (a fetch function): paging, waiting with backoff on
// an injected clock, headers and errors. The same helpers run against `npm run dev` in test/client/e2e.
import { describe, expect, it } from "vitest";
import { createSchedulerClient, type Job, SchedulerError, WaitTimeoutError } from "../../../client/src";

const job = (id: string, status: Job["status"] = "scheduled") => ({ id, status }) as Job;
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A client whose server is `answer`; every request it sends is kept. */
function stubbed(answer: (req: Request) => Response) {
  const requests: Request[] = [];
  const client = createSchedulerClient({
    baseUrl: "http://scheduler.test",
    token: "sk_test",
    fetch: async (input) => {
      const req = input as Request;
      requests.push(req.clone());
      return answer(req);
    },
  });
  return { client, requests };
}

describe("the client's helpers", () => {
  it("submit sends the key, the body and the Idempotency-Key, and returns the job", async () => {
    const { client, requests } = stubbed(() => json(job("job_0_a"), 201));
    expect(await client.submit({ type: "noop" }, { idempotencyKey: "k-1" })).toEqual(job("job_0_a"));
    const [req] = requests;
    expect(req?.method).toBe("POST");
    expect(new URL(req?.url ?? "").pathname).toBe("/v1/jobs");
    expect(req?.headers.get("authorization")).toBe("Bearer sk_test");
    expect(req?.headers.get("idempotency-key")).toBe("k-1");
    expect(await req?.json()).toEqual({ type: "noop" });
  });

  it("submit and submitBatch send the trace headers given, and none when not given", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const { client, requests } = stubbed((req) =>
      new URL(req.url).pathname === "/v1/jobs" ? json(job("job_0_t"), 201) : json({ results: [] }, 201),
    );
    await client.submit({ type: "noop" }, { traceparent, tracestate: "congo=1" });
    await client.submitBatch([{ type: "noop" }], { traceparent });
    await client.submit({ type: "noop" });
    await client.submitBatch([{ type: "noop" }]);
    expect(requests.map((r) => [r.headers.get("traceparent"), r.headers.get("tracestate")])).toEqual([
      [traceparent, "congo=1"],
      [traceparent, null],
      [null, null],
      [null, null],
    ]);
    expect(requests[0]?.headers.get("idempotency-key")).toBeNull();
  });

  it("flowKey reads a key's use, its name escaped in the path", async () => {
    const use = { key: "customer 7/eu", running: 1, waiting: 4, started_last_period: 2 };
    const { client, requests } = stubbed(() => json(use));
    expect(await client.flowKey("customer 7/eu")).toEqual(use);
    expect(new URL(requests[0]?.url ?? "").pathname).toBe("/v1/flow-control/customer%207%2Feu");
  });

  it("throws the error envelope as a SchedulerError, with Retry-After", async () => {
    const envelope = { error: { code: "rate_limited", message: "too many requests" } };
    const { client } = stubbed(() => json(envelope, 429, { "retry-after": "7" }));
    const err = await client.submitBatch([{ type: "noop" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerError);
    expect(err).toMatchObject({ status: 429, code: "rate_limited", retryAfterSeconds: 7 });
  });

  it("listAll follows next_cursor until the last page, with the filter on every request", async () => {
    const pages: Record<string, unknown> = {
      "": { jobs: [job("a"), job("b")], next_cursor: "c1" },
      c1: { jobs: [job("c")], next_cursor: "c2" },
      c2: { jobs: [], next_cursor: null },
    };
    const { client, requests } = stubbed((req) =>
      json(pages[new URL(req.url).searchParams.get("cursor") ?? ""]),
    );
    const ids: string[] = [];
    for await (const j of client.listAll({ status: "failed", pageSize: 2 })) ids.push(j.id);
    expect(ids).toEqual(["a", "b", "c"]);
    const queries = requests.map((r) => Object.fromEntries(new URL(r.url).searchParams));
    expect(queries).toEqual([
      { status: "failed", limit: "2" },
      { status: "failed", limit: "2", cursor: "c1" },
      { status: "failed", limit: "2", cursor: "c2" },
    ]);
  });

  it("waitForJob polls with doubling pauses until the job finishes", async () => {
    const statuses: Job["status"][] = ["queued", "running", "running", "running", "succeeded"];
    const { client } = stubbed(() => json(job("j", statuses.shift())));
    let now = 0;
    const pauses: number[] = [];
    const done = await client.waitForJob("j", {
      intervalMs: 100,
      maxIntervalMs: 300,
      now: () => now,
      sleep: async (ms) => {
        pauses.push(ms);
        now += ms;
      },
    });
    expect(done.status).toBe("succeeded");
    expect(pauses).toEqual([100, 200, 300, 300]);
  });

  it("waitForJob gives up at the deadline with the job as last seen", async () => {
    const { client } = stubbed(() => json(job("j", "scheduled")));
    let now = 0;
    const err = await client
      .waitForJob("j", {
        timeoutMs: 1_000,
        intervalMs: 400,
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err).toMatchObject({ jobId: "j", last: { status: "scheduled" } });
    expect(now).toBe(1_000);
  });
});
