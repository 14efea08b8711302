// The Worker: the HTTP API, the dispatch queue consumer, and the TaskShard Durable Object class.
import { app } from "./api/app";
import { handleDispatchBatch } from "./consumer/consumer";
import type { Env } from "./env";
import { logOperations, recordOperations } from "./metering/operations";

export { TaskShard } from "./shard/task-shard";

export default {
  fetch: (request, env, ctx) => {
    logOperations(env.LOG_OPERATIONS === "true");
    recordOperations("api", { workerInvocations: 1 });
    return app.fetch(request, env, ctx);
  },
  queue: (batch, env, _ctx: ExecutionContext) => {
    logOperations(env.LOG_OPERATIONS === "true");
    recordOperations("consume", { workerInvocations: 1 });
    return handleDispatchBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;
