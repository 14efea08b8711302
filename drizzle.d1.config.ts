import { defineConfig } from "drizzle-kit";

// D1 index migrations (migrations/index): applied by `wrangler d1 migrations apply` (npm run dev) and by the tests.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/index-store/schema.ts",
  out: "./migrations/index",
});
