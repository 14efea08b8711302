// A system under comparison, as the scenarios see it: an HTTP API on 127.0.0.1 speaking the contract
// subset, and tenants (users with API keys). The scenarios know nothing else about either system.

export interface CallReply<T = unknown> {
  status: number;
  body: T;
  /** Round-trip time as the client saw it. */
  ms: number;
}

export interface SystemUnderTest {
  /** "bullmq" or "scheduler": the key of its results. */
  name: "bullmq" | "scheduler";
  /** One request; never throws for an HTTP status (a network error or timeout throws). */
  call<T>(method: string, route: string, key: string, body?: unknown): Promise<CallReply<T>>;
  /**
   * A new tenant with `keys` API keys: in the scheduler a new user (its own shard), in the peer any
   * bearer token. Each scenario has its own, so one scenario's jobs never sit in another's shard.
   */
  tenant(keys: number): Promise<string[]>;
  /** What was started and how (versions, concurrency, settings), for the results file. */
  describe(): Record<string, unknown>;
  /** Server-side problems seen since `from` (log lines naming errors), for the results file. */
  errorsSince(from: number): { count: number; first: string[] };
  /** The process groups the system runs in (its CPU time is read from them: settle.ts). */
  processGroups(): number[];
  stop(): Promise<void>;
}

/**
 * The scheduler's per-key rate limit is 1,200 requests a minute (wrangler.toml); a scenario sends at
 * most this many requests through one key, so it never waits on the limiter.
 */
export const REQUESTS_PER_KEY = 800;

export const keysFor = (requests: number) => Math.max(1, Math.ceil(requests / REQUESTS_PER_KEY));

/** Spreads requests over keys round-robin. */
export const keyFor = (keys: readonly string[], i: number): string => {
  const key = keys[i % keys.length];
  if (key === undefined) throw new Error("a tenant without keys");
  return key;
};
