// Configuration (src/config.ts): defaults, typed values, loud failures, and the committed files parse.
import { describe, expect, it } from "vitest";
import devVarsExample from "../../.dev.vars.example?raw";
import { ConfigError, configOf, secretsOf } from "../../src/config";
import type { Env } from "../../src/env";
import wranglerToml from "../../wrangler.toml?raw";

const vars = (values: Record<string, unknown>) => values as unknown as Env;

/** The error configOf/secretsOf throws for `env`, or null. */
function problemsOf(parse: (env: Env) => unknown, env: Env): string[] | null {
  try {
    parse(env);
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** `NAME = "value"` lines of wrangler.toml's [vars] table. */
function tomlVars(toml: string): Record<string, string> {
  const table = toml.split(/^\[vars\]$/m)[1]?.split(/^\[/m)[0] ?? "";
  return Object.fromEntries([...table.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
}

/** `NAME=value` lines of a .dev.vars file. */
function dotenvVars(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
}

describe("configOf", () => {
  it("applies today's defaults when nothing is set", () => {
    expect(configOf(vars({}))).toEqual({
      SHARDS_PER_USER: 1,
      ALLOW_PRIVATE_TARGETS: false,
      TARGET_DNS_CHECK: false,
      TARGET_DNS_RESOLVER: "https://cloudflare-dns.com/dns-query",
      DISPATCH_DEADLINE_SECONDS: 30,
      LEASE_GRACE_SECONDS: 10,
      HEARTBEAT_INTERVAL_SECONDS: 10,
      HEARTBEAT_TIMEOUT_SECONDS: 30,
      DISPATCH_BATCH_SIZE: 100,
      DISPATCH_WINDOW: 200,
      PRIORITY_AGING_SECONDS: 1,
      INDEX_FLUSH_DELAY_MS: 2000,
      MAX_UNFINISHED_JOBS: 100_000,
      AUTH_FAILURE_LIMIT: 20,
      AUTH_FAILURE_WINDOW_SECONDS: 60,
      MAX_POOLS: 100,
      LOG_OPERATIONS: false,
      LOG_ATTEMPTS: false,
      REPORT_LINGER_MS: 20,
      COUNT_SQL_ROWS: false,
      CHECK_QUERY_PLANS: false,
      FINISHED_RETENTION_SECONDS: 604_800,
      ARCHIVE_FINISHED: false,
      DISPATCH_QUEUES: 1,
      INDEX_DATABASES: 1,
      HOT_SHARD_JOBS_PER_SECOND: 150,
      SHARD_CEILING: 16,
    });
  });

  it("types what arrives as strings", () => {
    const config = configOf(
      vars({
        ALLOW_PRIVATE_TARGETS: "true",
        PRIORITY_AGING_SECONDS: "0.5",
        DISPATCH_WINDOW: "7",
        SHARDS_PER_USER: 4,
      }),
    );
    expect(config).toMatchObject({
      ALLOW_PRIVATE_TARGETS: true,
      PRIORITY_AGING_SECONDS: 0.5,
      DISPATCH_WINDOW: 7,
      SHARDS_PER_USER: 4,
    });
    expect(configOf(vars({ PRIORITY_AGING_SECONDS: "0", INDEX_FLUSH_DELAY_MS: "0" }))).toMatchObject({
      PRIORITY_AGING_SECONDS: 0,
      INDEX_FLUSH_DELAY_MS: 0,
    });
  });

  it("refuses an invalid value instead of quietly using the default, naming each variable", () => {
    const problems = problemsOf(
      configOf,
      vars({
        ALLOW_PRIVATE_TARGETS: "yes",
        DISPATCH_WINDOW: "0",
        DISPATCH_BATCH_SIZE: "2.5",
        LEASE_GRACE_SECONDS: "-1",
        SHARDS_PER_USER: "1000",
        MAX_UNFINISHED_JOBS: "",
        TARGET_DNS_RESOLVER: "http://1.1.1.1/dns-query",
        AUTH_FAILURE_LIMIT: "0",
      }),
    );
    expect(problems?.map((p) => p.split(" ")[0]).sort()).toEqual([
      "ALLOW_PRIVATE_TARGETS",
      "AUTH_FAILURE_LIMIT",
      "DISPATCH_BATCH_SIZE",
      "DISPATCH_WINDOW",
      "LEASE_GRACE_SECONDS",
      "MAX_UNFINISHED_JOBS",
      "SHARDS_PER_USER",
      "TARGET_DNS_RESOLVER",
    ]);
  });

  it("refuses heartbeat settings that would give up a live attempt", () => {
    expect(problemsOf(configOf, vars({ HEARTBEAT_TIMEOUT_SECONDS: "0" }))?.[0]).toMatch(
      /^HEARTBEAT_TIMEOUT_SECONDS /,
    );
    expect(problemsOf(configOf, vars({ HEARTBEAT_INTERVAL_SECONDS: "15" }))).toEqual([
      "HEARTBEAT_INTERVAL_SECONDS must be less than half of HEARTBEAT_TIMEOUT_SECONDS",
    ]);
    expect(configOf(vars({ HEARTBEAT_INTERVAL_SECONDS: "2", HEARTBEAT_TIMEOUT_SECONDS: "5" }))).toMatchObject(
      { HEARTBEAT_INTERVAL_SECONDS: 2, HEARTBEAT_TIMEOUT_SECONDS: 5 },
    );
  });

  it("parses once per env object", () => {
    const env = vars({ DISPATCH_WINDOW: "9" });
    expect(configOf(env)).toBe(configOf(env));
    expect(configOf(vars({ DISPATCH_WINDOW: "9" }))).not.toBe(configOf(env));
  });

  it("accepts the committed wrangler.toml [vars] and .dev.vars.example as they are", () => {
    const committed = vars({ ...tomlVars(wranglerToml), ...dotenvVars(devVarsExample) });
    expect(Object.keys(tomlVars(wranglerToml))).toContain("MAX_UNFINISHED_JOBS");
    expect(problemsOf(configOf, committed)).toBeNull();
    expect(problemsOf(secretsOf, committed)).toBeNull();
  });
});

describe("secretsOf", () => {
  it("fails loudly when a secret is missing or blank, and never repeats a value", () => {
    expect(problemsOf(secretsOf, vars({}))).toEqual(["ADMIN_TOKEN is missing", "CURSOR_SECRET is missing"]);
    const problems = problemsOf(secretsOf, vars({ ADMIN_TOKEN: "a-token-value", CURSOR_SECRET: "   " }));
    expect(problems).toEqual(["CURSOR_SECRET is empty"]);
    expect(secretsOf(vars({ ADMIN_TOKEN: "a", CURSOR_SECRET: "b" }))).toEqual({
      ADMIN_TOKEN: "a",
      CURSOR_SECRET: "b",
    });
  });

  it("keeps a failure: the same env fails the same way every time", () => {
    const env = vars({ ADMIN_TOKEN: "a" });
    expect(() => secretsOf(env)).toThrow(ConfigError);
    expect(() => secretsOf(env)).toThrow("CURSOR_SECRET is missing");
  });
});
