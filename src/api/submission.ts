// One submit body made ready for its shard (the single and the batch submit share this): where the job
// lives, the job itself, its idempotency record; and what the shard's refusals of it mean to a client.

import type { Context } from "hono";
import { sha256Hex } from "../core/ids";
import { placeJob } from "../core/placement";
import { type TraceHeaders, TraceHeadersInput } from "../core/trace-context";
import type { NewSubmission, SubmitResult } from "../shard/rpc";
import type { AppEnv } from "./auth";
import { ConflictError, InvalidRequestError, RateLimitedError, type RefusalErrors } from "./errors";
import { requestMeaning, validSubmission } from "./job-input";

export const UNFINISHED_RETRY_SECONDS = 60;
const STALE_SHARDS_RETRY_SECONDS = 1;

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
 * Whether a submit body belongs on the home shard: it names a pool (the home shard keeps the pools),
 * a flow-control key or a debounce key (one shard decides for a key, and the home shard never moves as
 * the user's shard count grows: docs/architecture.md, "Flow control per key", "Debounce").
 */
export function livesAtHome(body: unknown): boolean {
  const fields = body as { resources?: unknown; flow_control?: unknown; debounce?: unknown } | null;
  const resources = fields?.resources;
  const pooled = !!resources && typeof resources === "object" && Object.keys(resources).length > 0;
  const keyed = (field: unknown) => !!field && typeof field === "object";
  return pooled || keyed(fields?.flow_control) || keyed(fields?.debounce);
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
  /**
   * The request's W3C trace context (traceparent, tracestate headers), kept by each job it submits: a
   * batch's by every job of it. An invalid one is ignored (W3C: a receiver must not fail the request).
   */
  trace: TraceHeaders;
}

export interface PreparedSubmission extends NewSubmission {
  shard: number;
}

/**
 * What placing and validating a submit needs to know of the request: its user and configuration, and
 * its trace context.
 */
export function submitContext(c: Context<AppEnv>): SubmitContext {
  const { userId, shards, finishedRetentionSeconds, indexDb } = c.get("principal");
  const config = c.get("config");
  return {
    userId,
    shards,
    now: Date.now(),
    allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
    finishedRetentionSeconds: finishedRetentionSeconds ?? config.FINISHED_RETENTION_SECONDS,
    indexDb,
    trace: TraceHeadersInput.parse({
      traceparent: c.req.header("traceparent"),
      tracestate: c.req.header("tracestate"),
    }),
  };
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
  placeAt?: number,
): Promise<PreparedSubmission> {
  const keyHash = idempotencyKey === undefined ? undefined : await sha256Hex(idempotencyKey);
  // A batch item tied to others by "@N" goes where its group goes (dependencies.ts batchGroups).
  const shard = placeAt ?? placeJob(livesAtHome(body), keyHash, ctx.shards, Math.random);
  const { input, spec } = validSubmission(body, { ...ctx, shard });
  const idempotency = keyHash
    ? { key: keyHash, bodyHash: await sha256Hex(canonical(requestMeaning(input))), shards: ctx.shards }
    : undefined;
  return { shard, spec, idempotency };
}

/** What each refusal of a submit means: the single submit throws it, a batch reports it per item. */
export const submitRefusals: RefusalErrors<SubmitResult> = {
  idempotency_conflict: () => new ConflictError("this Idempotency-Key was used with a different body"),
  too_many_unfinished: () =>
    new RateLimitedError(UNFINISHED_RETRY_SECONDS, "too many unfinished jobs; wait for some to finish"),
  invalid_resources: (refusal) => new InvalidRequestError("the job is invalid", refusal.details),
  // Only when the user's shards grew again and again while this request looked for its key.
  dependency_not_created: () =>
    new ConflictError('a job this one depends on ("@N") was not created, so this one was not either'),
  stale_shards: () =>
    new RateLimitedError(STALE_SHARDS_RETRY_SECONDS, "the user's shards are growing; send it again"),
};
