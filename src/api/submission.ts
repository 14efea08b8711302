// One submit body made ready for its shard (the single and the batch submit share this): where the job
// lives, the job itself, its idempotency record; and what the shard's refusals of it mean to a client.
import { sha256Hex } from "../core/ids";
import { HOME_SHARD } from "../shard/address";
import type { NewSubmission, SubmitResult } from "../shard/rpc";
import { ConflictError, InvalidRequestError, RateLimitedError, type RefusalErrors } from "./errors";
import { requestMeaning, validSubmission } from "./job-input";

export const UNFINISHED_RETRY_SECONDS = 60;

/** JSON with sorted keys, so the same body in another key order is still "the same body". */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    // An absent field and one that is undefined mean the same.
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Where a new job lives. Jobs naming a pool live on the home shard, which owns the pools, so pool
 * accounting is local and atomic. Otherwise one Idempotency-Key always lands on the same shard (that
 * shard alone decides whether it was seen), and other jobs spread at random.
 */
function chooseShard(body: unknown, keyHash: string | undefined, shards: number): number {
  const resources = (body as { resources?: unknown } | null)?.resources;
  if (resources && typeof resources === "object" && Object.keys(resources).length > 0) return HOME_SHARD;
  if (keyHash) return Number.parseInt(keyHash.slice(0, 8), 16) % shards;
  return Math.floor(Math.random() * shards);
}

export interface SubmitContext {
  userId: string;
  shards: number;
  now: number;
  allowPrivateTargets: boolean;
  /** The user's retention for finished jobs, or the global default. */
  finishedRetentionSeconds: number;
  /** The user's index database. */
  indexDb: number;
}

export interface PreparedSubmission extends NewSubmission {
  shard: number;
}

/**
 * Validates a submit body (throws its 400 or 413) and builds the job for the shard it belongs on. A
 * replay is compared by meaning (requestMeaning: the validated, normalised request), not by its text,
 * so the same run_at written another way, or a default written out, is still the same request.
 */
export async function prepareSubmission(
  body: unknown,
  idempotencyKey: string | undefined,
  ctx: SubmitContext,
): Promise<PreparedSubmission> {
  const keyHash = idempotencyKey === undefined ? undefined : await sha256Hex(idempotencyKey);
  const shard = chooseShard(body, keyHash, ctx.shards);
  const { input, spec } = validSubmission(body, { ...ctx, shard });
  const idempotency = keyHash
    ? { key: keyHash, bodyHash: await sha256Hex(canonical(requestMeaning(input))) }
    : undefined;
  return { shard, spec, idempotency };
}

/** What each refusal of a submit means: the single submit throws it, a batch reports it per item. */
export const submitRefusals: RefusalErrors<SubmitResult> = {
  idempotency_conflict: () => new ConflictError("this Idempotency-Key was used with a different body"),
  too_many_unfinished: () =>
    new RateLimitedError(UNFINISHED_RETRY_SECONDS, "too many unfinished jobs; wait for some to finish"),
  invalid_resources: (refusal) => new InvalidRequestError("the job is invalid", refusal.details),
};
