// /v1/jobs: submit, view, cancel (the user's shards only) and list (the D1 index).
import { Hono } from "hono";
import { sha256Hex, shardOfJobId } from "../core/ids";
import { decodeCursor, encodeCursor } from "../index-store/cursor";
import { listJobs } from "../index-store/listing";
import { log } from "../log";
import { HOME_SHARD, shardStub } from "../shard/address";
import { type AppEnv, requireUser } from "./auth";
import { readJson } from "./body";
import {
  ConflictError,
  IndexUnavailableError,
  InvalidRequestError,
  NotFoundError,
  okOrThrow,
  RateLimitedError,
} from "./errors";
import { toNewJob } from "./job-input";
import { IdempotencyKey, ListQuery } from "./schemas";
import { validated } from "./validate";

export const jobs = new Hono<AppEnv>();
jobs.use("*", requireUser);

const UNFINISHED_RETRY_SECONDS = 60;

/** JSON with sorted keys, so the same body in another key order is still "the same body". */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
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

jobs.post("/", async (c) => {
  const { userId, shards } = c.get("principal");
  const rawKey = c.req.header("idempotency-key");
  const key =
    rawKey === undefined
      ? undefined
      : validated(IdempotencyKey, rawKey, "bad Idempotency-Key header", ["Idempotency-Key"]);
  // Read raw, not through the schema: a replay must match the body as sent, defaults not filled in.
  const body = await readJson(c);
  const keyHash = key === undefined ? undefined : await sha256Hex(key);
  const shard = chooseShard(body, keyHash, shards);
  const spec = toNewJob(body, {
    userId,
    shard,
    now: Date.now(),
    allowPrivateTargets: c.get("config").ALLOW_PRIVATE_TARGETS,
  });
  const idem = keyHash ? { key: keyHash, bodyHash: await sha256Hex(canonical(body)) } : undefined;
  const out = okOrThrow(await shardStub(c.env, userId, shard).submit(spec, idem), {
    idempotency_conflict: () => new ConflictError("this Idempotency-Key was used with a different body"),
    too_many_unfinished: () =>
      new RateLimitedError(UNFINISHED_RETRY_SECONDS, "too many unfinished jobs; wait for some to finish"),
    invalid_resources: (refusal) => new InvalidRequestError("the job is invalid", refusal.details),
  });
  return c.json(out.view, out.replayed ? 200 : 201);
});

/** The shard a job id routes to for this user, or a 404 without any RPC. */
function routeJob(id: string, shards: number): number {
  const shard = shardOfJobId(id);
  if (shard === null || shard >= shards) throw new NotFoundError();
  return shard;
}

jobs.get("/:id", async (c) => {
  const { userId, shards } = c.get("principal");
  const id = c.req.param("id");
  const { view } = okOrThrow(await shardStub(c.env, userId, routeJob(id, shards)).get(id), {
    not_found: () => new NotFoundError(),
  });
  return c.json(view);
});

jobs.delete("/:id", async (c) => {
  const { userId, shards } = c.get("principal");
  const id = c.req.param("id");
  const { view } = okOrThrow(await shardStub(c.env, userId, routeJob(id, shards)).cancel(id), {
    not_found: () => new NotFoundError(),
    finished: () => new ConflictError("the job has already finished"),
  });
  return c.json(view);
});

jobs.get("/", async (c) => {
  const { userId } = c.get("principal");
  const q = validated(ListQuery, c.req.query(), "bad listing query");
  const secret = c.get("secrets").CURSOR_SECRET;
  const scope = `${userId}|${q.status ?? ""}|${q.type ?? ""}`;
  const after = q.cursor === undefined ? undefined : await decodeCursor(secret, scope, q.cursor);
  if (after === null)
    throw new InvalidRequestError("the cursor is invalid", [
      { path: "cursor", message: "tampered or foreign" },
    ]);
  const page = await listJobs(c.env.INDEX_DB, {
    userId,
    status: q.status,
    type: q.type,
    limit: q.limit,
    after,
  }).catch((err: unknown) => {
    log("listing_failed", { user_id: userId, error: err });
    throw new IndexUnavailableError();
  });
  return c.json({
    jobs: page.jobs,
    next_cursor: page.next ? await encodeCursor(secret, scope, page.next) : null,
  });
});
