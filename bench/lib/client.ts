// A minimal JSON client for the scheduler's HTTP API (127.0.0.1 only), with per-request timing.

export interface Reply<T> {
  status: number;
  body: T;
  /** Round-trip time as the benchmark saw it. */
  ms: number;
  retryAfter: string | null;
}

export interface Attempt {
  number: number;
  status: string;
  scheduled_at: string;
  started_at: string;
  finished_at: string | null;
  lateness_ms: number;
  error: string | null;
}

export interface Job {
  id: string;
  status: string;
  priority: number;
  run_at: string;
  created_at: string;
  resources: Record<string, number>;
  attempts: Attempt[];
}

export interface Pool {
  name: string;
  capacity: number;
  in_use: number;
  waiting: number;
}

export interface User {
  user_id: string;
  api_key: string;
}

/** How often the API answered 429 (the per-key rate limit or the cap on unfinished jobs). */
export interface ApiStats {
  rateLimited: number;
}

export class Api {
  readonly stats: ApiStats = { rateLimited: 0 };

  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {
    const host = new URL(baseUrl).hostname;
    if (host !== "127.0.0.1") throw new Error(`benchmark traffic goes to 127.0.0.1 only, not ${host}`);
  }

  async request<T>(method: string, route: string, token?: string, body?: unknown): Promise<Reply<T>> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const started = performance.now();
    const res = await fetch(new URL(route, this.baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    const elapsed = performance.now() - started;
    let parsed: unknown = text;
    if (res.headers.get("content-type")?.includes("json")) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, ms: elapsed, retryAfter: res.headers.get("retry-after") };
  }

  /**
   * Like request, but throws unless the status is one of `ok`. A 429 is counted and retried after its
   * Retry-After (at most 10 s, at most 3 times), so a run that hits a limit says so instead of failing.
   */
  async expect<T>(
    ok: number[],
    method: string,
    route: string,
    token?: string,
    body?: unknown,
  ): Promise<Reply<T>> {
    let reply = await this.request<T>(method, route, token, body);
    for (let retry = 0; reply.status === 429 && retry < 3; retry++) {
      this.stats.rateLimited++;
      const after = Number(reply.retryAfter ?? Number.NaN);
      await new Promise((r) => setTimeout(r, Math.min(10, Number.isFinite(after) ? after : 10) * 1000));
      reply = await this.request<T>(method, route, token, body);
    }
    if (!ok.includes(reply.status)) {
      throw new Error(`${method} ${route} → ${reply.status}: ${JSON.stringify(reply.body).slice(0, 300)}`);
    }
    return reply;
  }

  async createUser(adminToken: string, name: string): Promise<User> {
    return (await this.expect<User>([201], "POST", "/v1/admin/users", adminToken, { name })).body;
  }

  /** Another API key for the user (admin); the per-key rate limit applies to each key separately. */
  async addKey(adminToken: string, userId: string): Promise<string> {
    const reply = await this.expect<{ api_key: string }>(
      [201],
      "POST",
      `/v1/admin/users/${userId}/keys`,
      adminToken,
    );
    return reply.body.api_key;
  }

  /** `count` keys for the user: its first one and count − 1 more. */
  async keys(adminToken: string, user: User, count: number): Promise<string[]> {
    const keys = [user.api_key];
    while (keys.length < count) keys.push(await this.addKey(adminToken, user.user_id));
    return keys;
  }

  async putPool(token: string, name: string, capacity: number): Promise<Pool> {
    return (await this.expect<Pool>([200, 201], "PUT", `/v1/pools/${name}`, token, { capacity })).body;
  }

  async pools(token: string): Promise<Reply<{ pools: Pool[] }>> {
    return this.expect<{ pools: Pool[] }>([200], "GET", "/v1/pools", token);
  }

  async submit(token: string, job: Record<string, unknown>): Promise<Reply<Job>> {
    return this.expect<Job>([201], "POST", "/v1/jobs", token, job);
  }

  async job(token: string, id: string): Promise<Job> {
    return (await this.expect<Job>([200], "GET", `/v1/jobs/${id}`, token)).body;
  }
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** The first attempt (attempts are listed newest first). */
export const firstAttempt = (job: Job): Attempt | undefined => job.attempts[job.attempts.length - 1];
/** The latest attempt. */
export const lastAttempt = (job: Job): Attempt | undefined => job.attempts[0];
