// The OpenAPI entries of a job's controls (PATCH, pause, resume, run, retry) and the bulk ones.
// Gathered with the others in src/api/operations.ts. Examples: each operation's body and answers carry one
// (Swagger UI's "Try it out" sends the body's), those shared by several routes in operation-examples.ts;
// test/integration/openapi-examples.test.ts parses each and sends the submit examples through the app.
import { JOB_EXAMPLE, jobExample, SCHEDULED_JOB_EXAMPLE } from "../operation-examples";
import { jobId, type Operation, type RouteKey } from "./operation";

export const JOB_CONTROL_OPERATIONS: Record<RouteKey, Operation> = {
  "PATCH /v1/jobs/:id": {
    summary: "Change a job",
    description:
      "Any of the submit fields but `type` and `result_location` (null clears a clearable one). Applies " +
      "to the next attempt or occurrence: an attempt already queued or running keeps what it started " +
      "with. A schedule change recomputes `run_at`. The job with the change must pass the submit rules.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: { schema: "PatchJob", example: { priority: 90, labels: { team: "billing", tier: "gold" } } },
    ok: {
      200: {
        description: "the job, changed",
        schema: "Job",
        example: jobExample({
          ...SCHEDULED_JOB_EXAMPLE,
          priority: 90,
          labels: { team: "billing", tier: "gold" },
        }),
      },
    },
    errors: { 404: "no such job (or another user's)", 409: "the job has already finished" },
  },
  "POST /v1/jobs/:id/pause": {
    summary: "Pause a job",
    description:
      "Nothing is dispatched: a queued dispatch is withdrawn (its units released); a running attempt " +
      "finishes and its report is accepted; a recurring job then stays paused.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: {
      200: {
        description: "the job, paused",
        schema: "Job",
        example: jobExample({ ...SCHEDULED_JOB_EXAMPLE, status: "paused", next_run_at: null }),
      },
    },
    errors: { 404: "no such job (or another user's)", 409: "the job has already finished" },
  },
  "POST /v1/jobs/:id/resume": {
    summary: "Resume a paused job",
    description:
      "A recurring job goes to its next occurrence at or after now (missed ones are skipped, never " +
      "burst); a one-shot job to its run_at, or now if that has passed.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: { 200: { description: "the job", schema: "Job", example: SCHEDULED_JOB_EXAMPLE } },
    errors: { 404: "no such job (or another user's)", 409: "the job has already finished" },
  },
  "POST /v1/jobs/:id/run": {
    summary: "Run a job now",
    description:
      "A scheduled one-shot job moves its run_at to now; a recurring job gets one extra occurrence now " +
      "without shifting its schedule.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: { 200: { description: "the job", schema: "Job", example: SCHEDULED_JOB_EXAMPLE } },
    errors: {
      404: "no such job (or another user's)",
      409: "the job is queued, running, paused, finished, or still waits on its dependencies (blocked_by)",
    },
  },
  "POST /v1/jobs/:id/retry": {
    summary: "Retry a failed or cancelled one-shot job",
    description: "It runs again now as a new occurrence with current_retries reset; its attempts are kept.",
    tag: "jobs",
    auth: "user",
    params: { id: jobId },
    body: "none",
    ok: {
      200: {
        description: "the job, scheduled",
        schema: "Job",
        example: jobExample({ ...SCHEDULED_JOB_EXAMPLE, runs: 1, attempts: JOB_EXAMPLE.attempts }),
      },
    },
    errors: {
      404: "no such job (or another user's)",
      409: "not a failed or cancelled one-shot job, or a pool it names can no longer hold it",
    },
  },
  "POST /v1/jobs/cancel": {
    summary: "Cancel every matching job",
    description:
      "Applied on the user's shards (not the listing index), in bounded steps between which each shard " +
      "serves its other requests; answered once every matching job is cancelled. `matched` counts the " +
      "jobs this request cancelled, so repeating it matches 0.",
    tag: "jobs",
    auth: "user",
    body: { schema: "JobFilter", example: { status: "scheduled", labels: { team: "billing" } } },
    ok: { 200: { description: "how many jobs were cancelled", schema: "Matched", example: { matched: 12 } } },
  },
  "POST /v1/jobs/retry": {
    summary: "Retry every matching failed or cancelled one-shot job",
    description:
      "Applied on the user's shards (not the listing index), in bounded steps like the bulk cancel; " +
      "`matched` counts the jobs retried. A retried job is unfinished again: when the matching jobs " +
      "would take a shard past its cap on unfinished jobs (MAX_UNFINISHED_JOBS, or the user's own " +
      "max_unfinished_jobs), the request is refused with 409, the message giving the numbers, and " +
      "nothing is retried; narrow the filter (created_before, labels, ids) or wait for jobs to finish.",
    tag: "jobs",
    auth: "user",
    body: {
      schema: "JobFilter",
      example: { status: "failed", created_before: "2026-12-04T00:00:00Z", labels: { team: "billing" } },
    },
    ok: { 200: { description: "how many jobs were retried", schema: "Matched", example: { matched: 3 } } },
    errors: {
      409: "the matching jobs would take a shard past its cap on unfinished jobs; nothing was retried",
    },
  },
};
