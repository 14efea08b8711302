import { availableParallelism } from "node:os";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { assetsDirectory, copySwaggerUi, ensureAssetsDirectory } from "./scripts/lib/site.mjs";

/** FC_SEED fixes the property tests' seed (.ci/run does); otherwise each run draws its own. */
function fastCheckSeed(): string {
  if (process.env.FC_SEED === undefined) {
    // Kept in the environment: vitest evaluates this file more than once per run.
    process.env.FC_SEED = String((Math.random() * 2 ** 31) | 0);
    console.error(
      `fast-check seed ${process.env.FC_SEED} (replay a run: FC_SEED=${process.env.FC_SEED} npm test)`,
    );
  }
  return process.env.FC_SEED;
}

export default defineConfig(async () => {
  const seed = fastCheckSeed();
  const d1Migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations/index"));
  // src/ in Miniflare (the workers projects): wrangler.toml's Worker with these overrides, and its
  // [assets] folder (dist/site). The dashboard in it is built by npm run dev (the browser test's); the
  // tests need only Swagger UI's files for /docs, copied here (two files, milliseconds).
  ensureAssetsDirectory(assetsDirectory);
  copySwaggerUi(assetsDirectory);
  const workersPool = {
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      // Tests drive the consumer themselves (createMessageBatch), so dispatched messages go
      // to a queue nothing consumes instead of racing the test.
      queueProducers: {
        DISPATCH: { queueName: "test-dispatch-sink" },
        DISPATCH_1: { queueName: "test-dispatch-sink" },
        DISPATCH_2: { queueName: "test-dispatch-sink" },
        DISPATCH_3: { queueName: "test-dispatch-sink" },
      },
      // Suites send thousands of requests with one key; the 429 path is tested with a stub.
      ratelimits: {
        KEY_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000, period: 60 as const } },
      },
      bindings: {
        ADMIN_TOKEN: "test-admin-token",
        CURSOR_SECRET: "test-cursor-secret",
        ALLOW_PRIVATE_TARGETS: "true",
        // Suites send wrong keys and tokens from one (absent) client address, in files that share one
        // isolate; the failed-login limits are tested with an env of their own (hardening.test.ts).
        AUTH_FAILURE_LIMIT: "1000000",
        TEST_D1_MIGRATIONS: d1Migrations,
        FC_SEED: seed,
        // One queue, so tests that stand in for DISPATCH see every message (dispatch-queues.test.ts
        // covers several).
        DISPATCH_QUEUES: "1",
        // One index database, so tests that read INDEX_DB see every user (index-databases.test.ts
        // spreads users over four).
        INDEX_DATABASES: "1",
        // The shards count the SQLite rows each request reads and writes (src/metering/sql-meter.ts),
        // as with LOG_OPERATIONS but without its log lines: the cost budget and billing tests read them.
        COUNT_SQL_ROWS: "true",
        // Every shard statement is planned the first time it runs; a full scan of jobs throws.
        CHECK_QUERY_PLANS: "true",
        // src/log.ts's lines in tests: captured, printed for a failing test (test/support/log-capture.ts);
        // LOG_LINES=all prints them all as before, LOG_LINES=strict fails a test's undeclared error events.
        LOG_LINES: process.env.LOG_LINES ?? "capture",
      },
    },
  };
  /** Files that read every user (the admin's listing) need a world of their own; see "workers". */
  const ownWorld = ["test/integration/admin-users.test.ts", "test/integration/admin-metrics.test.ts"];
  const workersSetup = [
    "./test/setup/log-capture.ts",
    "./test/setup/apply-migrations.ts",
    "./test/setup/fast-check.ts",
  ];
  return {
    test: {
      // At least two files at a time (vitest's default is one on two cores): the e2e files mostly wait
      // on their servers, and the shard's model test alone takes two minutes of one core.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      projects: [
        {
          plugins: [cloudflareTest(workersPool)],
          test: {
            name: "workers",
            include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
            exclude: ownWorld,
            setupFiles: workersSetup,
            // Files run one after another in the same Miniflare (a fresh one costs about two seconds a
            // file): each makes its own users, so none sees another's jobs, pools or index rows.
            isolate: false,
          },
        },
        {
          plugins: [cloudflareTest(workersPool)],
          test: { name: "workers-own-world", include: ownWorld, setupFiles: workersSetup },
        },
        {
          // The harnesses' own logic (target, client, log events, result names, the soak's verdicts), the
          // README's code (test/docs), in Node as a reader runs it, the OpenAPI document's validity and
          // the typed client's offline parts.
          test: {
            name: "tooling",
            include: [
              "test/tools/**/*.test.ts",
              "test/docs/**/*.test.ts",
              "test/node/**/*.test.ts",
              "test/client/unit/**/*.test.ts",
              "test/dashboard/**/*.test.ts",
            ],
            environment: "node",
            // Small files, one after another in the same process (a fresh one costs about a second).
            isolate: false,
          },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts", "test/client/e2e/**/*.test.ts"],
            // One `npm run dev` server for the files that neither crash it nor need the dashboard,
            // started in the background at the beginning of the run (test/e2e/dev-fixture.ts).
            globalSetup: ["./test/e2e/shared-server.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        {
          // The dashboard in Debian's Chromium against npm run dev's server (which builds it first): its
          // own step, `npm run test:browser` (.ci/run runs it after npm test), since it needs Chromium.
          test: {
            name: "browser",
            include: ["test/browser/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
