// Creating jobs in bulk (src/shard/sql/create-jobs.ts) and deciding a batch before writing it
// (insertJobs, src/shard/sql/submit.ts): the rows written are the rows answered, a batch answers each
// item exactly as single submits one after another would, and the unfinished-jobs cap stays exact
// while its count is remembered between submits.
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NewJob } from "../../src/core/job";
import { operationTotals, resetOperationTotals } from "../../src/metering/operations";
import type { ShardDb } from "../../src/shard/db";
import type { Idempotency, NewSubmission } from "../../src/shard/rpc";
import { jobs } from "../../src/shard/schema";
import { IDEMPOTENCY_TTL_MS } from "../../src/shard/sql/create-jobs";
import { lookupKeys } from "../../src/shard/sql/idempotency-keys";
import { putPool } from "../../src/shard/sql/pools";
import { type InsertOutcome, insertJob, insertJobs } from "../../src/shard/sql/submit";
import { createUser, inShard, request, submit } from "../support/helpers";
import { newJobs } from "../support/new-job";

const T0 = Date.UTC(2030, 0, 1);
const spec = newJobs("usr_create", T0);
const LATER = "2031-01-01T00:00:00Z";

/** A fresh shard (its own name) for one test. */
function withShard<R>(fn: (db: ShardDb, sql: SqlStorage) => R) {
  return inShard(`usr_create_${crypto.randomUUID()}`, (shard, state) =>
    fn(shard.context.db, state.storage.sql),
  );
}

const stored = (db: ShardDb, id: string) => db.select().from(jobs).where(eq(jobs.id, id)).get();

describe("createJobs: the row answered is the row stored", () => {
  it("for jobs of every kind, through a batch and a single submit", async () => {
    const kinds: NewJob[] = [
      spec("plain"),
      spec("nested", { payload: { a: [1, 2.5, { b: null }], "key with \u0000 and é": "𝄞 \u2028 \"'\\" } }),
      spec("falsy", { payload: 0, name: "" }),
      spec("text", { payload: "a string payload", name: "nul \u0000 inside, emoji 🎉" }),
      spec("array", { payload: [], labels: { team: "a", "x.y": "ünïcode" } }),
      spec("cron", { cron: "*/5 * * * *", timezone: "Europe/Paris", intervalSeconds: null }),
      spec("interval", { intervalSeconds: 60, maxRetries: 3, retryDelaySeconds: 7, timeoutSeconds: 30 }),
      spec("http", {
        type: "http",
        payload: { url: "https://example.com/hook", method: "POST", body: { n: 1 } },
        callbackUrl: "https://example.com/done",
        retryPolicy: "transient",
        expiresAfterSeconds: 600,
        resultLocation: "r2://bucket/key",
        finishedRetentionSeconds: 3600,
        indexDb: 3,
        priority: 99,
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
      }),
      spec("pooled", { resources: { gpu: 2, cpu: 1 } }),
    ];
    await withShard((db) => {
      putPool(db, "gpu", 4, T0);
      putPool(db, "cpu", 4, T0);
      const out = insertJobs(
        db,
        kinds.map((s) => ({ spec: s })),
        T0,
      );
      expect(out.ok).toBe(true);
      if (!out.ok) return;
      out.outcomes.forEach((o, i) => {
        expect(o).toMatchObject({ ok: true, replayed: false });
        if (!o.ok) return;
        expect(o.job.id).toBe(kinds[i]?.id);
        expect(o.job).toEqual(stored(db, o.job.id));
      });
      const keyed: Idempotency = { key: "single-key", bodyHash: "h", shards: 1 };
      const single = insertJob(db, spec("single", { payload: { x: "y" } }), keyed, T0);
      expect(single).toMatchObject({ ok: true, replayed: false });
      if (single.ok) expect(single.job).toEqual(stored(db, "single"));
    });
  });

  it("writes a batch too big for one statement's parameter in several, every job and key of it", async () => {
    // 40 payloads of ~60 KB: ~2.4 MB of values, over the 2 MB a Durable Object's SQLite takes in one string.
    const big = "x".repeat(60_000);
    const batch = Array.from({ length: 40 }, (_, i) => ({
      spec: spec(`big${i}`, { payload: { big, i } }),
      idempotency: { key: `big${i}`, bodyHash: "h", shards: 1 },
    }));
    await withShard((db, sql) => {
      const exec = sql.exec.bind(sql);
      const statements: string[] = [];
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        statements.push(query);
        return exec(query, ...bindings);
      }) as typeof sql.exec;
      const out = insertJobs(db, batch, T0);
      sql.exec = exec;
      expect(out.ok).toBe(true);
      expect(statements.filter((q) => /^insert into jobs/.test(q)).length).toBeGreaterThan(1);
      const ids = exec<{ id: string }>("select id from jobs order by id").toArray();
      expect(ids).toHaveLength(40);
      const keys = exec<{ n: number }>("select count(*) as n from idempotency_keys").one();
      expect(keys.n).toBe(40);
      expect(stored(db, "big39")?.payload).toEqual({ big, i: 39 });
    });
  });
});

// --- a batch answers as single submits one after another -------------------------------------------

interface Case {
  /** Keyed jobs already on the shard: key, body, and whether the key has expired (not yet pruned). */
  existing: { key: number; body: number; expired: boolean }[];
  /** The highest shard count a key lookup has fenced the shard at (0: none). */
  fence: number;
  /** Unkeyed unfinished jobs already on the shard. */
  unfinished: number;
  cap: number | null;
  items: { key: number | null; body: number; shards: number }[];
}

const cases: fc.Arbitrary<Case> = fc.record({
  existing: fc.array(fc.record({ key: fc.nat(3), body: fc.nat(1), expired: fc.boolean() }), { maxLength: 3 }),
  fence: fc.nat(3),
  unfinished: fc.nat(4),
  cap: fc.option(fc.nat(10), { nil: null }),
  items: fc.array(
    fc.record({
      key: fc.option(fc.nat(3), { nil: null }),
      body: fc.nat(1),
      shards: fc.integer({ min: 1, max: 3 }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
});

/** The shard as a case starts it: its keys, its fence and its unfinished jobs. */
function arrange(db: ShardDb, sql: SqlStorage, c: Case): void {
  for (const table of ["jobs", "idempotency_keys", "key_fence"]) sql.exec(`delete from ${table}`);
  c.existing.forEach((e, i) => {
    const at = e.expired ? T0 - IDEMPOTENCY_TTL_MS - 1 : T0 - 1;
    const idem = { key: `k${e.key}`, bodyHash: `b${e.body}`, shards: 3 };
    insertJob(db, spec(`old${i}`), idem, at);
  });
  for (let i = 0; i < c.unfinished; i++) insertJob(db, spec(`idle${i}`), undefined, T0);
  if (c.fence > 0) lookupKeys(db, [], c.fence, T0);
}

const submissions = (c: Case): NewSubmission[] =>
  c.items.map((item, i) => ({
    spec: spec(`new${i}`),
    ...(item.key === null
      ? {}
      : { idempotency: { key: `k${item.key}`, bodyHash: `b${item.body}`, shards: item.shards } }),
  }));

const answer = (o: InsertOutcome) => (o.ok ? { replayed: o.replayed, id: o.job.id } : o.reason);

/** What the shard holds once a case has run: its jobs and its keys. */
function holdings(sql: SqlStorage) {
  return {
    jobs: sql.exec("select id, status, run_at from jobs order by id").toArray(),
    keys: sql.exec("select key, body_hash, job_id, expires_at from idempotency_keys order by key").toArray(),
  };
}

describe("insertJobs: each item as insertJob would have answered it, one after another", () => {
  it("for random batches over keys (live, expired, repeated, conflicting), fences and caps", async () => {
    await withShard((db, sql) => {
      fc.assert(
        fc.property(cases, (c) => {
          const cap = c.cap ?? undefined;
          arrange(db, sql, c);
          const oneByOne = submissions(c).map((s) => answer(insertJob(db, s.spec, s.idempotency, T0, cap)));
          const after = holdings(sql);
          arrange(db, sql, c);
          const out = insertJobs(db, submissions(c), T0, cap);
          if (!out.ok) throw new Error("a batch without pools was refused");
          expect(out.outcomes.map(answer)).toEqual(oneByOne);
          expect(holdings(sql)).toEqual(after);
          for (const o of out.outcomes) if (o.ok) expect(o.job).toEqual(stored(db, o.job.id));
        }),
        { numRuns: 300 },
      );
    });
  });
});

// --- the unfinished-jobs count, remembered between submits ------------------------------------------

describe("the unfinished-jobs cap with its count remembered", () => {
  it("stays exact when jobs finish, or come back by a retry, between submits", async () => {
    await inShard(`usr_cap_${crypto.randomUUID()}`, async (shard) => {
      shard.clock = () => T0;
      const put = async (id: string) => {
        const out = await shard.submit(spec(id), undefined, 2);
        return out.ok ? "created" : out.reason;
      };
      expect([await put("a"), await put("b"), await put("c")]).toEqual([
        "created",
        "created",
        "too_many_unfinished",
      ]);
      expect(await shard.cancel("a")).toMatchObject({ ok: true });
      expect([await put("c"), await put("d")]).toEqual(["created", "too_many_unfinished"]);
      // a comes back: three unfinished jobs against a cap of 2.
      expect(await shard.retry("a")).toMatchObject({ ok: true });
      expect(await put("d")).toBe("too_many_unfinished");
      await shard.cancel("b");
      expect(await put("d")).toBe("too_many_unfinished");
      await shard.cancel("c");
      expect([await put("d"), await put("e")]).toEqual(["created", "too_many_unfinished"]);
      const batch = await shard.submitBatch([{ spec: spec("f") }, { spec: spec("g") }], 3);
      expect(batch.ok && batch.results.map((r) => r.ok)).toEqual([true, false]);
      // a, d and f: the batch left three unfinished jobs.
      const at4 = async (id: string) => (await shard.submit(spec(id), undefined, 4)).ok;
      expect([await at4("h"), await at4("i")]).toEqual([true, false]);
    });
  });

  it("is counted when a retry brings a job back, not per submit, and not after a job finishes", async () => {
    const user = await createUser();
    const jobs = Array.from({ length: 300 }, () => ({ type: "noop", run_at: LATER }));
    const res = await request("/v1/jobs/batch", { method: "POST", headers: user.auth, json: { jobs } });
    expect(res.status).toBe(201);
    const { results } = (await res.json()) as { results: { job: { id: string } }[] };
    const rowsRead = async () => {
      resetOperationTotals();
      expect((await submit(user, { type: "noop", run_at: LATER })).status).toBe(201);
      return operationTotals().submit?.sqlRowsRead ?? 0;
    };
    // A job finishing (a cancel) keeps the bound the batch left: no count.
    const id = results[0]?.job.id;
    const cancelled = await request(`/v1/jobs/${id}`, { method: "DELETE", headers: user.auth });
    expect(cancelled.status).toBe(200);
    expect(await rowsRead()).toBeLessThan(100);
    expect(await rowsRead()).toBeLessThan(100);
    // A retry brings it back: the next submit counts ~300 unfinished jobs, the ones after take that.
    const retried = await request(`/v1/jobs/${id}/retry`, { method: "POST", headers: user.auth });
    expect(retried.status).toBe(200);
    expect(await rowsRead()).toBeGreaterThan(290);
    expect(await rowsRead()).toBeLessThan(100);
  });
});
