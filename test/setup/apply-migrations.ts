import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

const testEnv = env as unknown as {
  INDEX_DB: D1Database;
  TEST_D1_MIGRATIONS: Parameters<typeof applyD1Migrations>[1];
};
await applyD1Migrations(testEnv.INDEX_DB, testEnv.TEST_D1_MIGRATIONS);
