// GET /v1/jobs/:id/watch (docs/design.md "Watching a job"): a WebSocket that sends the job object at once
// and on each change until the job is finished, then closes; auth by header or by the `bearer.<key>`
// subprotocol; another user's job or no such job is a 404 before any upgrade; limits per job.
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import { WATCHERS_PER_JOB } from "../../src/shard/watchers";
import { createUser, deliver, fireAlarm, request, setShardClock, shardOf, submit } from "../support/helpers";

interface Watch {
  status: number;
  /** Every job object received so far, in order. */
  seen: JobView[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the seen objects once `n` have arrived. */
  next(n: number): Promise<JobView[]>;
  socket: WebSocket | null;
  protocol: string | null;
}

async function watch(path: string, headers: Record<string, string>): Promise<Watch> {
  const res = await request(path, { headers: { upgrade: "websocket", ...headers } });
  const socket = res.webSocket;
  const seen: JobView[] = [];
  const waiting: { n: number; resolve: (v: JobView[]) => void }[] = [];
  let closedWith: (v: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    closedWith = resolve;
  });
  if (socket) {
    socket.accept();
    socket.addEventListener("message", (e) => {
      seen.push(JSON.parse(String(e.data)) as JobView);
      for (const w of waiting.filter((x) => seen.length >= x.n)) w.resolve([...seen]);
    });
    socket.addEventListener("close", (e) => closedWith({ code: e.code, reason: e.reason }));
  }
  return {
    status: res.status,
    seen,
    closed,
    socket,
    protocol: res.headers.get("sec-websocket-protocol"),
    next: (n) =>
      seen.length >= n ? Promise.resolve([...seen]) : new Promise((resolve) => waiting.push({ n, resolve })),
  };
}

describe("watching a job", () => {
  it("sends the job at once and on each change, then closes when it is finished", async () => {
    const user = await createUser();
    // Due a second after its submit, so it is seen scheduled, then claimed by the alarm.
    const dueAt = Date.now() + 1000;
    const job = (await submit(user, { type: "noop", run_at: new Date(dueAt).toISOString() })).body;
    const w = await watch(`/v1/jobs/${job.id}/watch`, user.auth);
    expect(w.status).toBe(101);
    expect((await w.next(1))[0]).toMatchObject({ id: job.id, status: "scheduled" });
    await setShardClock(user.user_id, dueAt + 1);
    const sent = await fireAlarm(user.user_id);
    expect((await w.next(2))[1]?.status).toBe("queued");
    await deliver(sent);
    const seen = await w.next(3);
    expect(seen.map((v) => v.status).slice(-1)).toEqual(["succeeded"]);
    // queued → running → succeeded may come as two messages or three (begin and finish in one batch).
    expect(seen.map((v) => v.status)).toEqual(expect.arrayContaining(["scheduled", "queued", "succeeded"]));
    expect(await w.closed).toMatchObject({ code: 1000 });
    // Each message is a change: none is sent twice.
    const texts = seen.map((v) => JSON.stringify(v));
    expect(new Set(texts).size).toBe(texts.length);
  });

  it("takes the key as the subprotocol bearer.<key> and selects it", async () => {
    const user = await createUser();
    const job = (await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" })).body;
    const w = await watch(`/v1/jobs/${job.id}/watch`, { "sec-websocket-protocol": `bearer.${user.api_key}` });
    expect(w.status).toBe(101);
    expect(w.protocol).toBe(`bearer.${user.api_key}`);
    expect((await w.next(1))[0]?.id).toBe(job.id);
    // A cancel is a change, and finishes the job: sent, then closed.
    await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: user.auth });
    expect((await w.next(2))[1]?.status).toBe("cancelled");
    expect((await w.closed).code).toBe(1000);
  });

  it("answers 404 before any upgrade for another user's job or none, 401 without a key, 426 without an upgrade", async () => {
    const [owner, other] = [await createUser(), await createUser()];
    const job = (await submit(owner, { type: "noop", run_at: "2030-01-01T00:00:00Z" })).body;
    for (const w of [
      await watch(`/v1/jobs/${job.id}/watch`, other.auth),
      // Another id of the owner's shard (its last character changed: "x" unless it already was one).
      await watch(`/v1/jobs/${job.id.slice(0, -1)}${job.id.endsWith("x") ? "y" : "x"}/watch`, owner.auth),
    ]) {
      expect(w.status).toBe(404);
      expect(w.socket).toBeNull();
    }
    // In the error envelope, as every 404.
    const foreign = await request(`/v1/jobs/${job.id}/watch`, {
      headers: { upgrade: "websocket", ...other.auth },
    });
    expect(await foreign.json()).toEqual({ error: { code: "not_found", message: "no such job" } });
    expect((await watch(`/v1/jobs/${job.id}/watch`, {})).status).toBe(401);
    expect(
      (await watch(`/v1/jobs/${job.id}/watch`, { "sec-websocket-protocol": "bearer.nope" })).status,
    ).toBe(401);
    const plain = await request(`/v1/jobs/${job.id}/watch`, { headers: owner.auth });
    expect(plain.status).toBe(426);
  });

  it(`refuses a watcher past ${WATCHERS_PER_JOB} per job with a 429, and a finished job is sent once and closed`, async () => {
    const user = await createUser();
    const job = (await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" })).body;
    const open = [];
    for (let i = 0; i < WATCHERS_PER_JOB; i++) open.push(await watch(`/v1/jobs/${job.id}/watch`, user.auth));
    expect(open.every((w) => w.status === 101)).toBe(true);
    const refused = await watch(`/v1/jobs/${job.id}/watch`, user.auth);
    expect(refused.status).toBe(429);
    expect(refused.socket).toBeNull();
    for (const w of open) w.socket?.close(1000, "done");
    await Promise.all(open.map((w) => w.closed));
    await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: user.auth });
    const late = await watch(`/v1/jobs/${job.id}/watch`, user.auth);
    expect(late.status).toBe(101);
    expect((await late.next(1))[0]?.status).toBe("cancelled");
    expect((await late.closed).code).toBe(1000);
  });

  it("survives the object's eviction (hibernation): the socket stays open and the next change arrives", async () => {
    const user = await createUser();
    const job = (await submit(user, { type: "noop", run_at: "2030-01-01T00:00:00Z" })).body;
    const w = await watch(`/v1/jobs/${job.id}/watch`, user.auth);
    await w.next(1);
    // Requests that change nothing of the job send nothing.
    await shardOf(user.user_id).get(job.id);
    await request(`/v1/jobs/${job.id}`, { headers: user.auth });
    expect(w.seen).toHaveLength(1);
    // The object goes away with the socket open, as a hibernating one does; a new one finds the socket.
    await evictDurableObject(shardOf(user.user_id));
    const paused = await request(`/v1/jobs/${job.id}/pause`, { method: "POST", headers: user.auth });
    expect(paused.status).toBe(200);
    expect((await w.next(2))[1]?.status).toBe("paused");
    w.socket?.close(1000, "bye");
    await w.closed;
  });
});
