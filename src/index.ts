// The Worker: the HTTP API, the dispatch queue consumer, and the TaskShard Durable Object class.
import { app } from "./api/app";
import { handleDispatchBatch } from "./consumer/consumer";
import type { Env } from "./env";

export { TaskShard } from "./shard/task-shard";

export default {
  fetch: app.fetch,
  queue: (batch, env, _ctx: ExecutionContext) => handleDispatchBatch(batch, env),
} satisfies ExportedHandler<Env>;
