// /v1/jobs controls: PATCH /:id, POST /:id/pause|resume|run|retry, and the bulk POST /cancel and
// POST /retry. Each touches only the user's shards (never the D1 index): a single job is one RPC to
// the shard its id names; a bulk action asks every shard of the user that can hold a match.
import { type Context, Hono } from "hono";
import { shardStub } from "../shard/address";
import type { BulkRetryResult, ControlResult, JobFilter, TaskShardRpc } from "../shard/rpc";
import { type AppEnv, freshPrincipal } from "./auth";
import { readJson } from "./body";
import { ConflictError, InvalidRequestError, NotFoundError, okOrThrow, type RefusalErrors } from "./errors";
import { toJobPatch } from "./job-input";
import { routeJob, shardsOfIds } from "./job-route";
import { type JobFilterInput, JobFilterSchema } from "./schemas";
import { validatedJson } from "./validate";

/** Mounted under /v1/jobs, whose middleware has already authenticated the user. */
export const jobControls = new Hono<AppEnv>();

const finished = () => new ConflictError("the job has already finished");

/** What each control's refusal means to a client. */
const controlRefusals: RefusalErrors<ControlResult> = {
  not_found: () => new NotFoundError(),
  finished,
  busy: () => new ConflictError("the job is queued or running"),
  paused: () => new ConflictError("the job is paused; resume it first"),
  blocked: () =>
    new ConflictError(
      "the job waits on dependencies that have not succeeded (blocked_by); it runs after them",
    ),
  not_retryable: () => new ConflictError("only a failed or cancelled one-shot job can be retried"),
  invalid_resources: (r) => new ConflictError(`the job's pools cannot hold it now: ${r.details[0]?.message}`),
};

type ControlName = "pause" | "resume" | "runNow" | "retry";
const CONTROLS: Record<string, ControlName> = {
  pause: "pause",
  resume: "resume",
  run: "runNow",
  retry: "retry",
};

for (const [path, method] of Object.entries(CONTROLS)) {
  jobControls.post(`/:id/${path}`, async (c) => {
    const { userId } = c.get("principal");
    const id = c.req.param("id");
    const shard: TaskShardRpc = shardStub(c.env, userId, await routeJob(c, id));
    const { view } = okOrThrow(await shard[method](id), controlRefusals);
    return c.json(view);
  });
}

jobControls.patch("/:id", async (c) => {
  const { userId } = c.get("principal");
  const id = c.req.param("id");
  const shard = await routeJob(c, id);
  const patch = toJobPatch(await readJson(c), Date.now());
  const { view } = okOrThrow(await shardStub(c.env, userId, shard).patch(id, patch), {
    not_found: () => new NotFoundError(),
    finished,
    invalid: (r) => new InvalidRequestError("the patch is invalid", r.details),
  });
  return c.json(view);
});

/**
 * The filter as the shards take it, and the shards that can hold a match: those the ids name (an id
 * of another user's matches nothing there), or, without ids, every shard the user has now.
 */
async function shardsFor(
  c: Context<AppEnv>,
  filter: JobFilterInput,
): Promise<{ filter: JobFilter; shards: number[] }> {
  const { created_before, ...rest } = filter;
  const shaped: JobFilter = {
    ...rest,
    ...(created_before === undefined ? {} : { createdBefore: Date.parse(created_before) }),
  };
  if (filter.ids) return { filter: shaped, shards: await shardsOfIds(c, filter.ids) };
  // Not the cached count: after growth it may be seconds old and miss the newest shards.
  const { shards } = await freshPrincipal(c);
  return { filter: shaped, shards: Array.from({ length: shards }, (_, i) => i) };
}

jobControls.post("/cancel", async (c) => {
  const { userId } = c.get("principal");
  const body = await validatedJson(c, JobFilterSchema, "the filter is invalid");
  const { filter, shards: asked } = await shardsFor(c, body);
  const results = await Promise.all(asked.map((s) => shardStub(c.env, userId, s).bulkCancel(filter)));
  return c.json({ matched: results.reduce((n, r) => n + r.matched, 0) });
});

/** A retry that would take a shard past its unfinished-jobs cap; `retried`: moved on other shards meanwhile. */
const retryRefusals = (retried: number): RefusalErrors<BulkRetryResult> => ({
  too_many_unfinished: (r) =>
    new ConflictError(
      `retrying the ${r.matching} matching jobs would leave ${r.unfinished + r.matching} unfinished jobs on one ` +
        `of your shards, more than its cap of ${r.cap} (${r.unfinished} are unfinished now); ` +
        (retried > 0
          ? `${retried} were retried on your other shards before it refused. `
          : "nothing was retried. ") +
        "Narrow the filter (created_before, labels, ids) or wait for jobs to finish",
    ),
});

jobControls.post("/retry", async (c) => {
  const body = await validatedJson(c, JobFilterSchema, "the filter is invalid");
  const { filter, shards: asked } = await shardsFor(c, body);
  // After shardsFor, which may have made the principal fresh.
  const { userId, maxUnfinishedJobs } = c.get("principal");
  const stubs = asked.map((s) => shardStub(c.env, userId, s));
  const options = { maxUnfinished: maxUnfinishedJobs ?? undefined };
  // Several shards: each checks its cap before any moves a job, so a refusal changes nothing (a
  // submit racing in between can still make one refuse after others moved; the answer says so).
  if (stubs.length > 1) {
    const checks = await Promise.all(stubs.map((s) => s.bulkRetry(filter, { ...options, dryRun: true })));
    for (const check of checks) okOrThrow(check, retryRefusals(0));
  }
  const results = await Promise.all(stubs.map((s) => s.bulkRetry(filter, options)));
  const matched = results.reduce((n, r) => n + (r.ok ? r.matched : 0), 0);
  for (const r of results) okOrThrow(r, retryRefusals(matched));
  return c.json({ matched });
});
