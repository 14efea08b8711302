// The Worker: the HTTP API, the dispatch queue consumer, and the TaskShard Durable Object class.
import { app } from "./api/app";
import { configOf } from "./config";
import { handleDispatchBatch } from "./consumer/consumer";
import type { Env } from "./env";
import { logOperations, recordOperations } from "./metering/operations";

export { TaskShard } from "./shard/billing";

/** Every invocation is billed; with LOG_OPERATIONS on it is also logged. */
function countInvocation(env: Env, phase: "api" | "consume"): void {
  let logged = false;
  try {
    logged = configOf(env).LOG_OPERATIONS;
  } catch {
    // A broken configuration is answered where it is used: the API's 500 and config_invalid, the
    // consumer's retried messages. Counting this invocation must not pre-empt that answer.
  }
  logOperations(logged);
  recordOperations(phase, { workerInvocations: 1 });
}

export default {
  fetch: (request, env, ctx) => {
    countInvocation(env, "api");
    return app.fetch(request, env, ctx);
  },
  queue: (batch, env, _ctx: ExecutionContext) => {
    countInvocation(env, "consume");
    return handleDispatchBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;
