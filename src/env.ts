// Bindings and variables, as declared in wrangler.toml. Variables arrive as strings and are read
// only through src/config.ts, which parses them.
export interface Env {
  /** The TaskShard objects; src/shard/address.ts hands out their stubs typed by the RPC contract. */
  TASK_SHARD: DurableObjectNamespace;
  /** Dispatch queue 0; queues 1.. are DISPATCH_1.. (DISPATCH_QUEUES of them in use). */
  DISPATCH: Queue<unknown>;
  DISPATCH_1?: Queue<unknown>;
  DISPATCH_2?: Queue<unknown>;
  DISPATCH_3?: Queue<unknown>;
  /** Index database 0; databases 1.. are INDEX_DB_1.. (INDEX_DATABASES of them take new users). */
  INDEX_DB: D1Database;
  INDEX_DB_1?: D1Database;
  INDEX_DB_2?: D1Database;
  INDEX_DB_3?: D1Database;
  RESULTS: R2Bucket;
  /** The dashboard's built files (wrangler.toml [assets]); absent where no assets are configured. */
  ASSETS?: Fetcher;
  KEY_RATE_LIMITER?: RateLimit;
  ADMIN_TOKEN?: string;
  CURSOR_SECRET?: string;
  SHARDS_PER_USER?: string;
  ALLOW_PRIVATE_TARGETS?: string;
  TARGET_DNS_CHECK?: string;
  TARGET_DNS_RESOLVER?: string;
  DISPATCH_DEADLINE_SECONDS?: string;
  LEASE_GRACE_SECONDS?: string;
  HEARTBEAT_INTERVAL_SECONDS?: string;
  HEARTBEAT_TIMEOUT_SECONDS?: string;
  DISPATCH_BATCH_SIZE?: string;
  INDEX_FLUSH_DELAY_MS?: string;
  DISPATCH_WINDOW?: string;
  PRIORITY_AGING_SECONDS?: string;
  MAX_UNFINISHED_JOBS?: string;
  MAX_POOLS?: string;
  AUTH_FAILURE_LIMIT?: string;
  AUTH_FAILURE_WINDOW_SECONDS?: string;
  LOG_OPERATIONS?: string;
  LOG_ATTEMPTS?: string;
  REPORT_LINGER_MS?: string;
  COUNT_SQL_ROWS?: string;
  CHECK_QUERY_PLANS?: string;
  FINISHED_RETENTION_SECONDS?: string;
  ARCHIVE_FINISHED?: string;
  DISPATCH_QUEUES?: string;
  INDEX_DATABASES?: string;
  HOT_SHARD_JOBS_PER_SECOND?: string;
  SHARD_CEILING?: string;
}
