// Bad input to POST /v1/jobs/batch: every corpus body (test/support/bad-input-corpus.ts) as one item
// among good ones gets the answer it gets alone, with its paths under `jobs[i]`; and generated batches
// of corpus bodies are created whole or refused whole, never in part and never with a 5xx.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import { BODY_CASES, type BodyCase, concat, LATER, utf8 } from "../support/bad-input-corpus";
import { createUser, getJob, request, statusAtSubmit, type TestUser } from "../support/helpers";
import { counts, expectEnvelope } from "../support/refusals";

const GOOD = JSON.stringify({ type: "noop", run_at: LATER, name: "good" });

/** A case's body as the bytes of one batch item (stream bodies are left to the size tests). */
function itemBytes(c: BodyCase): Uint8Array | null {
  const b = c.body;
  if (typeof b === "function") return null;
  if (typeof b === "string") return utf8(b);
  if (b instanceof Uint8Array) return b;
  return utf8(JSON.stringify(b.json));
}

/** `{"jobs": [items…]}` spliced as bytes, so malformed items stay exactly as malformed. */
function batchBytes(items: Uint8Array[]): Uint8Array {
  const joined = items.flatMap((item, i) => (i ? [utf8(","), item] : [item]));
  return concat(utf8('{"jobs":['), ...joined, utf8("]}"));
}

function post(user: TestUser, body: Uint8Array, caseHeaders: BodyCase["headers"] = {}) {
  const headers = new Headers({ ...user.auth, "content-type": "application/json" });
  for (const [name, value] of Object.entries(caseHeaders)) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  return request("/v1/jobs/batch", { method: "POST", headers, body });
}

const itemPath = (i: number, path: string) => (path === "(body)" ? `jobs[${i}]` : `jobs[${i}].${path}`);

const CASES = BODY_CASES.flatMap((c) => {
  const bytes = itemBytes(c);
  return bytes ? [[c.label, c, bytes] as const] : [];
});

describe("POST /v1/jobs/batch: each corpus body as the second item", () => {
  it.each(CASES)("%s", async (_label, c, bytes) => {
    const user = await createUser();
    const res = await post(user, batchBytes([utf8(GOOD), bytes]), c.headers);
    const { status } = c.expect;
    if (status === 201 || (status === "201-or-400" && res.status === 201)) {
      expect(res.status).toBe(201);
      const { results } = (await res.json()) as { results: { status: number; job: JobView }[] };
      expect(results.map((r) => r.status)).toEqual([201, 201]);
      expect(results[1]?.job).toMatchObject({
        user_id: user.user_id,
        status: results[1] ? statusAtSubmit(results[1].job) : "missing",
        ...c.expect.fields,
      });
      expect(await getJob(user, results[1]?.job.id ?? "")).toEqual(results[1]?.job);
      expect(await counts(user)).toEqual({ jobs: 2, keys: 0 });
      return;
    }
    const error = await expectEnvelope(res, status === "201-or-400" ? 400 : status);
    if ("path" in c.expect && c.expect.path !== undefined) {
      expect(error.details?.map((d) => d.path)).toContain(itemPath(1, c.expect.path));
    }
    expect(await counts(user)).toEqual({ jobs: 0, keys: 0 });
  });
});

/** Corpus items whose answer alone is certain (201, 400 or 413), as parsed JSON objects. */
const ITEMS = BODY_CASES.flatMap((c) => {
  if (typeof c.body !== "object" || c.body instanceof Uint8Array || c.headers) return [];
  const { status } = c.expect;
  return status === 201 || status === 400 || status === 413
    ? [{ label: c.label, json: c.body.json, status }]
    : [];
});

/**
 * Items refused only by the home shard's pool check (well-formed, but the pool does not exist): the
 * batch is checked in two stages, each item's shape and size in the Worker (400, or 413 when oversized
 * payloads are the only problem found there), then the pools on the home shard (400).
 */
const POOL_STAGE = new Set(["resources: unknown pool", "resources: constructor"]);

let keySeq = 0;
const item = fc.record({
  corpus: fc.constantFrom(...ITEMS),
  key: fc.constantFrom("none", "none", "fresh", "null", "too long", "with a space"),
});

describe("POST /v1/jobs/batch: generated batches of corpus bodies", () => {
  it("creates every job of a valid batch and nothing of any other", { timeout: 120_000 }, async () => {
    const user = await createUser();
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 6 }), async (batch) => {
        const before = await counts(user);
        const keyed = batch.map(({ corpus, key }) => {
          const value =
            key === "fresh"
              ? `gen-${++keySeq}`
              : key === "null"
                ? null
                : key === "too long"
                  ? "k".repeat(256)
                  : key === "with a space"
                    ? "a b"
                    : undefined;
          const body =
            value === undefined ? corpus.json : { ...(corpus.json as object), idempotency_key: value };
          const badKey = key === "too long" || key === "with a space";
          const poolStage = !badKey && POOL_STAGE.has(corpus.label);
          return { body, poolStage, status: badKey ? 400 : poolStage ? 201 : corpus.status };
        });
        const statuses = keyed.map((k) => k.status);
        const firstStage = statuses.every((s) => s === 201)
          ? 201
          : statuses.every((s) => s === 201 || s === 413)
            ? 413
            : 400;
        const expected = firstStage === 201 && keyed.some((k) => k.poolStage) ? 400 : firstStage;
        const res = await post(user, batchBytes(keyed.map((k) => utf8(JSON.stringify(k.body)))));
        if (res.status !== expected) {
          throw new Error(
            `expected ${expected}, got ${res.status} ${await res.text()} for ${batch.map((b) => b.corpus.label)}`,
          );
        }
        if (expected !== 201) {
          await expectEnvelope(res);
          expect(await counts(user)).toEqual(before);
          return;
        }
        const { results } = (await res.json()) as { results: { status: number }[] };
        expect(results.map((r) => r.status)).toEqual(keyed.map(() => 201));
        const keys = batch.filter((b) => b.key === "fresh").length;
        expect(await counts(user)).toEqual({ jobs: before.jobs + batch.length, keys: before.keys + keys });
      }),
      { numRuns: 150 },
    );
  });
});
