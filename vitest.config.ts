import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const d1Migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // Tests drive the consumer themselves (createMessageBatch), so dispatched messages go
                // to a queue nothing consumes instead of racing the test.
                queueProducers: { DISPATCH: { queueName: "test-dispatch-sink" } },
                // Suites send thousands of requests with one key; the 429 path is tested with a stub.
                ratelimits: {
                  KEY_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000, period: 60 } },
                },
                bindings: {
                  ADMIN_TOKEN: "test-admin-token",
                  CURSOR_SECRET: "test-cursor-secret",
                  ALLOW_PRIVATE_TARGETS: "true",
                  TEST_D1_MIGRATIONS: d1Migrations,
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
            setupFiles: ["./test/setup/apply-migrations.ts"],
          },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
