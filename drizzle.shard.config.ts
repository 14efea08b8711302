import { defineConfig } from "drizzle-kit";

// TaskShard Durable Object migrations (migrations/shard): bundled into the Worker and applied when the object starts.
export default defineConfig({
  dialect: "sqlite",
  driver: "durable-sqlite",
  schema: "./src/shard/schema.ts",
  out: "./migrations/shard",
});
