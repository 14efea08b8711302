// drizzle-kit runs on demand (`npm run db:generate`, pinned there), not from node_modules, so this file
// imports nothing from it: drizzle-kit reads the plain object.
// TaskShard Durable Object migrations (migrations/shard): bundled into the Worker and applied when the object starts.
export default {
  dialect: "sqlite",
  driver: "durable-sqlite",
  schema: "./src/shard/schema.ts",
  out: "./migrations/shard",
} as const;
