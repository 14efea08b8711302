// A NewJob as submit would build it, for tests that insert jobs straight into a shard's SQLite.
import type { NewJob } from "../../src/core/job";

/** A builder of plain noop jobs for `userId`, due at `runAt`, with no retries; `fields` override. */
export function newJobs(userId: string, runAt: number) {
  return (id: string, fields: Partial<NewJob> = {}): NewJob => ({
    id,
    userId,
    name: null,
    type: "noop",
    priority: 50,
    payload: null,
    runAt,
    intervalSeconds: null,
    cron: null,
    timezone: null,
    maxRetries: 0,
    retryDelaySeconds: 1,
    timeoutSeconds: 5,
    resultLocation: null,
    resources: {},
    finishedRetentionSeconds: 604_800,
    indexDb: 0,
    labels: {},
    callbackUrl: null,
    retryPolicy: "all",
    expiresAfterSeconds: null,
    flowControl: null,
    debounce: null,
    overlap: "skip",
    catchUp: "none",
    catchUpWindowSeconds: 3600,
    dependsOn: null,
    onDependencyFailure: "fail",
    blockedBy: null,
    traceparent: null,
    tracestate: null,
    ...fields,
  });
}
