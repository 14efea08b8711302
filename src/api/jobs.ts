// /v1/jobs: submit (one; many in jobs-batch.ts), view, its result, cancel (the user's shards only) and
// list (the D1 index). PATCH, pause, resume, run, retry and the bulk forms are in job-controls.ts.
import { Hono } from "hono";
import type { z } from "zod";
import { storedResultKey } from "../core/result-location";
import { decodeCursor, encodeCursor } from "../index-store/cursor";
import { indexDatabase } from "../index-store/databases";
import { listJobs } from "../index-store/listing";
import { log } from "../log";
import { shardStub } from "../shard/address";
import { type AppEnv, requireUser, subprotocolKey } from "./auth";
import { readJson } from "./body";
import {
  ConflictError,
  IndexUnavailableError,
  InvalidRequestError,
  NotFoundError,
  okOrThrow,
  UpgradeRequiredError,
} from "./errors";
import { submitOne } from "./idempotency";
import { jobControls } from "./job-controls";
import { routeJob } from "./job-route";
import { batchSubmit } from "./jobs-batch";
import { IdempotencyKey, ListQuery } from "./schemas";
import { submitRefusals } from "./submission";
import { validated } from "./validate";

export const jobs = new Hono<AppEnv>();
jobs.use("*", requireUser);

jobs.route("/batch", batchSubmit);
jobs.route("/", jobControls);

jobs.post("/", async (c) => {
  const rawKey = c.req.header("idempotency-key");
  const key =
    rawKey === undefined
      ? undefined
      : validated(IdempotencyKey, rawKey, "bad Idempotency-Key header", ["Idempotency-Key"]);
  // Read raw, not through validatedJson: prepareSubmission validates the body and hashes it as sent.
  const out = okOrThrow(await submitOne(c, await readJson(c), key), submitRefusals);
  // 200: a replay of the same key, or a debounced submit that replaced its key's pending job.
  return c.json(out.view, out.replayed || out.replaced ? 200 : 201);
});

jobs.get("/:id", async (c) => {
  const { userId } = c.get("principal");
  const id = c.req.param("id");
  const { view } = okOrThrow(await shardStub(c.env, userId, await routeJob(c, id)).get(id), {
    not_found: () => new NotFoundError(),
  });
  return c.json(view);
});

/**
 * The latest occurrence's result as stored: inline as the job shows it, or, with result_location,
 * the object the consumer wrote to the results bucket, byte for byte. 404 while there is none (not
 * yet succeeded, or an executor that returns nothing, like noop).
 */
jobs.get("/:id/result", async (c) => {
  const { userId } = c.get("principal");
  const id = c.req.param("id");
  const { view } = okOrThrow(await shardStub(c.env, userId, await routeJob(c, id)).get(id), {
    not_found: () => new NotFoundError(),
  });
  if (view.result === null) throw new NotFoundError("the job has no result yet");
  const key = view.result_location === null ? null : storedResultKey(view.result, view.id);
  if (key === null) return c.json(view.result);
  const stored = await c.env.RESULTS.get(key);
  if (!stored) throw new NotFoundError("the stored result is no longer in the results bucket");
  return new Response(stored.body, {
    headers: { "content-type": stored.httpMetadata?.contentType ?? "application/json" },
  });
});

/** Most dependents GET /v1/jobs/:id/dependents lists. */
export const DEPENDENTS_SHOWN = 1000;

/**
 * GET /v1/jobs/:id/dependents (additive): the user's jobs that named this one in depends_on, from the
 * job's own shard (which each dependent told when it started waiting), at most DEPENDENTS_SHOWN.
 */
jobs.get("/:id/dependents", async (c) => {
  const { userId } = c.get("principal");
  const id = c.req.param("id");
  const stub = shardStub(c.env, userId, await routeJob(c, id));
  const { dependents } = okOrThrow(await stub.dependents(id, DEPENDENTS_SHOWN), {
    not_found: () => new NotFoundError(),
  });
  return c.json({ dependents });
});

jobs.delete("/:id", async (c) => {
  const { userId } = c.get("principal");
  const id = c.req.param("id");
  const { view } = okOrThrow(await shardStub(c.env, userId, await routeJob(c, id)).cancel(id), {
    not_found: () => new NotFoundError(),
    finished: () => new ConflictError("the job has already finished"),
  });
  return c.json(view);
});

/**
 * GET /v1/jobs/:id/watch: a WebSocket to the job's shard, which sends the job object at once and on
 * each change until the job is finished (src/shard/watchers.ts). The user is checked here and the job
 * on its shard, before the upgrade: another user's job, or no such job, is a 404 and no socket opens.
 */
jobs.get("/:id/watch", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new UpgradeRequiredError();
  const { userId } = c.get("principal");
  const id = c.req.param("id");
  const stub = shardStub(c.env, userId, await routeJob(c, id));
  // The shard answers the upgrade, or a 404 in the error envelope when the user has no such job there
  // (src/shard/watchers.ts): no socket is opened for it, and no separate read is needed first.
  // The subprotocol the browser offered its key in is the one the answer must select.
  const protocol = subprotocolKey(c)?.protocol;
  const url = `https://shard/watch?job=${encodeURIComponent(id)}${protocol ? `&protocol=${encodeURIComponent(protocol)}` : ""}`;
  return stub.fetch(new Request(url, { headers: { upgrade: "websocket" } }));
});

/**
 * What a listing cursor is bound to: the user and every filter. Without name or label filters it is
 * the scope cursors had before those filters existed, so cursors already handed out stay valid.
 */
function listingScope(userId: string, q: z.output<typeof ListQuery>): string {
  const base = `${userId}|${q.status ?? ""}|${q.type ?? ""}`;
  const filtered =
    q.name === undefined && q.label === undefined
      ? base
      : `${base}|${JSON.stringify([q.name ?? null, (q.label ?? []).map((l) => `${l.key}:${l.value}`).sort()])}`;
  // The time bounds as instants (two spellings of one instant are one scope); none: the scope above.
  const bounds = createdBounds(q);
  if (bounds.createdAfter === undefined && bounds.createdBefore === undefined) return filtered;
  return `${filtered}|created:${bounds.createdAfter ?? ""}..${bounds.createdBefore ?? ""}`;
}

/** created_after / created_before as epoch milliseconds (the index's created_at). */
function createdBounds(q: z.output<typeof ListQuery>): { createdAfter?: number; createdBefore?: number } {
  return {
    ...(q.created_after === undefined ? {} : { createdAfter: Date.parse(q.created_after) }),
    ...(q.created_before === undefined ? {} : { createdBefore: Date.parse(q.created_before) }),
  };
}

jobs.get("/", async (c) => {
  const { userId, indexDb } = c.get("principal");
  const q = validated(ListQuery, { ...c.req.query(), label: c.req.queries("label") }, "bad listing query");
  const secret = c.get("secrets").CURSOR_SECRET;
  const scope = listingScope(userId, q);
  const after = q.cursor === undefined ? undefined : await decodeCursor(secret, scope, q.cursor);
  if (after === null)
    throw new InvalidRequestError("the cursor is invalid", [
      { path: "cursor", message: "tampered or foreign" },
    ]);
  // Inside the promise chain: an unusable index database is the same 503 as D1 being down.
  const page = await Promise.resolve()
    .then(() =>
      listJobs(indexDatabase(c.env, indexDb), {
        userId,
        status: q.status,
        type: q.type,
        namePrefix: q.name,
        labels: q.label,
        ...createdBounds(q),
        limit: q.limit,
        after,
      }),
    )
    .catch((err: unknown) => {
      log("listing_failed", { user_id: userId, error: err });
      throw new IndexUnavailableError();
    });
  return c.json({
    jobs: page.jobs,
    next_cursor: page.next ? await encodeCursor(secret, scope, page.next) : null,
  });
});
