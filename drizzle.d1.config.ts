// drizzle-kit runs on demand (`npm run db:generate`, pinned there), not from node_modules, so this file
// imports nothing from it: drizzle-kit reads the plain object.
// D1 index migrations (migrations/index): applied by `wrangler d1 migrations apply` (npm run dev) and by the tests.
export default {
  dialect: "sqlite",
  schema: "./src/index-store/schema.ts",
  out: "./migrations/index",
} as const;
