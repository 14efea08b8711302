// Private hosts by name (issue 22, docs/architecture.md "Private hosts by name"): with
// TARGET_DNS_CHECK=true the consumer resolves each host over DNS-over-HTTPS before calling it, for an
// http job's target, every redirect hop and a callback, and refuses a name with a private answer. The
// resolver is the test's own (globalThis.fetch answers its DoH requests): no real network.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { pendingCallbacks, recordDispatchQueue, takeCallbackMessages } from "../support/callbacks";
import { createUser, deliver, env, fireAlarm, getJob, submit } from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

const RESOLVER = "https://resolver.test/dns-query";
/** The consumer as an operator outside Cloudflare runs it: private targets refused, names checked. */
const CHECKED = {
  ...env,
  ALLOW_PRIVATE_TARGETS: "false",
  TARGET_DNS_CHECK: "true",
  TARGET_DNS_RESOLVER: RESOLVER,
} as Env;

/**
 * globalThis.fetch as the network: DoH questions answered from `zone` (name → A addresses), every
 * other request recorded and answered by `answer`.
 */
function network(
  zone: Record<string, string[]>,
  answer: (url: string) => Response = () => new Response("ok"),
) {
  const called: { url: string; method: string; body: unknown }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.startsWith(RESOLVER)) {
      const q = new URL(url).searchParams;
      const name = q.get("name") ?? "";
      const type = Number(q.get("type"));
      const data = type === 1 ? (zone[name] ?? []) : [];
      return Response.json({
        Status: name in zone ? 0 : 3,
        Answer: data.map((d) => ({ name, type: 1, TTL: 0, data: d })),
      });
    }
    called.push({ url, method: init?.method ?? "GET", body: init?.body });
    return answer(url);
  });
  return called;
}

describe("TARGET_DNS_CHECK: a host whose name resolves to a private address is not called", () => {
  it("refuses such a target (payload.url) at once, as a permanent failure, without calling it", async () => {
    const user = await createUser();
    const called = network({ "rebind-a.example.com": ["127.0.0.1"] });
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://rebind-a.example.com:8443/hook" },
      max_retries: 3,
    });
    await deliver(await fireAlarm(user.user_id), CHECKED);
    expect(called).toEqual([]);
    const done = await getJob(user, job.id);
    // Permanent: no retry is spent on it.
    expect(done.status).toBe("failed");
    expect(done.last_error).toBe(
      "target refused: host rebind-a.example.com resolves to 127.0.0.1, which is not public",
    );
  });

  it("refuses a redirect (307, which would re-send the POST body) to such a host", async () => {
    const user = await createUser();
    const called = network(
      { "allowed-b.example.com": ["93.184.215.14"], "rebind-b.example.com": ["10.1.2.3"] },
      (url) =>
        url.startsWith("https://allowed-b.example.com")
          ? new Response(null, { status: 307, headers: { location: "https://rebind-b.example.com/in" } })
          : new Response("reached"),
    );
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://allowed-b.example.com/start", body: { secret: "s" } },
    });
    await deliver(await fireAlarm(user.user_id), CHECKED);
    expect(called.map((c) => c.url)).toEqual(["https://allowed-b.example.com/start"]);
    const done = await getJob(user, job.id);
    expect(done.status).toBe("failed");
    expect(done.last_error).toMatch(
      /^redirect to https:\/\/rebind-b\.example\.com\/in refused: .*10\.1\.2\.3/,
    );
  });

  it("calls a host whose answers are all public", async () => {
    const user = await createUser();
    const called = network({ "public-c.example.com": ["93.184.215.14"] });
    const { body: job } = await submit(user, {
      type: "http",
      payload: { url: "https://public-c.example.com/x" },
    });
    await deliver(await fireAlarm(user.user_id), CHECKED);
    expect(called.map((c) => c.url)).toEqual(["https://public-c.example.com/x"]);
    expect((await getJob(user, job.id)).status).toBe("succeeded");
  });

  it("refuses a callback_url whose name resolves privately, once, as a permanent failure", async () => {
    const user = await createUser();
    const queue = await recordDispatchQueue(user.user_id);
    const called = network({ "rebind-d.example.com": ["169.254.169.254"] });
    const { body } = await submit(user, { type: "noop", callback_url: "https://rebind-d.example.com/cb" });
    await deliver(await fireAlarm(user.user_id), CHECKED);
    const logs = vi.spyOn(console, "log");
    await deliver(takeCallbackMessages(queue), CHECKED);
    expect(called).toEqual([]);
    expect(await pendingCallbacks(user.user_id)).toEqual([]);
    const line = logs.mock.calls.map((c) => String(c[0])).find((l) => l.includes('"callback_finished"'));
    expect(JSON.parse(line ?? "{}")).toMatchObject({
      job_id: body.id,
      report: "abandoned",
      error: "target refused: host rebind-d.example.com resolves to 169.254.169.254, which is not public",
    });
  });

  it("is off by default: the name is not looked up (Cloudflare's egress refuses private addresses itself)", async () => {
    const user = await createUser();
    const called = network({});
    const strict = { ...env, ALLOW_PRIVATE_TARGETS: "false" } as Env;
    await submit(user, { type: "http", payload: { url: "https://unchecked-e.example.com/x" } });
    await deliver(await fireAlarm(user.user_id), strict);
    expect(called.map((c) => c.url)).toEqual(["https://unchecked-e.example.com/x"]);
  });
});
