import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Every index database wrangler.toml declares: tests that spread users over them use them all.
const testEnv = env as unknown as Record<string, D1Database> & {
  TEST_D1_MIGRATIONS: Parameters<typeof applyD1Migrations>[1];
};
for (const binding of ["INDEX_DB", "INDEX_DB_1", "INDEX_DB_2", "INDEX_DB_3"]) {
  const db = testEnv[binding];
  if (!db) throw new Error(`no ${binding} binding in the test environment`);
  await applyD1Migrations(db, testEnv.TEST_D1_MIGRATIONS);
}
