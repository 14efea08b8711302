// POST /v1/jobs/batch: per-item results in order, all-or-nothing validation, per-item idempotency,
// limits, and one RPC (one transaction, one re-arm) per shard.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_BATCH_BODY_BYTES } from "../../src/api/jobs-batch";
import type { JobView } from "../../src/core/job";
import type { Env } from "../../src/env";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import {
  createUser,
  env,
  getJob,
  growShards,
  request,
  shardOf,
  submit,
  type TestUser,
} from "../support/helpers";
import { recordingShardRpcs } from "../support/shard-rpcs";

const LATER = "2030-01-01T00:00:00Z";

interface ItemResult {
  status: number;
  job?: JobView;
  error?: { code: string; message: string };
}
interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

function postBatch(user: TestUser, jobs: unknown[], bindings: Env = env) {
  return request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: { jobs } }, bindings);
}

async function results(res: Response): Promise<ItemResult[]> {
  expect(res.status).toBe(201);
  return ((await res.json()) as { results: ItemResult[] }).results;
}

async function refusal(res: Response, status: number): Promise<ErrorBody["error"]> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorBody;
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

const paths = (error: ErrorBody["error"]) => (error.details ?? []).map((d) => d.path);

/** Jobs and idempotency keys on each of the user's first `shards` shards. */
async function rows(user: TestUser, shards = 1): Promise<{ jobs: number; keys: number }[]> {
  const out = [];
  for (let n = 0; n < shards; n++) {
    out.push(
      await runInDurableObject(shardOf(user.user_id, n), (_s, state) =>
        state.storage.sql
          .exec<{ jobs: number; keys: number }>(
            "select (select count(*) from jobs) as jobs, (select count(*) from idempotency_keys) as keys",
          )
          .one(),
      ),
    );
  }
  return out;
}

async function putPool(user: TestUser, name: string, capacity: number) {
  const res = await request(`/v1/pools/${name}`, { method: "PUT", headers: user.auth, json: { capacity } });
  expect(res.status).toBe(200);
}

/** Counts the shard's alarm re-arms and SQLite transactions from now on (kept on the object itself). */
function countWrites(user: TestUser, shard: number) {
  return runInDurableObject(shardOf(user.user_id, shard), (instance, state) => {
    const target = instance as unknown as { rearm: (...a: unknown[]) => Promise<void>; counts: Counts };
    const storage = state.storage as { transactionSync: <T>(fn: () => T) => T };
    const rearm = target.rearm.bind(instance);
    const transactionSync = storage.transactionSync.bind(storage);
    const counts = { rearms: 0, transactions: 0 };
    target.counts = counts;
    target.rearm = (...args: unknown[]) => {
      counts.rearms += 1;
      return rearm(...args);
    };
    storage.transactionSync = <T>(fn: () => T) => {
      counts.transactions += 1;
      return transactionSync(fn);
    };
  });
}

interface Counts {
  rearms: number;
  transactions: number;
}

const countsOf = (user: TestUser, shard: number) =>
  runInDurableObject(shardOf(user.user_id, shard), (i) => ({
    ...(i as unknown as { counts: Counts }).counts,
  }));

const shardOfId = (id: string | undefined) => Number(id?.split("_")[1]);

describe("POST /v1/jobs/batch: results", () => {
  it("creates jobs of every kind and answers one result per item, in order", async () => {
    const user = await createUser();
    const jobs = [
      { type: "noop", name: "once", run_at: LATER, priority: 90 },
      { type: "http", name: "hook", payload: { url: "https://example.com/h", method: "PUT" }, run_at: LATER },
      { type: "noop", name: "every minute", interval_seconds: 60, run_at: LATER },
      { type: "noop", name: "tokyo", cron: "30 9 * * *", timezone: "Asia/Tokyo", run_at: LATER },
      { type: "noop", name: "defaults" },
    ];
    const out = await results(await postBatch(user, jobs));
    expect(out.map((r) => [r.status, r.job?.name])).toEqual(jobs.map((j) => [201, j.name]));
    expect(out[0]?.job).toMatchObject({
      priority: 90,
      run_at: "2030-01-01T00:00:00.000Z",
      status: "scheduled",
    });
    expect(out[1]?.job).toMatchObject({
      type: "http",
      payload: { url: "https://example.com/h", method: "PUT" },
    });
    expect(out[2]?.job).toMatchObject({ interval_seconds: 60 });
    expect(out[3]?.job).toMatchObject({ cron: "30 9 * * *", run_at: "2030-01-01T00:30:00.000Z" });
    expect(out[4]?.job).toMatchObject({
      priority: 50,
      max_retries: 3,
      timeout_seconds: 60,
      user_id: user.user_id,
    });
    for (const r of out) expect(await getJob(user, r.job?.id ?? "")).toEqual(r.job);
    expect(await rows(user)).toEqual([{ jobs: 5, keys: 0 }]);
  });

  it("takes a single job, and 1,000 in one RPC, one transaction and one re-arm", async () => {
    const user = await createUser();
    expect((await results(await postBatch(user, [{ type: "noop", name: "solo" }])))[0]).toMatchObject({
      status: 201,
      job: { name: "solo" },
    });
    await countWrites(user, 0);
    const { bindings, calls } = recordingShardRpcs();
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ type: "noop", name: `n${i}`, run_at: LATER }));
    const out = await results(await postBatch(user, jobs, bindings));
    expect(out).toHaveLength(1000);
    expect(out.every((r, i) => r.status === 201 && r.job?.name === `n${i}`)).toBe(true);
    expect(new Set(out.map((r) => r.job?.id)).size).toBe(1000);
    expect(calls.filter((c) => !c.endsWith(" authenticate"))).toEqual([`${user.user_id}/0 submitBatch`]);
    expect(await countsOf(user, 0)).toEqual({ rearms: 1, transactions: 1 });
    expect(await rows(user)).toEqual([{ jobs: 1001, keys: 0 }]);
  });

  it("bills one Durable Object request for the batch and no more rows a job than a single submit", async () => {
    const user = await createUser();
    await submit(user, { type: "noop", run_at: LATER }); // warm: the key cache and the shard
    resetOperationTotals();
    await submit(user, { type: "noop", run_at: LATER });
    const single = operationTotals().submit;
    resetOperationTotals();
    const jobs = Array.from({ length: 100 }, () => ({ type: "noop", run_at: LATER }));
    await results(await postBatch(user, jobs));
    const batch = operationTotals().submit;
    expect(single?.doRequests).toBe(1);
    expect(batch?.doRequests).toBe(1);
    expect(batch?.sqlRowsWritten).toBeLessThanOrEqual(100 * (single?.sqlRowsWritten ?? 0));
  });

  it("counts once against the key's rate limit", async () => {
    const user = await createUser();
    let counted = 0;
    const limiter = {
      limit: async () => {
        counted += 1;
        return { success: true };
      },
    };
    const jobs = Array.from({ length: 50 }, () => ({ type: "noop", run_at: LATER }));
    await results(await postBatch(user, jobs, { ...env, KEY_RATE_LIMITER: limiter }));
    expect(counted).toBe(1);
  });
});

describe("POST /v1/jobs/batch: all-or-nothing validation", () => {
  it.each([
    ["no jobs", { jobs: [] }, "jobs"],
    ["1,001 jobs", { jobs: Array.from({ length: 1001 }, () => ({ type: "noop" })) }, "jobs"],
    ["jobs not an array", { jobs: { type: "noop" } }, "jobs"],
    ["jobs missing", {}, "jobs"],
    ["jobs null", { jobs: null }, "jobs"],
    ["an unknown top-level key", { jobs: [{ type: "noop" }], atomic: true }, "(body)"],
    ["an array body", [{ type: "noop" }], "(body)"],
  ])("%s is a 400 naming %s", async (_label, body, path) => {
    const user = await createUser();
    const res = await request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: body });
    expect(paths(await refusal(res, 400))).toContain(path);
    expect(await rows(user)).toEqual([{ jobs: 0, keys: 0 }]);
  });

  it("refuses the whole batch for one bad item, naming each bad item's field", async () => {
    const user = await createUser();
    const good = { type: "noop", run_at: LATER, idempotency_key: "good-1" };
    const res = await postBatch(user, [
      good,
      { type: "noop", priority: 101 },
      { type: "noop", run_at: LATER },
      { type: "teleport" },
      "not a job",
      { type: "noop", surprise: 1 },
      { type: "noop", idempotency_key: "k".repeat(256) },
      { type: "http", payload: { url: "not a url" } },
    ]);
    const error = await refusal(res, 400);
    expect(error.code).toBe("invalid_request");
    expect(paths(error)).toEqual([
      "jobs[1].priority",
      "jobs[3].type",
      "jobs[4]",
      "jobs[5]",
      "jobs[6].idempotency_key",
      "jobs[7].payload.url",
    ]);
    expect(error.message).toContain("6 of 8");
    expect(await rows(user)).toEqual([{ jobs: 0, keys: 0 }]);
    // Nothing was kept of the good item either: its key is still free for another body.
    const again = await results(await postBatch(user, [{ ...good, priority: 7 }]));
    expect(again[0]).toMatchObject({ status: 201, job: { priority: 7 } });
  });

  it("lists at most 100 problems for a batch of bad jobs", async () => {
    const user = await createUser();
    const res = await postBatch(
      user,
      Array.from({ length: 300 }, () => ({ type: "noop", priority: -1 })),
    );
    const error = await refusal(res, 400);
    expect(error.details).toHaveLength(100);
    expect(error.message).toContain("300 of 300");
  });

  it("refuses two items with one idempotency key, whatever their bodies", async () => {
    const user = await createUser();
    const same = { type: "noop", run_at: LATER, idempotency_key: "twice" };
    const error = await refusal(await postBatch(user, [same, { type: "noop" }, same]), 400);
    expect(error.details).toEqual([
      { path: "jobs[2].idempotency_key", message: "repeats the idempotency_key of jobs[0]" },
    ]);
    expect(await rows(user)).toEqual([{ jobs: 0, keys: 0 }]);
  });

  it("is a 413 for an item whose payload is over 64 KiB, and a 400 when anything else is invalid", async () => {
    const user = await createUser();
    const big = { type: "noop", payload: "y".repeat(70_000) };
    const tooLarge = await refusal(await postBatch(user, [{ type: "noop" }, big]), 413);
    expect(tooLarge.code).toBe("payload_too_large");
    expect(paths(tooLarge)).toEqual(["jobs[1]"]);
    const mixed = await refusal(await postBatch(user, [{ type: "noop", priority: 101 }, big]), 400);
    expect(paths(mixed)).toEqual(["jobs[0].priority", "jobs[1]"]);
    // The same item with a bad key of its own is a 400 too, naming both problems.
    const badKey = await refusal(await postBatch(user, [{ ...big, idempotency_key: "a b" }]), 400);
    expect(paths(badKey)).toEqual(["jobs[0].idempotency_key", "jobs[0]"]);
    expect(await rows(user)).toEqual([{ jobs: 0, keys: 0 }]);
  });

  it("answers 400 for bad JSON, 415 for other media types, 413 over the batch body cap", async () => {
    const user = await createUser();
    const post = (body: BodyInit, headers: Record<string, string> = { "content-type": "application/json" }) =>
      request("/v1/jobs/batch", { method: "POST", headers: { ...user.auth, ...headers }, body });
    expect((await refusal(await post('{"jobs": [{"type": "noop"}'), 400)).code).toBe("invalid_request");
    expect((await refusal(await post(""), 400)).code).toBe("invalid_request");
    const one = JSON.stringify({ jobs: [{ type: "noop" }] });
    expect((await refusal(await post(one, { "content-type": "text/plain" }), 415)).code).toBe(
      "unsupported_media_type",
    );
    expect((await refusal(await post(one, {}), 415)).code).toBe("unsupported_media_type");
    // Under the cap a batch may be far larger than a single submit's 128 KiB...
    const jobs = Array.from({ length: 50 }, () => ({
      type: "noop",
      run_at: LATER,
      payload: "p".repeat(60_000),
    }));
    const large = JSON.stringify({ jobs });
    expect(large.length).toBeGreaterThan(2 * 1024 * 1024);
    expect((await post(large)).status).toBe(201);
    // ...over it, it is a 413, with or without a Content-Length.
    const over = JSON.stringify({ jobs: [...jobs, ...jobs] });
    expect(over.length).toBeGreaterThan(MAX_BATCH_BODY_BYTES);
    expect((await refusal(await post(over), 413)).code).toBe("payload_too_large");
    expect((await refusal(await post(new Blob([over]).stream()), 413)).code).toBe("payload_too_large");
    expect(await rows(user)).toEqual([{ jobs: 50, keys: 0 }]);
  });
});

describe("POST /v1/jobs/batch: per-item idempotency", () => {
  it("replays an item's key (also one first sent as a header) and refuses it with another body", async () => {
    const user = await createUser();
    const single = await submit(user, { type: "noop", priority: 3 }, { "idempotency-key": "from-header" });
    expect(single.status).toBe(201);
    const batch = [
      { type: "noop", priority: 3, idempotency_key: "from-header" },
      { type: "noop", priority: 4, idempotency_key: "a" },
      { type: "noop", priority: 5 },
    ];
    const first = await results(await postBatch(user, batch));
    expect(first.map((r) => r.status)).toEqual([200, 201, 201]);
    expect(first[0]?.job?.id).toBe(single.body.id);
    // The same batch again: the keyed items replay, the unkeyed one is created again.
    const second = await results(await postBatch(user, batch));
    expect(second.map((r) => r.status)).toEqual([200, 200, 201]);
    expect(second[1]?.job?.id).toBe(first[1]?.job?.id);
    expect(second[2]?.job?.id).not.toBe(first[2]?.job?.id);
    // Another body under a used key: a 409 for that item only.
    const changed = await results(
      await postBatch(user, [
        { priority: 4, type: "noop", idempotency_key: "a" },
        { type: "noop", priority: 99, idempotency_key: "a-other" },
        { type: "noop", priority: 6, idempotency_key: "from-header" },
      ]),
    );
    expect(changed.map((r) => r.status)).toEqual([200, 201, 409]);
    expect(changed[2]?.error?.code).toBe("conflict");
    expect(changed[2]?.job).toBeUndefined();
    expect(await rows(user)).toEqual([{ jobs: 5, keys: 3 }]);
    // A key from a batch item replays through the header as well.
    const viaHeader = await submit(user, { type: "noop", priority: 4 }, { "idempotency-key": "a" });
    expect([viaHeader.status, viaHeader.body.id]).toEqual([200, first[1]?.job?.id]);
  });

  it("treats idempotency_key: null as no key", async () => {
    const user = await createUser();
    const out = await results(await postBatch(user, [{ type: "noop", idempotency_key: null }]));
    expect(out[0]?.status).toBe(201);
    expect(await rows(user)).toEqual([{ jobs: 1, keys: 0 }]);
  });

  it("keeps one user's keys from another's", async () => {
    const alice = await createUser("alice");
    const mallory = await createUser("mallory");
    const item = { type: "noop", run_at: LATER, idempotency_key: "shared" };
    const [mine] = await results(await postBatch(alice, [item]));
    const [theirs] = await results(await postBatch(mallory, [item]));
    expect(theirs?.status).toBe(201);
    expect(theirs?.job?.user_id).toBe(mallory.user_id);
    expect(theirs?.job?.id).not.toBe(mine?.job?.id);
    expect((await request(`/v1/jobs/${mine?.job?.id}`, { headers: mallory.auth })).status).toBe(404);
    expect(await rows(alice)).toEqual([{ jobs: 1, keys: 1 }]);
  });
});

describe("POST /v1/jobs/batch: shards and pools", () => {
  it("spreads a user's jobs over its shards with one RPC and one re-arm per shard", async () => {
    const user = await createUser();
    await growShards(user, 4);
    for (let n = 0; n < 4; n++) await countWrites(user, n);
    const { bindings, calls } = recordingShardRpcs();
    const jobs = Array.from({ length: 200 }, (_, i) => ({ type: "noop", name: `s${i}`, run_at: LATER }));
    const out = await results(await postBatch(user, jobs, bindings));
    expect(out.map((r) => r.job?.name)).toEqual(jobs.map((j) => j.name));
    const perShard = [0, 1, 2, 3].map((n) => out.filter((r) => shardOfId(r.job?.id) === n).length);
    expect(perShard.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(perShard.reduce((a, b) => a + b)).toBe(200);
    const batchCalls = calls.filter((c) => c.endsWith(" submitBatch")).sort();
    const used = [0, 1, 2, 3].filter((n) => (perShard[n] ?? 0) > 0);
    expect(batchCalls).toEqual(used.map((n) => `${user.user_id}/${n} submitBatch`));
    expect(calls.some((c) => c.endsWith(" submit"))).toBe(false);
    expect((await rows(user, 4)).map((r) => r.jobs)).toEqual(perShard);
    for (const n of used) expect(await countsOf(user, n)).toEqual({ rearms: 1, transactions: 1 });
  });

  it("puts pooled jobs on the home shard and keyed ones where their key hashes", async () => {
    const user = await createUser();
    await putPool(user, "api", 2);
    await growShards(user, 4);
    const jobs = [
      ...Array.from({ length: 10 }, () => ({ type: "noop", run_at: LATER, resources: { api: 1 } })),
      ...Array.from({ length: 10 }, (_, i) => ({ type: "noop", run_at: LATER, idempotency_key: `k${i}` })),
    ];
    const out = await results(await postBatch(user, jobs));
    expect(out.slice(0, 10).every((r) => shardOfId(r.job?.id) === 0 && r.job?.resources.api === 1)).toBe(
      true,
    );
    // The keyed items sit on the shards single submits with those keys would have chosen: they replay.
    for (let i = 0; i < 10; i++) {
      const single = await submit(user, { type: "noop", run_at: LATER }, { "idempotency-key": `k${i}` });
      expect([single.status, single.body.id]).toEqual([200, out[10 + i]?.job?.id]);
    }
  });

  it("refuses a batch naming an unknown pool or too many units, on any shard, before creating anything", async () => {
    const user = await createUser();
    await putPool(user, "api", 2);
    await growShards(user, 4);
    const { bindings, calls } = recordingShardRpcs();
    const unpooled = Array.from({ length: 40 }, () => ({ type: "noop", run_at: LATER }));
    const res = await postBatch(
      user,
      [
        ...unpooled,
        { type: "noop", resources: { api: 1 } },
        { type: "noop", resources: { gpu: 1 } },
        { type: "noop", resources: { api: 3 } },
      ],
      bindings,
    );
    const error = await refusal(res, 400);
    expect(paths(error)).toEqual(["jobs[41].resources.gpu", "jobs[42].resources.api"]);
    expect(error.message).toContain("2 of 43");
    // The home shard refused first; no other shard was asked.
    expect(calls.filter((c) => c.endsWith(" submitBatch"))).toEqual([`${user.user_id}/0 submitBatch`]);
    expect(await rows(user, 4)).toEqual(Array.from({ length: 4 }, () => ({ jobs: 0, keys: 0 })));
  });
});

describe("POST /v1/jobs/batch: the cap on unfinished jobs", () => {
  it("creates up to the cap, answers 429 for the items past it, and replays still replay", async () => {
    const user = await createUser();
    const first = await submit(user, { type: "noop", run_at: LATER }, { "idempotency-key": "early" });
    await runInDurableObject(shardOf(user.user_id), (shard) => {
      shard.context.policy.maxUnfinished = 3;
    });
    const res = await postBatch(user, [
      { type: "noop", run_at: LATER, name: "a" },
      { type: "noop", run_at: LATER, name: "b" },
      { type: "noop", run_at: LATER, name: "c" },
      { type: "noop", run_at: LATER, idempotency_key: "early" },
      { type: "noop", run_at: LATER, name: "d", idempotency_key: "late" },
    ]);
    expect(res.headers.get("retry-after")).toBe("60");
    const out = await results(res);
    expect(out.map((r) => r.status)).toEqual([201, 201, 429, 200, 429]);
    expect(out[2]?.error?.code).toBe("rate_limited");
    expect(out[3]?.job?.id).toBe(first.body.id);
    expect(await rows(user)).toEqual([{ jobs: 3, keys: 1 }]);
    // A refused item's key was not kept: it is free once there is room.
    await runInDurableObject(shardOf(user.user_id), (shard) => {
      shard.context.policy.maxUnfinished = 10;
    });
    const retry = await results(
      await postBatch(user, [{ type: "noop", run_at: LATER, name: "d", idempotency_key: "late" }]),
    );
    expect(retry[0]?.status).toBe(201);
  });

  it("sends no Retry-After when nothing was limited", async () => {
    const user = await createUser();
    const res = await postBatch(user, [{ type: "noop" }]);
    expect(res.headers.get("retry-after")).toBeNull();
    await results(res);
  });
});

describe("POST /v1/jobs/batch: faults", () => {
  it("leaves nothing of a shard's part behind when its storage fails part-way", async () => {
    const user = await createUser();
    await runInDurableObject(shardOf(user.user_id), (_s, state) => {
      const sql = state.storage.sql as { exec: (query: string, ...bindings: unknown[]) => unknown };
      const exec = sql.exec.bind(sql);
      // The jobs are written first (one statement for the batch), then their keys: the keys' write
      // fails, after the jobs' rows are in.
      let jobsWritten = false;
      sql.exec = (query: string, ...bindings: unknown[]) => {
        if (/^insert into "?jobs"?/.test(query)) jobsWritten = true;
        if (/^insert into "?idempotency_keys"?/.test(query) && jobsWritten)
          throw new Error("injected: disk full");
        return exec(query, ...bindings);
      };
    });
    const jobs = Array.from({ length: 5 }, (_, i) => ({
      type: "noop",
      run_at: LATER,
      idempotency_key: `f${i}`,
    }));
    expect((await postBatch(user, jobs)).status).toBe(500);
    expect(await rows(user)).toEqual([{ jobs: 0, keys: 0 }]);
  });

  it("with per-item keys, a batch retried after one shard failed creates each job once", async () => {
    const user = await createUser();
    await growShards(user, 4);
    const jobs = Array.from({ length: 40 }, (_, i) => ({
      type: "noop",
      run_at: LATER,
      idempotency_key: `r${i}`,
    }));
    const { bindings } = recordingShardRpcs((call) => call === `${user.user_id}/2 submitBatch`);
    expect((await postBatch(user, jobs, bindings)).status).toBe(500);
    const partial = (await rows(user, 4)).reduce((n, r) => n + r.jobs, 0);
    expect(partial).toBeLessThan(40);
    const retried = await results(await postBatch(user, jobs));
    expect(retried.filter((r) => r.status === 200)).toHaveLength(partial);
    expect(retried.filter((r) => r.status === 201)).toHaveLength(40 - partial);
    expect((await rows(user, 4)).reduce((n, r) => n + r.jobs, 0)).toBe(40);
  });
});
