// Model-based test of the guarantees that must hold while a user's shards grow (issue 15). fast-check
// generates sequences of keyed and plain submits, growth (on the home shard only, so each "isolate"
// keeps the count it had cached), refreshes of one isolate's count, reads, cancels and bulk cancels,
// sent through the real API from two API keys of one user that stand for two isolates whose cached
// shard counts disagree. After every command the answer is compared with a small model; at the end of
// each sequence every job is read back and the D1 listing must hold exactly the model's jobs.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newApiKey, newSigningSecret, newUserId, sha256Hex, shardOfJobId } from "../../src/core/ids";
import type { JobView } from "../../src/core/job";
import { request, shardOf } from "../support/helpers";

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
async function flushIndex(userId: string, shards: Iterable<number>): Promise<void> {
  for (const s of shards) {
    const stub = shardOf(userId, s);
    await runInDurableObject(stub, (shard) => {
      shard.clock = () => Date.now() + 60_000;
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
