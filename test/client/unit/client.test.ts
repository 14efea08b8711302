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

  it("flowKeys lists the keys in use from GET /v1/flow-control", async () => {
    const keys = [{ key: "customer-42", running: 2, waiting: 5, started_last_period: 7 }];
    const { client, requests } = stubbed(() => json({ keys }));
    expect(await client.flowKeys()).toEqual(keys);
    expect(new URL(requests[0]?.url ?? "").pathname).toBe("/v1/flow-control");
  });

  it("dependents reads GET /v1/jobs/:id/dependents and returns the ids; an error answer throws", async () => {
    const { client, requests } = stubbed(() => json({ dependents: ["job_1_b", "job_2_c"] }));
    expect(await client.dependents("job_0_a")).toEqual(["job_1_b", "job_2_c"]);
    expect(requests[0]?.method).toBe("GET");
    expect(new URL(requests[0]?.url ?? "").pathname).toBe("/v1/jobs/job_0_a/dependents");
    const { client: missing } = stubbed(() =>
      json({ error: { code: "not_found", message: "no such job" } }, 404),
    );
    await expect(missing.dependents("job_0_x")).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it('submit and submitBatch carry depends_on and on_dependency_failure as given ("@N" in a batch)', async () => {
    const { client, requests } = stubbed((req) =>
      new URL(req.url).pathname === "/v1/jobs" ? json(job("job_0_d"), 201) : json({ results: [] }, 201),
    );
    await client.submit({ type: "noop", depends_on: ["job_0_a"], on_dependency_failure: "run" });
    await client.submitBatch([{ type: "noop" }, { type: "noop", depends_on: ["@0"] }]);
    expect(await requests[0]?.json()).toEqual({
      type: "noop",
      depends_on: ["job_0_a"],
      on_dependency_failure: "run",
    });
    expect(await requests[1]?.json()).toEqual({
      jobs: [{ type: "noop" }, { type: "noop", depends_on: ["@0"] }],
    });
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

describe("watchJob", () => {
  /** A stand-in WebSocket: records how it was opened, and lets the test play the server. */
  class FakeSocket extends EventTarget {
    static last: FakeSocket | null = null;
    closedWith: number | null = null;
    constructor(
      readonly url: string,
      readonly protocols: string[],
    ) {
      super();
      FakeSocket.last = this;
    }
    close(code: number) {
      this.closedWith = code;
    }
    serverSends(job: unknown) {
      this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(job) }));
    }
    serverCloses(code: number) {
      // Node 22 has no CloseEvent global: an Event carrying the code is what a listener reads.
      this.dispatchEvent(Object.assign(new Event("close"), { code, reason: "" }));
    }
  }
  const Socket = FakeSocket as unknown as typeof WebSocket;

  it("opens ws(s):// with the key as the bearer subprotocol, hands on each job, resolves when it is finished", async () => {
    const client = createSchedulerClient({ baseUrl: "https://scheduler.test/base", token: "sk_w" });
    const seen: string[] = [];
    const watch = client.watchJob("job_0_w", { onJob: (j) => seen.push(j.status), WebSocket: Socket });
    const socket = FakeSocket.last as FakeSocket;
    expect(socket.url).toBe("wss://scheduler.test/base/v1/jobs/job_0_w/watch");
    expect(socket.protocols).toEqual(["bearer.sk_w"]);
    socket.serverSends(job("job_0_w", "scheduled"));
    socket.serverSends(job("job_0_w", "running"));
    socket.serverSends(job("job_0_w", "succeeded"));
    // Done with the finished job itself, before the connection is torn down; the client closes it.
    expect(await watch.done).toEqual(job("job_0_w", "succeeded"));
    expect(socket.closedWith).toBe(1000);
    socket.serverCloses(1000);
    expect(seen).toEqual(["scheduled", "running", "succeeded"]);
  });

  it("rejects when the upgrade is refused or the connection breaks before the job is finished", async () => {
    const refused = watchJobOf("http://127.0.0.1:8787");
    (FakeSocket.last as FakeSocket).dispatchEvent(new Event("error"));
    await expect(refused.done).rejects.toThrow(/refused/);
    const broken = watchJobOf("http://127.0.0.1:8787");
    (FakeSocket.last as FakeSocket).serverSends(job("job_0_b", "running"));
    (FakeSocket.last as FakeSocket).serverCloses(1006);
    await expect(broken.done).rejects.toThrow(/1006/);
    expect((FakeSocket.last as FakeSocket).url).toBe("ws://127.0.0.1:8787/v1/jobs/job_0_b/watch");
  });

  function watchJobOf(baseUrl: string) {
    return createSchedulerClient({ baseUrl, token: "sk_b" }).watchJob("job_0_b", {
      onJob: () => {},
      WebSocket: Socket,
    });
  }
});
