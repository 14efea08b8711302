// Tenant isolation: another user's ids, cursors and idempotency keys, malformed keys and no key at all.
// A caller only ever gets 401 or 404 for what is not theirs (400 for a foreign listing cursor, which the
// contract calls tampered), the answer for another user's job is byte-identical to the answer for an id
// that exists nowhere (no existence oracle), and the victim's jobs read back exactly as before.
import { describe, expect, it } from "vitest";
import { newJobId } from "../../src/core/ids";
import type { JobView } from "../../src/core/job";
import {
  ADMIN,
  createUser,
  fireAlarm,
  inShard,
  lastCopyDueAt,
  request,
  setShardClock,
  submit,
  type TestUser,
} from "../support/helpers";

const LATER = "2030-01-01T00:00:00Z";

interface Answer {
  status: number;
  contentType: string | null;
  body: string;
}

async function answer(pending: Response | Promise<Response>): Promise<Answer> {
  const res = await pending;
  return { status: res.status, contentType: res.headers.get("content-type"), body: await res.text() };
}

function expectError(a: Answer, status: number, code: string) {
  expect(a.status).toBe(status);
  expect(a.contentType).toMatch(/^application\/json/);
  const body = JSON.parse(a.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

/** Lets the shard's alarm copy pending changes to D1, so listings can show (or leak) them. */
async function flushIndex(user: TestUser) {
  const due = await inShard(user.user_id, (_s, state) => lastCopyDueAt(state.storage.sql));
  await setShardClock(user.user_id, Math.max(Date.now(), due ?? 0) + 1);
  await fireAlarm(user.user_id);
}

async function jobCount(user: TestUser): Promise<number> {
  return inShard(
    user.user_id,
    (_s, state) => state.storage.sql.exec<{ n: number }>("select count(*) as n from jobs").one().n,
  );
}

const ORDER = { type: "noop", run_at: LATER, name: "order-1", priority: 70 };

/** Alice (the victim) with jobs of every shape, Mallory (the attacker) with one of her own. */
async function world() {
  const alice = await createUser("alice");
  const mallory = await createUser("mallory");
  const made = [
    await submit(alice, { type: "noop", run_at: LATER, name: "one-shot" }),
    await submit(alice, { type: "noop", run_at: LATER, interval_seconds: 3600 }),
    await submit(alice, { type: "noop", cron: "0 9 * * 1", timezone: "Europe/Paris" }),
    await submit(alice, {
      type: "http",
      run_at: LATER,
      payload: { url: "https://example.com/alice", headers: { "x-secret": "s3cret" } },
    }),
    await submit(alice, ORDER, { "idempotency-key": "alice-order-1" }),
    await submit(alice, { type: "noop", run_at: LATER, name: "to cancel" }),
  ];
  for (const m of made) expect(m.status).toBe(201);
  const cancelled = made[5]?.body.id as string;
  const del = await request(`/v1/jobs/${cancelled}`, { method: "DELETE", headers: alice.auth });
  expect(del.status).toBe(200);
  const own = await submit(mallory, { type: "noop", run_at: LATER, name: "mallory's" });
  expect(own.status).toBe(201);
  await flushIndex(alice);
  await flushIndex(mallory);

  const page = await request("/v1/jobs?limit=2", { headers: alice.auth });
  const cursor = ((await page.json()) as { next_cursor: string | null }).next_cursor;
  if (!cursor) throw new Error("alice's listing has no second page");
  const ids = made.map((m) => m.body.id);
  return {
    alice,
    mallory,
    ids,
    cancelled,
    orderId: made[4]?.body.id as string,
    malloryJob: own.body.id,
    aliceCursor: cursor,
    before: await snapshot(alice, ids),
  };
}

/** Alice's view of her jobs, exactly as served, plus her row count and her first listing page. */
async function snapshot(alice: TestUser, ids: string[]) {
  const jobs: Record<string, Answer> = {};
  for (const id of ids) jobs[id] = await answer(await request(`/v1/jobs/${id}`, { headers: alice.auth }));
  const listing = await answer(await request("/v1/jobs?limit=100", { headers: alice.auth }));
  return { jobs, listing, count: await jobCount(alice) };
}

async function expectUnchanged(w: Awaited<ReturnType<typeof world>>) {
  const after = await snapshot(w.alice, w.ids);
  expect(after).toEqual(w.before);
  for (const a of Object.values(after.jobs)) expect(a.status).toBe(200);
}

/** Well-formed ids of no job anywhere: one with today's timestamp, one all zeros. */
const nowhere = () => [newJobId(0, Date.now()), `job_0_${"0".repeat(26)}`];

describe("another user's job ids", () => {
  it("are a 404 for GET and DELETE, byte-identical to ids that exist nowhere", async () => {
    const w = await world();
    const get = (id: string) => answer(request(`/v1/jobs/${id}`, { headers: w.mallory.auth }));
    const del = (id: string) =>
      answer(request(`/v1/jobs/${id}`, { method: "DELETE", headers: w.mallory.auth }));
    const reference = await get(nowhere()[0] as string);
    expectError(reference, 404, "not_found");
    for (const id of [...nowhere(), ...w.ids]) {
      // The cancelled job is finished: its owner would get a 409, a stranger must not.
      expect(await get(id)).toEqual(reference);
      expect(await del(id)).toEqual(reference);
      // The same id under another shard number is no different.
      expect(await get(id.replace(/^job_0_/, "job_1_"))).toEqual(reference);
    }
    await expectUnchanged(w);
    // And the other way round: Alice cannot see Mallory's job either.
    const aliceAsks = await answer(await request(`/v1/jobs/${w.malloryJob}`, { headers: w.alice.auth }));
    expect(aliceAsks).toEqual(reference);
  });
});

describe("listing", () => {
  it("shows only the caller's jobs", async () => {
    const w = await world();
    const res = await request("/v1/jobs?limit=100", { headers: w.mallory.auth });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { jobs: JobView[]; next_cursor: string | null };
    expect(page.jobs.map((j) => j.id)).toEqual([w.malloryJob]);
    expect(page.next_cursor).toBeNull();
    const leaked = JSON.stringify(page);
    for (const id of w.ids) expect(leaked).not.toContain(id);
    expect(leaked).not.toContain(w.alice.user_id);
  });

  it("refuses another user's cursor exactly as it refuses a forged one", async () => {
    const w = await world();
    const list = (query: string) => answer(request(`/v1/jobs?${query}`, { headers: w.mallory.auth }));
    const [body, mac] = w.aliceCursor.split(".") as [string, string];
    const forgedMac = `${body}.${mac.startsWith("A") ? "B" : "A"}${mac.slice(1)}`;
    const reference = await list(`cursor=${forgedMac}`);
    expectError(reference, 400, "invalid_request");
    for (const filter of ["", "&status=scheduled", "&type=noop", "&limit=100"]) {
      expect(await list(`cursor=${w.aliceCursor}${filter}`)).toEqual(reference);
    }
    // Alice's own cursor still works for her, so the refusal above is about the caller.
    const own = await request(`/v1/jobs?limit=2&cursor=${w.aliceCursor}`, { headers: w.alice.auth });
    expect(own.status).toBe(200);
    await expectUnchanged(w);
  });
});

describe("Idempotency-Key", () => {
  it("another user's key creates a separate job for the caller, never a replay or a conflict", async () => {
    const w = await world();
    const same = await submit(w.mallory, ORDER, { "idempotency-key": "alice-order-1" });
    expect(same.status).toBe(201);
    expect(same.body.id).not.toBe(w.orderId);
    expect(same.body.user_id).toBe(w.mallory.user_id);
    expect(same.body).toMatchObject({ name: "order-1", priority: 70, status: "scheduled", attempts: [] });
    // A different body under Alice's key: no 409 that would tell Mallory the key is taken.
    const other = await submit(
      w.mallory,
      { ...ORDER, priority: 1 },
      { "idempotency-key": "alice-order-1-b" },
    );
    expect(other.status).toBe(201);
    const used = await submit(w.alice, { ...ORDER, priority: 2 }, { "idempotency-key": "alice-order-1-b" });
    expect(used.status).toBe(201);
    expect(used.body.id).not.toBe(other.body.id);
    // Each user's replay returns that user's own job.
    const replayAlice = await submit(w.alice, ORDER, { "idempotency-key": "alice-order-1" });
    expect(replayAlice.status).toBe(200);
    expect(replayAlice.body.id).toBe(w.orderId);
    const replayMallory = await submit(w.mallory, ORDER, { "idempotency-key": "alice-order-1" });
    expect(replayMallory.status).toBe(200);
    expect(replayMallory.body.id).toBe(same.body.id);
    // Alice's jobs are as they were, plus the one she created herself.
    const after = await snapshot(w.alice, w.ids);
    expect(after.jobs).toEqual(w.before.jobs);
    expect(after.count).toBe(w.before.count + 1);
    expect(await jobCount(w.mallory)).toBe(3);
  });
});

describe("malformed keys and no key", () => {
  const secretOf = (u: TestUser) => u.api_key.slice(`sk_${u.user_id}_`.length);
  const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);

  /** Authorization headers that must not authenticate anyone: [label, values (appended in order)]. */
  function variants(alice: TestUser, mallory: TestUser): [string, string[]][] {
    const key = mallory.api_key;
    return [
      ["no Authorization header", []],
      ["an empty header", [""]],
      ["Bearer and nothing", ["Bearer"]],
      ["Bearer and a space", ["Bearer "]],
      ["lowercase bearer", [`bearer ${key}`]],
      ["uppercase BEARER", [`BEARER ${key}`]],
      ["Basic", [`Basic ${btoa(`${key}:`)}`]],
      ["the key without a scheme", [key]],
      ["two spaces", [`Bearer  ${key}`]],
      ["a tab", [`Bearer\t${key}`]],
      ["wrong prefix", [`Bearer pk_${key.slice(3)}`]],
      ["upper-case prefix", [`Bearer SK_${key.slice(3)}`]],
      ["truncated", [`Bearer ${key.slice(0, -1)}`]],
      ["one character extra", [`Bearer ${key}A`]],
      ["one character inserted", [`Bearer ${key.slice(0, 10)}x${key.slice(10)}`]],
      ["the secret with one character changed", [`Bearer ${flip(key, key.length - 5)}`]],
      ["the victim's user id with the caller's secret", [`Bearer sk_${alice.user_id}_${secretOf(mallory)}`]],
      ["the caller's user id with the victim's secret", [`Bearer sk_${mallory.user_id}_${secretOf(alice)}`]],
      ["a well-formed key of nobody", [`Bearer sk_usr_${"0".repeat(20)}_${"A".repeat(43)}`]],
      ["the admin token", [ADMIN.authorization]],
      ["two Authorization values (victim's first)", [alice.auth.authorization, mallory.auth.authorization]],
      ["two Authorization values (same key twice)", [mallory.auth.authorization, mallory.auth.authorization]],
      ["a 10,000-character token", [`Bearer ${"A".repeat(10_000)}`]],
    ];
  }

  it("are a 401 on every endpoint, identical for existing and unknown ids, and change nothing", async () => {
    const w = await world();
    const malloryCount = await jobCount(w.mallory);
    const [unknown] = nowhere() as [string];
    const victim = w.ids[0] as string;
    for (const [label, values] of variants(w.alice, w.mallory)) {
      const call = (
        path: string,
        init: { method?: string; headers?: Record<string, string>; body?: string } = {},
      ) => {
        const headers = new Headers(init.headers);
        for (const v of values) headers.append("authorization", v);
        return answer(request(path, { ...init, headers }));
      };
      const json = { "content-type": "application/json" };
      const reference = await call(`/v1/jobs/${unknown}`);
      expectError(reference, 401, "unauthorized");
      const answers: Record<string, Answer> = {
        "GET victim job": await call(`/v1/jobs/${victim}`),
        "GET cancelled victim job": await call(`/v1/jobs/${w.cancelled}`),
        "DELETE victim job": await call(`/v1/jobs/${victim}`, { method: "DELETE" }),
        "DELETE unknown job": await call(`/v1/jobs/${unknown}`, { method: "DELETE" }),
        "GET listing": await call("/v1/jobs"),
        "GET listing with the victim's cursor": await call(`/v1/jobs?cursor=${w.aliceCursor}`),
        "POST job": await call("/v1/jobs", { method: "POST", headers: json, body: JSON.stringify(ORDER) }),
        "POST job with the victim's key": await call("/v1/jobs", {
          method: "POST",
          headers: { ...json, "idempotency-key": "alice-order-1" },
          body: JSON.stringify(ORDER),
        }),
      };
      for (const [what, a] of Object.entries(answers)) {
        expect({ label, what, ...a }).toEqual({ label, what, ...reference });
      }
    }
    await expectUnchanged(w);
    expect(await jobCount(w.mallory)).toBe(malloryCount);
  });
});

describe("admin endpoints", () => {
  it("refuse users' keys and near-misses of the admin token", async () => {
    const w = await world();
    const tries = [
      w.alice.auth.authorization,
      w.mallory.auth.authorization,
      "Bearer test-admin-tokenX",
      "Bearer test-admin-toke",
      "Bearer TEST-ADMIN-TOKEN",
      "bearer test-admin-token",
      "test-admin-token",
      "Bearer ",
      `Bearer sk_${w.alice.user_id}_test-admin-token`,
    ];
    for (const authorization of tries) {
      const res = await request("/v1/admin/users", {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: '{"name":"eve"}',
      });
      const a = await answer(res);
      expect({ authorization, status: a.status }).toEqual({ authorization, status: 401 });
      expectError(a, 401, "unauthorized");
    }
    const twice = new Headers({ "content-type": "application/json" });
    twice.append("authorization", ADMIN.authorization);
    twice.append("authorization", w.alice.auth.authorization);
    expectError(
      await answer(await request("/v1/admin/users", { method: "POST", headers: twice, body: "{}" })),
      401,
      "unauthorized",
    );
    await expectUnchanged(w);
  });
});
