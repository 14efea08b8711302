import type { Env } from "./env";

export { TaskShard } from "./shard/task-shard";

export default {
  async fetch(_req: Request, _env: Env) {
    return new Response("ok");
  },
} satisfies ExportedHandler<Env>;
