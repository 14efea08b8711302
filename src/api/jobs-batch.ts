// POST /v1/jobs/batch: 1..1,000 submit bodies in one request (one count against the key's rate limit).
// Validation is all or nothing: any bad item is a 4xx naming `jobs[i].field`, and nothing is created.
// A valid batch is grouped by shard, one RPC per shard (one SQLite transaction, one alarm re-arm), and
// answered item by item, in order.
import { type Context, Hono } from "hono";
import { batchRef } from "../core/dependencies";
import type { JobView } from "../core/job";
import type { Env } from "../env";
import { HOME_SHARD, shardStub } from "../shard/address";
import type { KnownDependencies, SubmitItemResult } from "../shard/rpc";
import { type AppEnv, freshPrincipal } from "./auth";
import { batchGroups, checkDependencies, type NamedDependency } from "./dependencies";
import {
  ApiError,
  type ErrorDetail,
  errorBody,
  InvalidRequestError,
  PayloadTooLargeError,
  refusalError,
} from "./errors";
import { keysFoundElsewhere, MAX_PLACEMENTS } from "./idempotency";
import { BatchEnvelope, BatchItemKey } from "./schemas";
import {
  livesAtHome,
  type PreparedSubmission,
  prepareSubmission,
  type SubmitContext,
  submitContext,
  submitRefusals,
  UNFINISHED_RETRY_SECONDS,
} from "./submission";
import { validated, validatedJson } from "./validate";

/**
 * 4 MiB: 4 KiB a job at 1,000 jobs, many times a typical job, while 1,000 payloads of the 64 KiB a
 * single job may carry (62 MiB) would be one request the Worker must hold, parse and forward at once.
 * Batches of big payloads are split by the client.
 */
export const MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024;
/** `{"jobs": [job]}`: an item may nest exactly as deep as a single submit body. */
const ENVELOPE_DEPTH = 2;
/** A batch of 1,000 bad jobs answers with its first problems, not thousands of them. */
const MAX_DETAILS = 100;

type ItemResult =
  | { status: 200 | 201; job: JobView }
  | { status: 409 | 429; error: { code: string; message: string } };

interface Item extends PreparedSubmission {
  index: number;
  key: string | undefined;
}

interface Problem {
  status: number;
  details: ErrorDetail[];
}

const itemPath = (index: number, path: string) =>
  path === "(body)" ? `jobs[${index}]` : `jobs[${index}].${path}`;
const inItem = (index: number, details: ErrorDetail[]) =>
  details.map((d) => ({ path: itemPath(index, d.path), message: d.message }));

/** What `run` returns, or the ApiError it throws: an item's problems are gathered, not thrown. */
async function attempt<T>(run: () => T | Promise<T>): Promise<T | ApiError> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
}

/** One item validated exactly as a single submit body (and its key as the header would be). */
async function prepareItem(
  raw: unknown,
  index: number,
  ctx: SubmitContext,
  placeAt?: number,
): Promise<Item | Problem> {
  let body = raw;
  let rawKey: unknown;
  if (
    raw !== null &&
    typeof raw === "object" &&
    !Array.isArray(raw) &&
    Object.hasOwn(raw, "idempotency_key")
  ) {
    ({ idempotency_key: rawKey, ...body } = raw as Record<string, unknown>);
  }
  const key = await attempt(
    () => validated(BatchItemKey, rawKey, "bad idempotency_key", ["idempotency_key"]) ?? undefined,
  );
  const prepared = await attempt(() =>
    prepareSubmission(body, key instanceof ApiError ? undefined : key, ctx, placeAt),
  );
  if (!(key instanceof ApiError) && !(prepared instanceof ApiError)) return { ...prepared, index, key };
  const failed = [key, prepared].filter((r) => r instanceof ApiError);
  // A payload over the size cap alone is the item's 413, as for a single submit; with a bad key, a 400.
  return {
    status: failed.every((e) => e.status === 413) ? 413 : 400,
    details: failed.flatMap((e) => inItem(index, e.details ?? [{ path: "(body)", message: e.message }])),
  };
}

/** Two items with one key would race each other for it; that is a mistake in the batch, not a replay. */
function repeatedKeys(items: Item[]): Problem[] {
  const first = new Map<string, number>();
  return items.flatMap(({ key, index }) => {
    if (key === undefined) return [];
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    const message = `repeats the idempotency_key of jobs[${earlier}]`;
    return earlier === undefined
      ? []
      : [{ status: 400, details: [{ path: itemPath(index, "idempotency_key"), message }] }];
  });
}

function badBatch(problems: Problem[], total: number): ApiError {
  const details = problems.flatMap((p) => p.details).slice(0, MAX_DETAILS);
  const message = `${problems.length} of ${total} jobs are invalid; none was created`;
  // A payload over the size cap alone is a 413, as it is for a single submit; anything else is a 400.
  return problems.every((p) => p.status === 413)
    ? new PayloadTooLargeError(message, details)
    : new InvalidRequestError(message, details);
}

function itemResult(result: SubmitItemResult): ItemResult {
  if (result.ok) return { status: result.replayed || result.replaced ? 200 : 201, job: result.view };
  const error = refusalError(result, submitRefusals);
  return { status: error.status as 409 | 429, error: errorBody(error.code, error.message).error };
}

/**
 * The items at `indices` made ready for their shards, those tied together by "@N" placed on one shard
 * (batchGroups); with the problems of each bad item and of each bad reference.
 */
async function prepareItems(
  raw: unknown[],
  indices: number[],
  ctx: SubmitContext,
): Promise<{ items: Item[]; problems: Problem[] }> {
  const bodies = indices.map((index) => {
    const body = raw[index];
    const keyed =
      body !== null &&
      typeof body === "object" &&
      (body as Record<string, unknown>).idempotency_key !== undefined &&
      (body as Record<string, unknown>).idempotency_key !== null;
    return { index, body, home: livesAtHome(body), keyed };
  });
  const { placeAt, problems } = batchGroups(bodies, ctx.shards, Math.random);
  const prepared = await Promise.all(
    indices.map((index) => prepareItem(raw[index], index, ctx, placeAt.get(index))),
  );
  return {
    items: prepared.filter((p): p is Item => "spec" in p),
    problems: [
      ...prepared.filter((p): p is Problem => !("spec" in p)),
      ...problems.map((detail) => ({ status: 400, details: [detail] })),
    ],
  };
}

/** Every item made ready for its shard, or the batch's 400/413 naming each bad item's fields. */
async function validateBatch(raw: unknown[], ctx: SubmitContext): Promise<Item[]> {
  const { items, problems: bad } = await prepareItems(raw, [...raw.keys()], ctx);
  const problems = [...bad, ...repeatedKeys(items)];
  if (problems.length > 0) throw badBatch(problems, raw.length);
  return items;
}

/** Each item's depends_on ids (not "@N"), named by where the request has them. */
function namedDependencies(items: Item[]): NamedDependency[] {
  return items.flatMap((item) =>
    (item.spec.dependsOn ?? []).flatMap((id, j) =>
      batchRef(id) === null ? [{ id, path: `jobs[${item.index}].depends_on[${j}]` }] : [],
    ),
  );
}

/**
 * A shard's items as it must receive them: each "@N" as "@k" when item N is the k-th of the same
 * request (batchGroups put it there), or as the id of the job item N was answered with already (its
 * key found elsewhere, or an earlier placement). An item whose item N was refused is answered 409
 * here and left out, and so, in turn, are the items naming it.
 */
function withReferences(group: Item[], results: ItemResult[]): Item[] {
  const sent: Item[] = [];
  const position = new Map<number, number>();
  for (const item of group) {
    let refused = false;
    const dependsOn = item.spec.dependsOn?.map((entry) => {
      const n = batchRef(entry);
      if (n === null) return entry;
      const k = position.get(n);
      if (k !== undefined) return `@${k}`;
      const answer = results[n];
      if (answer && "job" in answer) return answer.job.id;
      refused = true;
      return entry;
    });
    if (refused) {
      results[item.index] = itemResult({ ok: false, reason: "dependency_not_created" });
      continue;
    }
    position.set(item.index, sent.length);
    sent.push(dependsOn ? { ...item, spec: { ...item.spec, dependsOn, blockedBy: dependsOn } } : item);
  }
  return sent;
}

/**
 * One RPC per shard, each item's answer written into `results` at its index. Returns the keyed items
 * a shard refused as placed by a stale shard count (left unanswered unless `last`). Throws the 400
 * of a home shard's refusal.
 */
async function submitByShard(
  env: Env,
  userId: string,
  items: Item[],
  results: ItemResult[],
  maxUnfinished: number | undefined,
  last: boolean,
  known: KnownDependencies,
): Promise<Item[]> {
  const byShard = new Map<number, Item[]>();
  for (const item of items) {
    const group = byShard.get(item.shard);
    if (group) group.push(item);
    else byShard.set(item.shard, [item]);
  }
  for (const [shard, group] of byShard) byShard.set(shard, withReferences(group, results));
  const stale: Item[] = [];
  /** The shard's items in one RPC; returns the items it refuses as invalid (pools). */
  const submitTo = async (shard: number, group: Item[]): Promise<Problem[]> => {
    if (group.length === 0) return [];
    const out = await shardStub(env, userId, shard).submitBatch(
      group.map(({ spec, idempotency }) => ({ spec, idempotency })),
      maxUnfinished,
      known,
    );
    const at = (i: number) => group[i] as Item;
    if (!out.ok) {
      return out.items.map(({ index, details }) => ({
        status: 400,
        details: inItem(at(index).index, details),
      }));
    }
    out.results.forEach((r, i) => {
      if (!r.ok && r.reason === "stale_shards" && !last) stale.push(at(i));
      else results[at(i).index] = itemResult(r);
    });
    return [];
  };
  // Only the home shard can refuse a valid body (its pools live there, and so does every job that
  // names one), so it goes first and alone: a refusal there leaves every other shard untouched.
  const home = byShard.get(HOME_SHARD);
  if (home && items.some((item) => Object.keys(item.spec.resources).length > 0)) {
    byShard.delete(HOME_SHARD);
    const refused = await submitTo(HOME_SHARD, home);
    if (refused.length > 0) throw badBatch(refused, items.length);
  }
  // Every shard answers before the request does, so a failed batch's retry never races its own
  // first attempt. A shard that failed leaves the others' jobs created (docs/architecture.md).
  const settled = await Promise.allSettled([...byShard].map(([shard, group]) => submitTo(shard, group)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  const late = settled.flatMap((s) => (s.status === "fulfilled" ? s.value : []));
  if (late.length > 0) throw new Error(`a shard without pools refused a batch: ${JSON.stringify(late)}`);
  return stale;
}

/**
 * Submits the valid batch: each keyed item's key looked up on its other shards first (its original
 * job answers it), the rest created by shard; items refused as placed by a stale count are placed
 * again with the user's count made fresh (src/api/idempotency.ts). Results in the items' order.
 */
async function submitItems(c: Context<AppEnv>, raw: unknown[], items: Item[]): Promise<ItemResult[]> {
  const results = new Array<ItemResult>(items.length);
  // Every id named is the user's job (else a 400, nothing created), checked once for the batch.
  const known = await checkDependencies(c.env, c.get("principal").userId, namedDependencies(items));
  let pending = items;
  for (let placement = 1; pending.length > 0; placement++) {
    const principal = c.get("principal");
    const found = await keysFoundElsewhere(c.env, principal, pending);
    for (const [item, result] of found) results[item.index] = itemResult(result);
    const rest = pending.filter((item) => !found.has(item));
    const cap = principal.maxUnfinishedJobs ?? undefined;
    const last = placement === MAX_PLACEMENTS;
    const stale = await submitByShard(c.env, principal.userId, rest, results, cap, last, known);
    if (stale.length === 0) break;
    await freshPrincipal(c);
    const again = await prepareItems(
      raw,
      stale.map(({ index }) => index),
      submitContext(c),
    );
    const broken = again.problems[0]?.details[0]?.path;
    if (broken !== undefined) throw new Error(`${broken} was valid and is not any more`);
    pending = again.items;
  }
  return results;
}

/** The envelope, its items still raw; a problem inside an item is named `jobs[3].payload`. */
async function readBatch(c: Context<AppEnv>): Promise<unknown[]> {
  const options = { maxBytes: MAX_BATCH_BODY_BYTES, envelopeDepth: ENVELOPE_DEPTH };
  return (await validatedJson(c, BatchEnvelope, "the batch is invalid", options)).jobs;
}

export const batchSubmit = new Hono<AppEnv>();

batchSubmit.post("/", async (c) => {
  const raw = await readBatch(c);
  const results = await submitItems(c, raw, await validateBatch(raw, submitContext(c)));
  const limited = results.some((r) => r.status === 429);
  return c.json({ results }, 201, limited ? { "Retry-After": String(UNFINISHED_RETRY_SECONDS) } : {});
});
