// Model-based test of the guarantees that must hold while a user's shards grow (issue 15). fast-check
// generates sequences of keyed and plain submits, growth (on the home shard only, so each "isolate"
// keeps the count it had cached), refreshes of one isolate's count, reads, cancels and bulk cancels,
// sent through the real API from two API keys of one user that stand for two isolates whose cached
// shard counts disagree. After every command the answer is compared with a small model; at the end of
// each sequence every job is read back and the D1 listing must hold exactly the model's jobs.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { newApiKey, newSigningSecret, newUserId, sha256Hex, shardOfJobId } from "../../src/core/ids";
import type { JobView } from "../../src/core/job";
import type { Env } from "../../src/env";
import { EFFECTIVE_STATUS_TEXT, NOT_BEGUN_TEXT } from "../../src/shard/sql/begun";
import { deliver, env, request, shardOf } from "../support/helpers";

/** Sequences per CI run (the issue asks for at least 1,000). */
const RUNS = 1_000;
const MAX_COMMANDS = 8;
const KEYS = ["k0", "k1", "k2", "k3", "k4", "k5"];
const LABELS = ["x", "y"] as const;
/** Enough for keys to move more than once; more only adds shards nothing lands on. */
const MAX_SHARDS = 16;

type Via = 0 | 1;
type Command =
  | { kind: "keyed"; via: Via; key: string; body: 0 | 1 }
  | { kind: "plain"; via: Via; label: (typeof LABELS)[number] }
  | { kind: "debounced"; via: Via; key: string; label: (typeof LABELS)[number] }
  | { kind: "flowed"; via: Via; label: (typeof LABELS)[number] }
  | { kind: "grow"; by: number }
  | { kind: "refresh"; via: Via }
  | { kind: "get"; via: Via; pick: number }
  | { kind: "cancel"; via: Via; pick: number }
  | { kind: "bulk"; via: Via; label: (typeof LABELS)[number] };

const via = fc.constantFrom<Via>(0, 1);
const label = fc.constantFrom(...LABELS);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("keyed" as const),
      via,
      key: fc.constantFrom(...KEYS),
      body: fc.constantFrom<0 | 1>(0, 1),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("plain" as const), via, label }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("debounced" as const),
      via,
      key: fc.constantFrom("d0", "d1"),
      label,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("flowed" as const), via, label }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("grow" as const), by: fc.integer({ min: 1, max: 4 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("refresh" as const), via }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("get" as const), via, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), via, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("bulk" as const), via, label }) },
);

interface Model {
  shards: number;
  /** Key → the body it was first sent with and the job it made. */
  keys: Map<string, { body: 0 | 1; id: string }>;
  /** Every job created, in order, with its label and whether it is cancelled (and its debounce key). */
  jobs: { id: string; label: string; cancelled: boolean; debounce?: string }[];
}

const bodyOf = (n: 0 | 1) => ({
  type: "noop",
  run_at: "2030-01-01T00:00:00Z",
  name: `body ${n}`,
  labels: { l: LABELS[n] },
});

async function send(
  auth: Record<string, string>,
  path: string,
  init: { method?: string; json?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await request(path, {
    method: init.method ?? "GET",
    headers: { ...auth, ...init.headers },
    json: init.json,
  });
  return { status: res.status, body: (await res.json()) as JobView & { matched?: number; jobs?: JobView[] } };
}

/** Moves each shard's clock past the index delay and runs its alarm, so D1 holds its jobs. */
async function flushIndex(userId: string, shards: Iterable<number>, at = Date.now() + 60_000): Promise<void> {
  for (const s of shards) {
    const stub = shardOf(userId, s);
    await runInDurableObject(stub, (shard) => {
      shard.clock = () => at;
    });
    await runDurableObjectAlarm(stub);
  }
}

async function runSequence(commands: Command[]): Promise<void> {
  // The account straight on its home shard (the admin route adds a D1 directory row nothing here reads).
  const userId = newUserId();
  const keys = [newApiKey(userId), newApiKey(userId)];
  const home = shardOf(userId);
  const [first, second] = await Promise.all(keys.map(sha256Hex));
  const init = { userId, name: null, signingSecret: newSigningSecret(), shards: 1, indexDb: 0 };
  await home.createAccount({ ...init, keyHash: first as string });
  expect(await home.addKey(second as string)).toEqual({ ok: true });
  const auths = keys.map((k) => ({ authorization: `Bearer ${k}` }));
  const user = { user_id: userId, auth: auths[0] as Record<string, string> };
  const m: Model = { shards: 1, keys: new Map(), jobs: [] };
  // Both "isolates" learn the count of one shard before anything grows.
  for (const auth of auths) expect((await send(auth, "/v1/pools")).status).toBe(200);

  for (const c of commands) {
    switch (c.kind) {
      case "keyed": {
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs", {
          method: "POST",
          json: bodyOf(c.body),
          headers: { "idempotency-key": c.key },
        });
        const seen = m.keys.get(c.key);
        if (!seen) {
          expect(out.status).toBe(201);
          m.keys.set(c.key, { body: c.body, id: out.body.id });
          m.jobs.push({ id: out.body.id, label: LABELS[c.body], cancelled: false });
        } else if (seen.body === c.body) {
          expect(out.status).toBe(200);
          expect(out.body.id).toBe(seen.id);
        } else {
          expect(out.status).toBe(409);
        }
        break;
      }
      case "plain": {
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs", {
          method: "POST",
          json: { ...bodyOf(0), labels: { l: c.label } },
        });
        expect(out.status).toBe(201);
        m.jobs.push({ id: out.body.id, label: c.label, cancelled: false });
        break;
      }
      case "debounced": {
        // A debounce key lives on the home shard whatever the count: the key's pending job (the
        // newest, not cancelled: nothing here runs) is replaced, from either isolate.
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs", {
          method: "POST",
          json: { type: "noop", labels: { l: c.label }, debounce: { key: c.key, delay_seconds: 3600 } },
        });
        const pending = m.jobs.findLast((j) => j.debounce === c.key && !j.cancelled);
        if (pending) {
          expect({ status: out.status, id: out.body.id }).toEqual({ status: 200, id: pending.id });
          pending.label = c.label;
        } else {
          expect(out.status).toBe(201);
          m.jobs.push({ id: out.body.id, label: c.label, cancelled: false, debounce: c.key });
        }
        expect(shardOfJobId(out.body.id)).toBe(0);
        break;
      }
      case "flowed": {
        // A flow-control key is decided by the home shard whatever the count.
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs", {
          method: "POST",
          json: { ...bodyOf(0), labels: { l: c.label }, flow_control: { key: "f", concurrency: 1 } },
        });
        expect(out.status).toBe(201);
        expect(shardOfJobId(out.body.id)).toBe(0);
        m.jobs.push({ id: out.body.id, label: c.label, cancelled: false });
        break;
      }
      case "grow": {
        const shards = Math.min(MAX_SHARDS, m.shards + c.by);
        // On the home shard only: neither isolate's cached count changes.
        expect((await shardOf(user.user_id).setShards(shards)).ok).toBe(true);
        m.shards = shards;
        break;
      }
      case "refresh": {
        // A bulk action asks the home shard for the current count, and the isolate keeps it.
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs/cancel", {
          method: "POST",
          json: { name: "matches nothing" },
        });
        expect(out.body.matched).toBe(0);
        break;
      }
      case "get":
      case "cancel": {
        const job = m.jobs[c.pick % Math.max(1, m.jobs.length)];
        if (!job) break;
        const auth = auths[c.via] as Record<string, string>;
        const out = await send(auth, `/v1/jobs/${job.id}`, c.kind === "cancel" ? { method: "DELETE" } : {});
        if (c.kind === "cancel" && job.cancelled) {
          expect(out.status).toBe(409);
        } else {
          expect(out.status).toBe(200);
          expect(out.body.status).toBe(c.kind === "cancel" || job.cancelled ? "cancelled" : "scheduled");
          if (c.kind === "cancel") job.cancelled = true;
        }
        break;
      }
      case "bulk": {
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs/cancel", {
          method: "POST",
          json: { labels: { l: c.label } },
        });
        const hit = m.jobs.filter((j) => j.label === c.label && !j.cancelled);
        expect(out.body.matched).toBe(hit.length);
        for (const j of hit) j.cancelled = true;
        break;
      }
    }
  }

  // Every job the model made is where its id says, in the state the model says.
  for (const job of m.jobs) {
    const out = await send(user.auth, `/v1/jobs/${job.id}`);
    expect(out.status).toBe(200);
    expect(out.body.status).toBe(job.cancelled ? "cancelled" : "scheduled");
  }
  // And the listing, once every shard's index copies are written, holds exactly those jobs.
  await flushIndex(user.user_id, new Set(m.jobs.map((j) => shardOfJobId(j.id) ?? 0)));
  const listed = await send(user.auth, "/v1/jobs?limit=100");
  expect(listed.status).toBe(200);
  const rows = (listed.body.jobs ?? []).map((j) => `${j.id}:${j.status}`).sort();
  expect(rows).toEqual(m.jobs.map((j) => `${j.id}:${j.cancelled ? "cancelled" : "scheduled"}`).sort());
}

describe("model: shard growth mid-sequence", () => {
  it(`keys, ids, bulk actions and the listing hold over ${RUNS} sequences`, async () => {
    let grownAndKeyedAfter = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: MAX_COMMANDS }), async (commands) => {
        const grow = commands.findIndex((c) => c.kind === "grow");
        const keyedKinds = ["keyed", "debounced"];
        if (grow >= 0 && commands.slice(grow).some((c) => keyedKinds.includes(c.kind))) grownAndKeyedAfter++;
        await runSequence(commands);
      }),
      { numRuns: RUNS },
    );
    // The sequences that matter most must not be rare: a key (idempotency or debounce) sent after growth.
    expect(grownAndKeyedAfter).toBeGreaterThan(RUNS / 5);
  }, 600_000);
});

// --- dependencies across the user's shards while they grow -----------------------------------------
//
// Jobs that run (noop succeeds, http fails: its target answers 500, with no retry), submitted alone
// (each placed on a shard < the isolate's count, as the placement draws it) or as "@N" graphs in one
// batch (one shard for the group), depending on jobs anywhere: what a dependency's end does to a job on
// another shard travels through the outbox, sent by the alarm. The shards grow meanwhile; one shard at a
// time is driven (its alarm fired on the shared virtual clock, what it queued delivered); jobs are
// cancelled one by one or in bulk. At the end every shard is driven until nothing is queued, told or
// due, and every job must stand as the dependencies decide (expectedOutcomes): no notification lost.

const DEPENDENCY_RUNS = 60;
const MAX_DEPENDENCY_COMMANDS = 12;
const HOOK = "https://hooks.example.com/growth";

type DependencyCommand =
  | {
      kind: "job";
      via: Via;
      label: (typeof LABELS)[number];
      deps: number[];
      policy: "fail" | "run";
      fails: boolean;
      /** On the home shard (a flow-control key), else placed by `place`. */
      home: boolean;
      place: number;
    }
  | {
      kind: "graph";
      via: Via;
      label: (typeof LABELS)[number];
      items: { refs: number[]; deps: number[]; policy: "fail" | "run"; fails: boolean }[];
      place: number;
    }
  | { kind: "never"; via: Via; label: (typeof LABELS)[number]; place: number }
  /** Growth, and the isolate that sees the new count at once (else neither does, until a refresh). */
  | { kind: "grow"; by: number; tell: Via | null }
  | { kind: "refresh"; via: Via }
  | { kind: "drive"; shard: number }
  /** The shard is driven while the user's other shards cannot be reached from it: its messages wait. */
  | { kind: "outage"; shard: number }
  | { kind: "cancel"; via: Via; pick: number }
  | { kind: "bulk"; via: Via; label: (typeof LABELS)[number] };

const policy = fc.constantFrom<"fail" | "run">("fail", "fail", "run");
const fails = fc.constantFrom(false, false, false, true);
const named = fc.uniqueArray(fc.nat({ max: 63 }), { maxLength: 3 });
const jobCommand = fc.record({
  kind: fc.constant("job" as const),
  via,
  label,
  deps: named,
  policy,
  fails,
  home: fc.constantFrom(false, false, false, true),
  place: fc.nat({ max: 999 }),
});
const graphCommand = fc.record({
  kind: fc.constant("graph" as const),
  via,
  label,
  items: fc.array(
    fc.record({
      refs: fc.uniqueArray(fc.nat({ max: 7 }), { maxLength: 2 }),
      deps: fc.uniqueArray(fc.nat({ max: 63 }), { maxLength: 2 }),
      policy,
      fails,
    }),
    { minLength: 2, maxLength: 6 },
  ),
  place: fc.nat({ max: 999 }),
});
const growCommand = fc.record({
  kind: fc.constant("grow" as const),
  by: fc.integer({ min: 1, max: 4 }),
  tell: fc.constantFrom<Via | null>(0, 1, null),
});
const dependencyCommand: fc.Arbitrary<DependencyCommand> = fc.oneof(
  {
    weight: 4,
    arbitrary: jobCommand,
  },
  {
    weight: 3,
    arbitrary: graphCommand,
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("never" as const), via, label, place: fc.nat({ max: 999 }) }),
  },
  {
    weight: 2,
    arbitrary: growCommand,
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("refresh" as const), via }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("drive" as const), shard: fc.nat({ max: 15 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("outage" as const), shard: fc.nat({ max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), via, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("bulk" as const), via, label }) },
);

/**
 * A sequence: any commands, a growth, a job or graph submitted after it, any commands. Every sequence
 * crosses shards that grew by construction (a share of free sequences would, by chance, and a count of
 * them could fall short for some seed); further growth, or none beyond the first, comes as it comes.
 */
const dependencySequence: fc.Arbitrary<DependencyCommand[]> = fc
  .tuple(
    fc.array(dependencyCommand, { maxLength: MAX_DEPENDENCY_COMMANDS / 2 - 1 }),
    growCommand,
    fc.oneof(jobCommand, graphCommand),
    fc.array(dependencyCommand, { maxLength: MAX_DEPENDENCY_COMMANDS / 2 - 1 }),
  )
  .map(([before, grow, first, after]) => [...before, grow, first, ...after]);

/** A job as the dependency model knows it: what it waits on, how it ends by itself, and cancels. */
interface DependencyJob {
  id: string;
  label: string;
  deps: string[];
  policy: "fail" | "run";
  /** Its own attempt fails (http to a target answering 500, no retry). */
  fails: boolean;
  /** run_at in 2030: it never runs, so what waits on it waits for good (unless it is cancelled). */
  never: boolean;
  cancelled: boolean;
}

/** A job's row, as the census reads it on its shard. */
type CensusRow = {
  id: string;
  status: string;
  blocked_by: string | null;
  last_error: string | null;
  deadline: number | null;
  updated_at: number;
  labels: string;
  started_at: number | null;
  finished_at: number | null;
};

interface Census {
  jobs: Map<string, CensusRow>;
  /** Dependency messages not yet answered, and attempts queued and not begun, over all shards. */
  outbox: number;
  queued: number;
}

const FINISHED_STATUSES = ["succeeded", "failed", "cancelled"];
const listOf = (json: string | null) => (json === null ? [] : (JSON.parse(json) as string[]));

/** Every job of the user's shards `shards`, read on each shard at once (no API in between). */
async function census(userId: string, shards: Iterable<number>): Promise<Census> {
  const out: Census = { jobs: new Map(), outbox: 0, queued: 0 };
  for (const n of shards) {
    const part = await runInDurableObject(shardOf(userId, n), (_s, state) => {
      const sql = state.storage.sql;
      return {
        jobs: sql
          .exec<CensusRow>(
            `select id, ${EFFECTIVE_STATUS_TEXT} as status, blocked_by, last_error, deadline, updated_at, labels,
                    last_run_at as started_at, last_attempt_finished_at as finished_at from jobs`,
          )
          .toArray()
          .map((r) => ({ ...r })),
        outbox: sql.exec<{ n: number }>("select count(*) as n from dependency_messages").one().n,
        queued: sql.exec<{ n: number }>(`select count(*) as n from jobs where ${NOT_BEGUN_TEXT}`).one().n,
      };
    });
    for (const j of part.jobs) out.jobs.set(j.id, j);
    out.outbox += part.outbox;
    out.queued += part.queued;
  }
  return out;
}

type Expected = {
  status: "succeeded" | "failed" | "cancelled" | "scheduled";
  byDependency: boolean;
  blockedBy: string[];
};

/**
 * How every job stands once nothing more can happen (docs/design.md "Dependencies"), worked out from
 * the model alone: a cancelled job is cancelled; one that never runs is scheduled; any other waits on
 * its dependencies: if one failed or was cancelled it fails with dependency_failed (it says fail),
 * else once all succeeded (for run: all ended) it runs and ends as its own attempt does, else it is
 * still scheduled, blocked by those not succeeded (for run: not ended), which never will.
 */
function expectedOutcomes(jobs: DependencyJob[]): Map<string, Expected> {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const done = new Map<string, Expected>();
  const outcome = (id: string): Expected => {
    const known = done.get(id);
    if (known) return known;
    const j = byId.get(id);
    if (!j) throw new Error(`no job ${id} in the model`);
    let e: Expected;
    if (j.cancelled) e = { status: "cancelled", byDependency: false, blockedBy: [] };
    else if (j.never) e = { status: "scheduled", byDependency: false, blockedBy: [] };
    else {
      const deps = j.deps.map((d) => [d, outcome(d).status] as const);
      const failed = deps.some(([, s]) => s === "failed" || s === "cancelled");
      const waiting = deps
        .filter(([, s]) => (j.policy === "run" ? s === "scheduled" : s !== "succeeded"))
        .map(([d]) => d);
      if (failed && j.policy === "fail") e = { status: "failed", byDependency: true, blockedBy: [] };
      else if (waiting.length > 0)
        e = { status: "scheduled", byDependency: false, blockedBy: waiting.sort() };
      else e = { status: j.fails ? "failed" : "succeeded", byDependency: false, blockedBy: [] };
    }
    done.set(id, e);
    return e;
  };
  for (const j of jobs) outcome(j.id);
  return done;
}

/** Placement (and the batch's group shard) draw Math.random: fixed by the command for its request. */
async function placed<T>(place: number, fn: () => Promise<T>): Promise<T> {
  const spy = vi.spyOn(Math, "random").mockReturnValue((place + 0.5) / 1000);
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
}

interface DependencyModel {
  shards: number;
  jobs: DependencyJob[];
  /** The shared virtual clock: a day ahead of the wall clock, so the runtime fires no alarm itself. */
  now: number;
}

const setClock = (userId: string, n: number, now: number) =>
  runInDurableObject(shardOf(userId, n), (shard) => {
    shard.clock = () => now;
    shard.random = () => 0.5;
  });

/** Shard n's turn: the clock moves on (a second), its alarm fires, and what it queued is delivered. */
async function drive(userId: string, m: DependencyModel, n: number, stepMs = 1000): Promise<number> {
  m.now += stepMs;
  await setClock(userId, n, m.now);
  const stub = shardOf(userId, n);
  await runDurableObjectAlarm(stub);
  const messages = await runInDurableObject(stub, (_s, state) =>
    state.storage.sql
      .exec<{ id: string; attempt: number }>(`select id, attempt from jobs where ${NOT_BEGUN_TEXT}`)
      .toArray()
      .map((r) => ({ user_id: userId, job_id: r.id, attempt: r.attempt })),
  );
  if (messages.length > 0) await deliver(messages);
  return messages.length;
}

/** What the dependency sequences did (printed, and the ones that matter must not be rare). */
const DEPENDENCY_STATS: Record<string, number> = {};
const tally = (k: string, n = 1) => {
  DEPENDENCY_STATS[k] = (DEPENDENCY_STATS[k] ?? 0) + n;
};

/** Shard n reaches none of the user's other shards (its dependency messages fail), or again all. */
function cutOff(userId: string, n: number, down: boolean) {
  return runInDurableObject(shardOf(userId, n), (shard) => {
    const target = shard as unknown as { env: Env };
    if (!down) {
      target.env = { ...target.env, TASK_SHARD: env.TASK_SHARD };
      return;
    }
    const fail = () => Promise.reject(new Error("unreachable"));
    const unreachable = {
      idFromName: (name: string) => env.TASK_SHARD.idFromName(name),
      get: () => ({ subscribeDependents: fail, settleDependents: fail }),
    };
    target.env = { ...target.env, TASK_SHARD: unreachable as unknown as Env["TASK_SHARD"] };
  });
}

const shardsOfJobs = (m: DependencyModel) => new Set(m.jobs.map((j) => shardOfJobId(j.id) ?? 0));

/** What an isolate does to learn the user's shard count now: a bulk action reads it from the home shard. */
async function refresh(auth: Record<string, string>): Promise<void> {
  const out = await send(auth, "/v1/jobs/cancel", { method: "POST", json: { name: "matches nothing" } });
  expect(out.body.matched).toBe(0);
}

async function runDependencySequence(initial: number, commands: DependencyCommand[]): Promise<void> {
  const userId = newUserId();
  const keys = [newApiKey(userId), newApiKey(userId)];
  const home = shardOf(userId);
  const [first, second] = await Promise.all(keys.map(sha256Hex));
  const init = { userId, name: null, signingSecret: newSigningSecret(), shards: 1, indexDb: 0 };
  await home.createAccount({ ...init, keyHash: first as string });
  expect(await home.addKey(second as string)).toEqual({ ok: true });
  const auths = keys.map((k) => ({ authorization: `Bearer ${k}` }));
  const m: DependencyModel = { shards: initial, jobs: [], now: Date.now() + 24 * 60 * 60 * 1000 };
  expect((await home.setShards(initial)).ok).toBe(true);
  for (let n = 0; n < initial; n++) await setClock(userId, n, m.now);
  // Both isolates start with the count the user has.
  for (const auth of auths) expect((await send(auth, "/v1/pools")).status).toBe(200);
  const at = () => new Date(m.now).toISOString();
  const runnable = (fail: boolean, l: string) => ({
    type: fail ? "http" : "noop",
    ...(fail ? { payload: { url: HOOK } } : {}),
    run_at: at(),
    max_retries: 0,
    labels: { l },
  });
  const pickIds = (picks: number[]) =>
    m.jobs.length === 0
      ? []
      : [...new Set(picks.map((k) => (m.jobs[k % m.jobs.length] as DependencyJob).id))];

  for (const c of commands) {
    switch (c.kind) {
      case "job": {
        const deps = pickIds(c.deps);
        const body = {
          ...runnable(c.fails, c.label),
          ...(deps.length > 0 ? { depends_on: deps, on_dependency_failure: c.policy } : {}),
          ...(c.home ? { flow_control: { key: "f", concurrency: 100 } } : {}),
        };
        const out = await placed(c.place, () =>
          send(auths[c.via] as Record<string, string>, "/v1/jobs", { method: "POST", json: body }),
        );
        expect(out.status, JSON.stringify(out.body)).toBe(201);
        if (c.home) expect(shardOfJobId(out.body.id)).toBe(0);
        for (const d of out.body.blocked_by)
          expect(deps, "blocked only by its own dependencies").toContain(d);
        m.jobs.push({
          id: out.body.id,
          label: c.label,
          deps,
          policy: c.policy,
          fails: c.fails,
          never: false,
          cancelled: false,
        });
        break;
      }
      case "graph": {
        const items = c.items.map((item, i) => {
          const refs = i === 0 ? [] : [...new Set(item.refs.map((k) => k % i))];
          return { ...item, refs, ids: pickIds(item.deps) };
        });
        const jobs = items.map((item) => {
          const entries = [...item.refs.map((k) => `@${k}`), ...item.ids];
          return {
            ...runnable(item.fails, c.label),
            ...(entries.length > 0 ? { depends_on: entries, on_dependency_failure: item.policy } : {}),
          };
        });
        const out = await placed(c.place, async () =>
          request("/v1/jobs/batch", {
            method: "POST",
            headers: auths[c.via] as Record<string, string>,
            json: { jobs },
          }),
        );
        expect(out.status).toBe(201);
        const { results } = (await out.json()) as { results: { status: number; job: JobView }[] };
        expect(results.map((r) => r.status)).toEqual(items.map(() => 201));
        const ids = results.map((r) => r.job.id);
        items.forEach((item, i) => {
          // An "@N" group lives on one shard.
          for (const k of item.refs)
            expect(shardOfJobId(ids[i] as string)).toBe(shardOfJobId(ids[k] as string));
          const deps = [...item.refs.map((k) => ids[k] as string), ...item.ids];
          expect(results[i]?.job.depends_on).toEqual(deps);
          m.jobs.push({
            id: ids[i] as string,
            label: c.label,
            deps,
            policy: item.policy,
            fails: item.fails,
            never: false,
            cancelled: false,
          });
        });
        break;
      }
      case "never": {
        const out = await placed(c.place, () =>
          send(auths[c.via] as Record<string, string>, "/v1/jobs", {
            method: "POST",
            json: { ...bodyOf(0), labels: { l: c.label } },
          }),
        );
        expect(out.status).toBe(201);
        m.jobs.push({
          id: out.body.id,
          label: c.label,
          deps: [],
          policy: "fail",
          fails: false,
          never: true,
          cancelled: false,
        });
        break;
      }
      case "grow": {
        const shards = Math.min(MAX_SHARDS, m.shards + c.by);
        expect((await home.setShards(shards)).ok).toBe(true);
        for (let n = m.shards; n < shards; n++) await setClock(userId, n, m.now);
        m.shards = shards;
        if (c.tell !== null) await refresh(auths[c.tell] as Record<string, string>);
        break;
      }
      case "refresh":
        await refresh(auths[c.via] as Record<string, string>);
        break;
      case "drive":
        tally("drive.mid_sequence.queued", await drive(userId, m, c.shard % m.shards));
        break;
      case "outage": {
        const n = c.shard % m.shards;
        const waiting = (await census(userId, [n])).outbox;
        await cutOff(userId, n, true);
        try {
          await drive(userId, m, n);
        } finally {
          await cutOff(userId, n, false);
        }
        // Nothing it had to tell was lost: it is all still in its outbox (sent again later).
        expect((await census(userId, [n])).outbox, "messages kept through an outage").toBeGreaterThanOrEqual(
          waiting,
        );
        tally("outage.messages.kept", waiting);
        break;
      }
      case "cancel": {
        const job = m.jobs[c.pick % Math.max(1, m.jobs.length)];
        if (!job) break;
        const auth = auths[c.via] as Record<string, string>;
        const before = await send(auth, `/v1/jobs/${job.id}`);
        const out = await send(auth, `/v1/jobs/${job.id}`, { method: "DELETE" });
        const finished = FINISHED_STATUSES.includes(before.body.status);
        expect(out.status, `cancel ${job.id} (${before.body.status})`).toBe(finished ? 409 : 200);
        if (!finished) job.cancelled = true;
        break;
      }
      case "bulk": {
        const shards = shardsOfJobs(m);
        const was = await census(userId, shards);
        const out = await send(auths[c.via] as Record<string, string>, "/v1/jobs/cancel", {
          method: "POST",
          json: { labels: { l: c.label } },
        });
        const now = await census(userId, shards);
        // Each matching job unfinished before is now cancelled (counted), or failed by a dependency
        // the same bulk cancelled on its shard first (not counted).
        const hit = m.jobs.filter((j) => {
          const row = was.jobs.get(j.id);
          return j.label === c.label && row !== undefined && !FINISHED_STATUSES.includes(row.status);
        });
        let cancelled = 0;
        for (const j of hit) {
          const row = now.jobs.get(j.id);
          if (row?.status === "cancelled") {
            cancelled++;
            j.cancelled = true;
          } else {
            tally("bulk.failed_by_dependency");
            expect({ status: row?.status, error: row?.last_error }, `${j.id} after the bulk cancel`).toEqual({
              status: "failed",
              error: "dependency_failed",
            });
          }
        }
        expect(out.body.matched).toBe(cancelled);
        break;
      }
    }
  }

  // Quiescence: every shard holding jobs driven in turn until nothing is queued, told or due.
  const shards = [...shardsOfJobs(m)].sort((a, b) => a - b);
  let final: Census | null = null;
  for (let round = 0; round < 20 && final === null; round++) {
    // Five seconds a turn: a message an outage held back is sent again after its backoff.
    for (const n of shards) await drive(userId, m, n, 5000);
    const seen = await census(userId, shards);
    const due = [...seen.jobs.values()].filter(
      (j) => j.status === "scheduled" && j.deadline !== null && j.deadline <= m.now,
    );
    if (seen.outbox === 0 && seen.queued === 0 && due.length === 0) final = seen;
  }
  expect(final, "quiescent within 20 rounds of every shard").not.toBeNull();
  tally("sequences");
  tally("jobs", m.jobs.length);
  const rows = final?.jobs ?? new Map<string, CensusRow>();

  // Every job stands as its dependencies decide; none is blocked by anything but a job that never ends.
  const expected = expectedOutcomes(m.jobs);
  for (const j of m.jobs) {
    const e = expected.get(j.id);
    tally(
      `end.${e?.status}${e?.byDependency ? ".by_dependency" : ""}${e?.blockedBy.length ? ".blocked" : ""}`,
    );
    const across = j.deps.filter((d) => shardOfJobId(d) !== shardOfJobId(j.id)).length;
    tally("dependencies", j.deps.length);
    tally("dependencies.across_shards", across);
    if (across > 0 && e?.status !== "scheduled" && !j.cancelled) tally("ended.after.across_shards");
  }
  for (const j of m.jobs) {
    const row = rows.get(j.id);
    const e = expected.get(j.id);
    if (row?.status === "cancelled" && !j.cancelled) tally("cancel.cascade.bug");
    expect(
      {
        status: row?.status,
        dependency_failed: row?.last_error === "dependency_failed",
        blocked_by:
          row && FINISHED_STATUSES.includes(row.status) ? [] : listOf(row?.blocked_by ?? null).sort(),
      },
      `${j.id} at quiescence`,
    ).toEqual({ status: e?.status, dependency_failed: e?.byDependency, blocked_by: e?.blockedBy });
    // Never begun before what it waits on: each dependency had succeeded (for run: ended) by then.
    const started = row?.started_at ?? null;
    if (started === null || j.deps.length === 0) continue;
    expect(e?.byDependency, `${j.id} failed by a dependency never began`).toBe(false);
    for (const d of j.deps) {
      const dep = rows.get(d);
      if (j.policy === "fail" || dep?.status === "succeeded") {
        expect(dep?.status, `${j.id} began after ${d} succeeded`).toBe("succeeded");
        expect(dep?.finished_at ?? Infinity, `${j.id} began after ${d} finished`).toBeLessThan(started);
      } else {
        expect(FINISHED_STATUSES, `${j.id} began after ${d} ended`).toContain(dep?.status);
        const ended = Math.min(dep?.finished_at ?? Infinity, dep?.updated_at ?? Infinity);
        expect(ended, `${j.id} began after ${d} ended`).toBeLessThanOrEqual(started);
      }
    }
  }
  // The listing, once every shard's index copies are written, says the same.
  await flushIndex(userId, shards, m.now + 60_000);
  const listed = await send(auths[0] as Record<string, string>, "/v1/jobs?limit=100");
  expect((listed.body.jobs ?? []).map((j) => `${j.id}:${j.status}`).sort()).toEqual(
    m.jobs.map((j) => `${j.id}:${expected.get(j.id)?.status}`).sort(),
  );
}

describe("model: dependencies across shards while they grow", () => {
  it(`no notification is lost over ${DEPENDENCY_RUNS} sequences`, async () => {
    // http jobs fail: their target answers 500.
    const fetch = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(async () => new Response("boom", { status: 500 }));
    let acrossShards = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 4 }), dependencySequence, async (initial, commands) => {
          const grown = commands.findIndex((c) => c.kind === "grow");
          if (grown >= 0 && commands.slice(grown).some((c) => c.kind === "job" || c.kind === "graph"))
            acrossShards++;
          await runDependencySequence(initial, commands);
        }),
        { numRuns: DEPENDENCY_RUNS },
      );
    } finally {
      fetch.mockRestore();
    }
    console.log(`growth model: ${DEPENDENCY_RUNS} dependency sequences`, JSON.stringify(DEPENDENCY_STATS));
    // Every sequence submits after a growth (dependencySequence): none may have lost it.
    expect(acrossShards).toBe(DEPENDENCY_RUNS);
    // Not vacuous: dependencies across shards ended jobs, failures travelled, some waited for good
    // (each is expected tens of times or more). An outage holding messages back happens a few times a
    // run: too few to require without failing by chance for some seed (dependencies.test.ts covers it).
    for (const k of [
      "dependencies.across_shards",
      "ended.after.across_shards",
      "end.failed.by_dependency",
      "end.scheduled.blocked",
    ])
      expect(DEPENDENCY_STATS[k] ?? 0, `${k}`).toBeGreaterThan(0);
  }, 600_000);
});
