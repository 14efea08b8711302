// End to end through `npm run dev` (issue 19, "done when"): job dependencies and watching a job, seen
// from the webhook target. A batch graph (C after "@0" and "@1") calls C only after both A and B were
// answered; a failed dependency fails its dependents transitively (nothing of them reaches the target),
// `on_dependency_failure: "run"` runs anyway, and a retry waits again; a chain of 50 jobs submitted one
// by one over a user's 4 shards runs in chain order; a WebSocket watcher of a blocked job sees it
// scheduled, then in flight, then succeeded, then the socket closes with 1000 (and so does the README's
// plain Node snippet, run as it stands); bad depends_on input is a 400 naming the entry and creates
// nothing.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type Job as ClientJob, createSchedulerClient } from "../../client/src";
import { type CreatedUser, FINISHED, type Job } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import type { Delivery } from "../../tools/harness/target";
import { iso, mapLimit, poll } from "../../tools/harness/util";
import { devFixture } from "./dev-fixture";

type DepJob = Job & {
  type: string;
  depends_on: string[];
  on_dependency_failure: "fail" | "run";
  blocked_by: string[];
};
type BatchReply = { results: { status: number; job: DepJob }[] };
type ErrorReply = { error: { code: string; message: string; details: { path: string; message: string }[] } };

/** The shard a job id names: the segment after `job_`, base 36. */
const shardOf = (id: string) => Number.parseInt(id.split("_")[1] ?? "", 36);
/** Far enough ahead that a job waits for its `POST /run`. */
const later = () => iso(Date.now() + 3_600_000);

/** A route's calls, and its only one (fails unless there is exactly one). */
const callsTo = (deliveries: readonly Delivery[], route: string) =>
  deliveries.filter((d) => d.route === route);
function onlyCall(deliveries: readonly Delivery[], route: string): Delivery {
  const calls = callsTo(deliveries, route);
  expect(calls, `calls to ${route}`).toHaveLength(1);
  return calls[0] as Delivery;
}

describe("job dependencies and watching a job, through npm run dev", () => {
  // /slow/* answers after a while, so a dependent's call can be seen to wait for the answer; /fail/*
  // answers 500; /flaky/* answers 500 at once the first time, and 200 after 1.2 s afterwards.
  const flakyCalls = new Map<string, number>();
  const fixture = devFixture({
    answer: (d) => {
      if (d.route.startsWith("/slow/")) return { status: 200, afterMs: 1_200 };
      if (d.route.startsWith("/fail/")) return { status: 500 };
      if (d.route.startsWith("/flaky/")) {
        const n = (flakyCalls.get(d.route) ?? 0) + 1;
        flakyCalls.set(d.route, n);
        return n === 1 ? { status: 500 } : { status: 200, afterMs: 1_200 };
      }
      return { status: 200 };
    },
  });

  async function newUser(name: string) {
    const api = new ApiClient(fixture.server().baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const user = created.body;
    const call = <T = DepJob>(method: string, path: string, body?: unknown) =>
      api.request<T>(method, path, { token: user.api_key, ...(body === undefined ? {} : { body }) });
    const job = async (id: string) => {
      const res = await call("GET", `/v1/jobs/${id}`);
      expect(res.status, `GET ${id}: ${JSON.stringify(res.body)}`).toBe(200);
      return res.body;
    };
    const submit = async (body: Record<string, unknown>) => {
      const res = await call("POST", "/v1/jobs", body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const batch = async (jobs: Record<string, unknown>[]) => {
      const res = await call<BatchReply>("POST", "/v1/jobs/batch", { jobs });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.results.map((r) => r.status)).toEqual(jobs.map(() => 201));
      return res.body.results.map((r) => r.job);
    };
    const dependents = async (id: string) => {
      const res = await call<{ dependents: string[] }>("GET", `/v1/jobs/${id}/dependents`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.dependents;
    };
    /** Every job of `ids` once all are finished (bounded). */
    const finished = (ids: string[], what: string, timeoutMs = 60_000) =>
      poll(
        what,
        () => Promise.all(ids.map(job)),
        (jobs) => jobs.every((j) => FINISHED.has(j.status)),
        {
          timeoutMs,
          intervalMs: 250,
        },
      );
    const admin = (body: unknown) =>
      api.request("PATCH", `/v1/admin/users/${user.user_id}`, { token: fixture.adminToken, body });
    return { user, call, job, submit, batch, dependents, finished, admin };
  }

  it("a batch A, B, C with C after @0 and @1: blocked by both, then called after both were answered", async () => {
    const target = fixture.target();
    const u = await newUser("e2e-deps-batch");
    const [a, b, c] = (await u.batch([
      { type: "http", name: "A", payload: { url: target.url("/slow/a1") } },
      { type: "http", name: "B", payload: { url: target.url("/a1/b") } },
      { type: "http", name: "C", payload: { url: target.url("/a1/c") }, depends_on: ["@0", "@1"] },
    ])) as [DepJob, DepJob, DepJob];
    // As submitted: "@N" became the items' ids, and C waits on both.
    expect(c).toMatchObject({
      status: "scheduled",
      depends_on: [a.id, b.id],
      blocked_by: [a.id, b.id],
      on_dependency_failure: "fail",
    });
    expect(a).toMatchObject({ depends_on: [], blocked_by: [] });
    // Items tied by "@N" live on one shard.
    expect(new Set([a, b, c].map((j) => shardOf(j.id))).size).toBe(1);
    // Right after: still waiting (A's call takes 1.2 s), and a blocked job cannot be run now.
    const early = await u.job(c.id);
    expect(early.status).toBe("scheduled");
    expect(early.blocked_by).toContain(a.id);
    expect(early.attempts).toEqual([]);
    const runNow = await u.call<ErrorReply>("POST", `/v1/jobs/${c.id}/run`);
    expect(runNow.status, JSON.stringify(runNow.body)).toBe(409);
    expect(await u.dependents(a.id)).toEqual([c.id]);
    expect(await u.dependents(b.id)).toEqual([c.id]);
    expect(await u.dependents(c.id)).toEqual([]);

    const [doneA, doneB, doneC] = (await u.finished([a.id, b.id, c.id], "A, B and C")) as DepJob[];
    expect([doneA, doneB, doneC].map((j) => j?.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(doneC?.blocked_by).toEqual([]);
    const callA = onlyCall(target.deliveries, "/slow/a1");
    const callB = onlyCall(target.deliveries, "/a1/b");
    const callC = onlyCall(target.deliveries, "/a1/c");
    expect(callA.answeredAt, "A answered").not.toBeNull();
    expect(callB.answeredAt, "B answered").not.toBeNull();
    expect(callC.at, "C's call after A's answer").toBeGreaterThanOrEqual(callA.answeredAt as number);
    expect(callC.at, "C's call after B's answer").toBeGreaterThanOrEqual(callB.answeredAt as number);
  });

  it("a failed dependency fails its dependents transitively, run-anyway runs, and a retry waits again", async () => {
    const target = fixture.target();
    const u = await newUser("e2e-deps-failure");
    // A is held back (run_at an hour ahead) until every dependent is in place, then run now.
    const [a, c, e] = (await u.batch([
      {
        type: "http",
        name: "A",
        payload: { url: target.url("/flaky/b-a") },
        max_retries: 0,
        run_at: later(),
      },
      { type: "http", name: "C", payload: { url: target.url("/b/c") }, depends_on: ["@0"] },
      {
        type: "http",
        name: "E",
        payload: { url: target.url("/b/e") },
        depends_on: ["@0"],
        on_dependency_failure: "run",
      },
    ])) as [DepJob, DepJob, DepJob];
    expect(e.on_dependency_failure).toBe("run");
    // D depends on C, submitted on its own.
    const d = await u.submit({
      type: "http",
      name: "D",
      payload: { url: target.url("/b/d") },
      depends_on: [c.id],
    });
    expect(d).toMatchObject({ status: "scheduled", depends_on: [c.id], blocked_by: [c.id] });
    expect(await u.dependents(a.id)).toEqual([c.id, e.id].sort());
    expect(await u.dependents(c.id)).toEqual([d.id]);

    expect((await u.call("POST", `/v1/jobs/${a.id}/run`)).status).toBe(200);
    const [failedA, failedC, failedD, ranE] = (await u.finished(
      [a.id, c.id, d.id, e.id],
      "A to fail and its dependents to settle",
    )) as DepJob[];
    expect(failedA?.status).toBe("failed");
    expect(failedC).toMatchObject({ status: "failed", last_error: "dependency_failed", attempts: [] });
    expect(failedD).toMatchObject({ status: "failed", last_error: "dependency_failed", attempts: [] });
    expect(ranE?.status, "on_dependency_failure run: E runs anyway").toBe("succeeded");
    const callA = onlyCall(target.deliveries, "/flaky/b-a");
    expect(callA.status).toBe(500);
    expect(onlyCall(target.deliveries, "/b/e").at).toBeGreaterThanOrEqual(callA.answeredAt as number);
    // Nothing of C or D was ever dispatched (no attempt above), nor reached the target.
    expect(callsTo(target.deliveries, "/b/c")).toEqual([]);
    expect(callsTo(target.deliveries, "/b/d")).toEqual([]);

    // Retried while A is still failed, C fails again at once: it waits on A again, and A has failed.
    const tooSoon = await u.call("POST", `/v1/jobs/${c.id}/retry`);
    expect(tooSoon.status, JSON.stringify(tooSoon.body)).toBe(200);
    expect(tooSoon.body).toMatchObject({
      status: "failed",
      last_error: "dependency_failed",
      blocked_by: [a.id],
    });
    // A retried (its second call is answered 200 after 1.2 s): C and D, retried meanwhile, wait again on
    // what had not succeeded, and follow once it has.
    expect((await u.call("POST", `/v1/jobs/${a.id}/retry`)).status).toBe(200);
    const retriedC = await u.call("POST", `/v1/jobs/${c.id}/retry`);
    expect(retriedC.status, JSON.stringify(retriedC.body)).toBe(200);
    expect(retriedC.body).toMatchObject({ status: "scheduled", blocked_by: [a.id] });
    const retriedD = await u.call("POST", `/v1/jobs/${d.id}/retry`);
    expect(retriedD.status, JSON.stringify(retriedD.body)).toBe(200);
    expect(retriedD.body).toMatchObject({ status: "scheduled", blocked_by: [c.id] });
    const again = await u.finished([a.id, c.id, d.id], "A, C and D after their retries");
    expect(again.map((j) => j.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    const [secondA, callC, callD] = [
      callsTo(target.deliveries, "/flaky/b-a")[1],
      onlyCall(target.deliveries, "/b/c"),
      onlyCall(target.deliveries, "/b/d"),
    ];
    expect(secondA?.status).toBe(200);
    expect(callC.at).toBeGreaterThanOrEqual(secondA?.answeredAt as number);
    expect(callD.at).toBeGreaterThanOrEqual(callC.answeredAt as number);
  });

  it("a chain of 50 jobs submitted one by one over the user's 4 shards runs in chain order", async () => {
    const target = fixture.target();
    const u = await newUser("e2e-deps-chain");
    const grown = await u.admin({ shards: 4 });
    expect(grown.status, JSON.stringify(grown.body)).toBe(200);
    const N = 50;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const job = await u.submit({
        type: "http",
        name: `chain ${i}`,
        payload: { url: target.url(`/chain/${i}`), body: { i } },
        // The first waits for its POST /run, so every link is in place (and blocked) before any runs.
        ...(i === 0 ? { run_at: later() } : { depends_on: [ids[i - 1]] }),
      });
      expect(job.status).toBe("scheduled");
      expect(job.blocked_by).toEqual(i === 0 ? [] : [ids[i - 1]]);
      ids.push(job.id);
    }
    const shards = ids.map(shardOf);
    const perShard = [0, 1, 2, 3].map((s) => shards.filter((x) => x === s).length);
    const crossings = shards.filter((s, i) => i > 0 && s !== shards[i - 1]).length;
    console.log(
      `chain of ${N}: jobs per shard ${JSON.stringify(perShard)}, ${crossings} of ${N - 1} links cross shards`,
    );
    expect(shards.every((s) => s >= 0 && s < 4)).toBe(true);
    expect(new Set(shards).size, "the chain covers at least 2 shards").toBeGreaterThanOrEqual(2);
    expect(crossings).toBeGreaterThan(0);
    expect(await u.dependents(ids[0] as string)).toEqual([ids[1]]);
    expect(await u.dependents(ids[N - 2] as string)).toEqual([ids[N - 1]]);
    expect(await u.dependents(ids[N - 1] as string)).toEqual([]);
    expect(callsTo(target.deliveries, "/chain/0")).toEqual([]);

    const released = Date.now();
    expect((await u.call("POST", `/v1/jobs/${ids[0]}/run`)).status).toBe(200);
    await poll(
      "the chain's last job to finish",
      () => u.job(ids[N - 1] as string),
      (j) => FINISHED.has(j.status),
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const took = Date.now() - released;
    const jobs = await mapLimit(ids, 8, (id) => u.job(id));
    expect(
      jobs.filter((j) => j.status !== "succeeded").map((j) => `${j.name}: ${j.status} ${j.last_error}`),
    ).toEqual([]);
    // The calls arrived in chain order, each after the previous one was answered...
    const calls = target.deliveries.filter((d) => d.route.startsWith("/chain/"));
    expect(calls.map((d) => d.route)).toEqual(ids.map((_, i) => `/chain/${i}`));
    for (let i = 1; i < N; i++) {
      expect(calls[i]?.at, `call ${i} after call ${i - 1} was answered`).toBeGreaterThanOrEqual(
        calls[i - 1]?.answeredAt ?? Number.POSITIVE_INFINITY,
      );
    }
    // ...and the shards' own record agrees: each attempt started after the previous one finished.
    const ms = (at: string | null | undefined) => Date.parse(at ?? "");
    for (let i = 1; i < N; i++) {
      expect(
        ms(jobs[i]?.attempts[0]?.started_at),
        `attempt ${i} started after ${i - 1} finished`,
      ).toBeGreaterThanOrEqual(ms(jobs[i - 1]?.attempts[0]?.finished_at));
    }
    console.log(
      `chain of ${N}: ran in ${took} ms from the first job's release (${Math.round(took / N)} ms a link)`,
    );
  });

  it("a watcher of a blocked job sees scheduled, then queued or running, then succeeded, then close 1000", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const u = await newUser("e2e-deps-watch");
    const client = createSchedulerClient({ baseUrl: server.baseUrl, token: u.user.api_key });
    const a = await client.submit({ type: "http", payload: { url: target.url("/d/a") }, run_at: later() });
    const c = await client.submit({
      type: "http",
      payload: { url: target.url("/slow/d-c") },
      depends_on: [a.id],
    });
    expect(c.blocked_by).toEqual([a.id]);
    expect(await client.dependents(a.id)).toEqual([c.id]);

    // A plain WebSocket with the Authorization header (Node 22's WebSocket takes headers)...
    const url = `${server.baseUrl.replace(/^http/, "ws")}/v1/jobs/${c.id}/watch`;
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${u.user.api_key}` },
    } as unknown as string[]);
    const seen: ClientJob[] = [];
    let lastMessageAt = 0;
    const firstMessage = new Promise<void>((resolve) =>
      socket.addEventListener("message", (event) => {
        seen.push(JSON.parse(String(event.data)) as ClientJob);
        lastMessageAt = Date.now();
        resolve();
      }),
    );
    const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
      socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }));
      socket.addEventListener("error", () => reject(new Error("the watch socket failed")));
    });
    // ...and the client's watchJob (the key as the bearer.<key> subprotocol).
    const viaClient: ClientJob[] = [];
    let clientFirst = () => {};
    const clientFirstMessage = new Promise<void>((resolve) => {
      clientFirst = resolve;
    });
    const watch = client.watchJob(c.id, {
      onJob: (j) => {
        viaClient.push(j);
        clientFirst();
      },
    });
    /** `promise`, or a failure saying what each watcher saw when it has not settled within `ms`. */
    const orFail = async <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const saw = () =>
        `${JSON.stringify(seen.map((j) => j.status))} and ${JSON.stringify(viaClient.map((j) => j.status))}`;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms; saw ${saw()}`)), ms);
      });
      try {
        return await Promise.race([promise, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      await orFail(firstMessage, 10_000, "the watcher's first message");
      await orFail(clientFirstMessage, 10_000, "watchJob's first message");
      expect(seen[0]).toMatchObject({ id: c.id, status: "scheduled", blocked_by: [a.id] });
      expect(viaClient[0]).toMatchObject({ id: c.id, status: "scheduled", blocked_by: [a.id] });

      // Release A: C becomes due once it succeeds, and its call takes 1.2 s.
      expect((await u.call("POST", `/v1/jobs/${a.id}/run`)).status).toBe(200);
      // The server sends its close frame (1000) with the last message; Node's WebSocket reports the close
      // once the TCP connection ends, which local workerd does about 10 s after the closing handshake
      // (measured: the close frame arrives at once, the connection ends 10-12 s later).
      const close = await orFail(closed, 45_000, "the watch to close");
      console.log(`watch: the close event came ${Date.now() - lastMessageAt} ms after the last message`);
      const last = await orFail(watch.done, 10_000, "watchJob's end");
      expect(close.code).toBe(1000);
      for (const statuses of [seen.map((j) => j.status), viaClient.map((j) => j.status)]) {
        expect(statuses[0]).toBe("scheduled");
        expect(statuses.at(-1)).toBe("succeeded");
        const inFlight = statuses.findIndex((s) => s === "queued" || s === "running");
        expect(inFlight, `in flight seen: ${JSON.stringify(statuses)}`).toBeGreaterThan(0);
        expect(statuses.slice(inFlight).includes("scheduled"), JSON.stringify(statuses)).toBe(false);
      }
      expect(last?.status).toBe("succeeded");
      expect(last?.blocked_by).toEqual([]);
      expect(onlyCall(target.deliveries, "/slow/d-c").at).toBeGreaterThanOrEqual(
        onlyCall(target.deliveries, "/d/a").answeredAt as number,
      );
    } finally {
      watch.done.catch(() => {});
      socket.close();
      watch.close();
    }
  });

  it("the README's walk-through: a batch graph, blocked_by, dependents, and its watch.mjs as it stands", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const u = await newUser("e2e-deps-readme");
    const readme = await readFile(path.join(import.meta.dirname, "../../README.md"), "utf8");
    const snippet = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? "")
      .find((code) => code.includes("bearer.") && code.includes("/watch"));
    if (!snippet) throw new Error("README.md has no ```js block that watches a job");
    // The README's batch, with A held until its POST /run instead of 30 s ahead.
    const [a, b, c] = (await u.batch([
      { type: "http", name: "A", payload: { url: target.url("/readme/a"), method: "GET" }, run_at: later() },
      { type: "http", name: "B", payload: { url: target.url("/readme/b"), method: "GET" } },
      {
        type: "http",
        name: "C",
        payload: { url: target.url("/readme/c"), method: "GET" },
        depends_on: ["@0", "@1"],
      },
    ])) as [DepJob, DepJob, DepJob];
    expect(c.blocked_by).toEqual([a.id, b.id]);
    await poll(
      "B to succeed",
      () => u.job(b.id),
      (j) => j.status === "succeeded",
      { timeoutMs: 30_000 },
    );
    expect((await u.job(c.id)).blocked_by).toEqual([a.id]);
    expect(await u.dependents(a.id)).toEqual([c.id]);
    const d = await u.submit({ type: "noop", name: "D", depends_on: [c.id], on_dependency_failure: "run" });
    expect(d).toMatchObject({ blocked_by: [c.id], on_dependency_failure: "run" });

    const dir = await mkdtemp(path.join(os.tmpdir(), "readme-watch-"));
    try {
      await writeFile(path.join(dir, "watch.mjs"), snippet);
      // `API=$API KEY=$KEY npx node watch.mjs $C`: this process's Node is the pinned Node 22.
      const child = spawn(process.execPath, ["watch.mjs", c.id], {
        cwd: dir,
        env: { ...process.env, API: server.baseUrl, KEY: u.user.api_key },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        err += chunk.toString();
      });
      const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
      const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      try {
        await poll(
          "watch.mjs's first line",
          async () => out,
          (text) => text.includes("\n"),
          {
            timeoutMs: 15_000,
            intervalMs: 50,
          },
        );
        expect((await u.call("POST", `/v1/jobs/${a.id}/run`)).status).toBe(200);
        const [code] = await exited;
        expect(code, `watch.mjs exited; stderr: ${err}`).toBe(0);
      } finally {
        clearTimeout(killer);
        child.kill("SIGKILL");
      }
      const lines = out.trim().split("\n");
      expect(lines[0]).toBe(`scheduled [ '${a.id}' ]`);
      expect(lines.at(-2)).toBe("succeeded []");
      expect(lines.at(-1)).toBe("closed 1000 the job is finished");
      expect(
        lines.some((l) => l === "queued []" || l === "running []"),
        out,
      ).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const settled = await u.finished([c.id, d.id], "C and D");
    expect(settled.map((j) => j.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("bad depends_on input is a 400 naming the entry, and creates nothing", async () => {
    const u = await newUser("e2e-deps-bad-input");
    const other = await newUser("e2e-deps-bad-input-other");
    const mine = await u.submit({ type: "noop", name: "mine", run_at: later() });
    const theirs = await other.submit({ type: "noop", name: "theirs", run_at: later() });
    // Well formed, on a shard the user has, but no job of anyone's.
    const unknown = `job_0_${"0".repeat(26)}`;
    const counts = async () =>
      (await u.call<{ jobs: Record<string, number> }>("GET", "/v1/metrics")).body.jobs;
    const before = await counts();

    const noop = (name: string, extra: Record<string, unknown> = {}) => ({ type: "noop", name, ...extra });
    const bad: [string, string, unknown, string[]][] = [
      ["unknown id", "/v1/jobs", noop("bad-1", { depends_on: [unknown] }), ["depends_on[0]"]],
      [
        "unknown id after a good one",
        "/v1/jobs",
        noop("bad-2", { depends_on: [mine.id, unknown] }),
        ["depends_on[1]"],
      ],
      ["another user's job", "/v1/jobs", noop("bad-3", { depends_on: [theirs.id] }), ["depends_on[0]"]],
      ['"@0" outside a batch', "/v1/jobs", noop("bad-4", { depends_on: ["@0"] }), ["depends_on[0]"]],
      ["not an id", "/v1/jobs", noop("bad-5", { depends_on: ["job-a"] }), ["depends_on[0]"]],
      ["a repeated entry", "/v1/jobs", noop("bad-6", { depends_on: [mine.id, mine.id] }), ["depends_on"]],
      ["an empty list", "/v1/jobs", noop("bad-7", { depends_on: [] }), ["depends_on"]],
      [
        "a recurring job",
        "/v1/jobs",
        noop("bad-8", { depends_on: [mine.id], interval_seconds: 60 }),
        ["depends_on"],
      ],
      [
        "with debounce",
        "/v1/jobs",
        noop("bad-9", { depends_on: [mine.id], debounce: { key: "k", delay_seconds: 2 } }),
        ["depends_on"],
      ],
      [
        '"@1" naming a later item',
        "/v1/jobs/batch",
        { jobs: [noop("bad-10", { depends_on: ["@1"] }), noop("bad-11")] },
        ["jobs[0].depends_on[0]"],
      ],
      [
        '"@2" naming itself',
        "/v1/jobs/batch",
        { jobs: [noop("bad-12"), noop("bad-13"), noop("bad-14", { depends_on: ["@0", "@2"] })] },
        ["jobs[2].depends_on[1]"],
      ],
      [
        "an unknown id and another user's in a batch",
        "/v1/jobs/batch",
        {
          jobs: [
            noop("bad-15"),
            noop("bad-16", { depends_on: ["@0", theirs.id] }),
            noop("bad-17", { depends_on: [mine.id, unknown] }),
          ],
        },
        ["jobs[1].depends_on[1]", "jobs[2].depends_on[1]"],
      ],
    ];
    for (const [what, route, body, paths] of bad) {
      const res = await u.call<ErrorReply>("POST", route, body);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      const named = res.body.error.details.map((d) => d.path);
      for (const path of paths)
        expect(
          named.some((p) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`)),
          `${what} names ${path}: ${JSON.stringify(res.body.error.details)}`,
        ).toBe(true);
    }

    // Nothing was created: the shards count the same unfinished jobs, nothing subscribed to either job,
    // and once a job submitted afterwards is listed, the listing holds only it and the one before.
    expect(await counts()).toEqual(before);
    expect(await u.dependents(mine.id)).toEqual([]);
    expect(await other.dependents(theirs.id)).toEqual([]);
    const sentinel = await u.submit({ type: "noop", name: "after", run_at: later() });
    const listed = await poll(
      "the job submitted afterwards to be listed",
      () => u.call<{ jobs: DepJob[] }>("GET", "/v1/jobs?limit=100").then((r) => r.body.jobs),
      (jobs) => jobs.some((j) => j.id === sentinel.id),
      { timeoutMs: 30_000 },
    );
    expect(listed.map((j) => j.name).sort()).toEqual(["after", "mine"]);
  });
});
