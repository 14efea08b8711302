// Configuration: every variable and secret the Worker reads, parsed with zod once per env object.
// Variables arrive as strings (wrangler.toml [vars], .dev.vars); an absent variable takes its default,
// an invalid one is an error (never silently replaced by the default), and a secret has no default.
// Adding a variable is one line in Settings (or Secrets), plus its row in docs/architecture.md.
import { z } from "zod";
import { MAX_SHARDS } from "./core/ids";
import type { Env } from "./env";

const decimal = /^\d+(\.\d+)?$/;
const integer = /^\d+$/;

/** A non-negative number such as "30" or "0.5" (a TOML number is accepted too); above 0 if `positive`. */
const amount = (fallback: number, { positive = false } = {}) =>
  z
    .union([z.number(), z.string().regex(decimal, "must be a non-negative number").transform(Number)])
    .pipe(positive ? z.number().positive() : z.number().nonnegative())
    .default(fallback);

/** A whole number in [min, max]. */
const whole = (fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union([z.number(), z.string().regex(integer, "must be a whole number").transform(Number)])
    .pipe(z.int().min(min).max(max))
    .default(fallback);

const flag = (fallback: boolean) =>
  z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]).default(fallback);

/** An https URL. */
const httpsUrl = (fallback: string) =>
  z
    .string()
    .refine((s) => {
      try {
        return new URL(s).protocol === "https:";
      } catch {
        return false;
      }
    }, "must be an https URL")
    .default(fallback);

const secret = z
  .string({ error: (issue) => (issue.input === undefined ? "is missing" : "must be a string") })
  .refine((value) => value.trim() !== "", "is empty");

const SettingsFields = z.object({
  SHARDS_PER_USER: whole(1, 1, MAX_SHARDS),
  ALLOW_PRIVATE_TARGETS: flag(false),
  /**
   * Resolve each http target's host (and every redirect hop's, and callbacks') over DNS-over-HTTPS
   * before calling it, and refuse a name with a private answer (src/executors/host-check.ts). For
   * runtimes whose egress reaches private networks (docs/architecture.md "Private hosts by name").
   */
  TARGET_DNS_CHECK: flag(false),
  /** The DoH JSON endpoint TARGET_DNS_CHECK asks: best the resolver the runtime itself uses. */
  TARGET_DNS_RESOLVER: httpsUrl("https://cloudflare-dns.com/dns-query"),
  DISPATCH_DEADLINE_SECONDS: amount(30),
  LEASE_GRACE_SECONDS: amount(10),
  HEARTBEAT_INTERVAL_SECONDS: amount(10, { positive: true }),
  HEARTBEAT_TIMEOUT_SECONDS: amount(30, { positive: true }),
  DISPATCH_BATCH_SIZE: whole(100),
  DISPATCH_WINDOW: whole(200),
  PRIORITY_AGING_SECONDS: amount(1),
  INDEX_FLUSH_DELAY_MS: whole(2000, 0),
  MAX_UNFINISHED_JOBS: whole(100_000),
  /**
   * Failed authentication (a wrong API key or admin token) per client address and per claimed user, in
   * each isolate (src/api/auth-limits.ts): this many at once, refilled at this many per window; past
   * them a 429 with Retry-After, before any Durable Object is asked.
   */
  AUTH_FAILURE_LIMIT: whole(20, 1, 1_000_000),
  AUTH_FAILURE_WINDOW_SECONDS: whole(60, 1, 86_400),
  /** The most pools a user has (an admin can set another per user). */
  MAX_POOLS: whole(100, 1, 100_000),
  LOG_OPERATIONS: flag(false),
  /** One `attempt_finished` line per attempt, besides the consumer's line per batch and shard. */
  LOG_ATTEMPTS: flag(false),
  /**
   * How long a report may wait for the other running attempts of its shard in the same consumer batch,
   * so that they share one finish request (src/consumer/report-batcher.ts); 0 sends each at once.
   */
  REPORT_LINGER_MS: whole(20, 0, 10_000),
  /** Count each shard request's SQLite rows even without LOG_OPERATIONS (the tests read the counts). */
  COUNT_SQL_ROWS: flag(false),
  /**
   * Tests: each shard statement over the jobs table is planned (EXPLAIN QUERY PLAN) the first time it
   * runs, and one that would scan the whole table throws (src/metering/sql-meter.ts): a query of the
   * partial jobs_wake index that forgets its IN_WAKE term fails the test that runs it.
   */
  CHECK_QUERY_PLANS: flag(false),
  FINISHED_RETENTION_SECONDS: whole(604_800),
  /** Dispatch queues in use (bindings DISPATCH, DISPATCH_1.. in wrangler.toml, which declares 4). */
  DISPATCH_QUEUES: whole(1, 1, 64),
  /** A shard taking in or sending out this many jobs a second (over 10 s) asks for more shards. */
  HOT_SHARD_JOBS_PER_SECOND: whole(150),
  /** The most shards a user grows to by itself (an admin can set another per user, or set shards). */
  SHARD_CEILING: whole(16, 1, MAX_SHARDS),
  /** Index databases new users are assigned to (bindings INDEX_DB, INDEX_DB_1..; wrangler.toml declares 4). */
  INDEX_DATABASES: whole(1, 1, 64),
  ARCHIVE_FINISHED: flag(false),
});

// Two heartbeats must fit in the timeout, or a live attempt is given up whenever one is late.
const SettingsSchema = SettingsFields.refine(
  (c) => c.HEARTBEAT_INTERVAL_SECONDS * 2 < c.HEARTBEAT_TIMEOUT_SECONDS,
  { path: ["HEARTBEAT_INTERVAL_SECONDS"], message: "must be less than half of HEARTBEAT_TIMEOUT_SECONDS" },
);

const SecretsSchema = z.object({
  ADMIN_TOKEN: secret,
  CURSOR_SECRET: secret,
});

/** The variables, typed, with their defaults applied. */
export type Config = z.output<typeof SettingsSchema>;
/** The secrets: only the API reads them. */
export type Secrets = z.output<typeof SecretsSchema>;

/** What is wrong with the configuration: one problem per variable, naming it, never its value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

function parser<S extends z.ZodType>(schema: S) {
  const parsed = new WeakMap<object, z.output<S> | ConfigError>();
  return (env: Env): z.output<S> => {
    let entry = parsed.get(env);
    if (entry === undefined) {
      const result = schema.safeParse(env);
      entry = result.success
        ? result.data
        : new ConfigError(result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`));
      parsed.set(env, entry);
    }
    if (entry instanceof ConfigError) throw entry;
    return entry;
  };
}

/**
 * The variables; throws ConfigError if one is invalid. The shard and the consumer read only these:
 * a missing secret must not stop the dispatch of jobs already accepted.
 */
export const configOf: (env: Env) => Config = parser(SettingsSchema);

/** The secrets; throws ConfigError if one is missing or empty. */
export const secretsOf: (env: Env) => Secrets = parser(SecretsSchema);

/** How often the consumer heartbeats a running attempt (the schema keeps it below half the timeout). */
export function heartbeatIntervalMs(config: Config): number {
  return config.HEARTBEAT_INTERVAL_SECONDS * 1000;
}
