// A small JSON client for the scheduler's API on 127.0.0.1, with per-request timing. Three ways to call:
// `request` (one try), `expect` (throws unless the status is one of those expected; a 429 is waited out
// a few times) and `call` (rides out a server's crash: network errors, 5xx and 429 are retried until a
// deadline). Every retry is counted, so a report can say how much the client noticed.
import http from "node:http";
import type { CreatedUser, Job, Pool } from "./api-types";
import { sleep } from "./util";

/**
 * Node's own HTTP client on kept-alive connections, not `fetch`: a load driver on the same 2 cores as
 * the systems it measures should cost them as little as it can, and undici's `fetch` cost the driver
 * 2.2 ms of CPU a submit against 0.5 ms now (docs/performance.md, "Harness"). No `accept-encoding`
 * either: `fetch` asks for gzip, which Miniflare then does on the scheduler's one thread (Cloudflare
 * compresses at its edge, not in the Worker), while the peer's server never compresses.
 */
const agent = new http.Agent({ keepAlive: true });

interface RawReply {
  status: number;
  text: string;
  contentType: string | undefined;
  retryAfter: string | null;
}

/**
 * One HTTP exchange; rejects on a network error, or with a TimeoutError once `timeoutMs` has passed. A
 * kept-alive connection the server closed while it sat idle fails the first write with ECONNRESET: that
 * one is tried again, once, on a fresh connection (Node's documented remedy for the race; the callers
 * that submit already ride out a repeated request, as `call` does after any network error).
 */
function send(
  url: URL,
  method: string,
  headers: Record<string, string | number>,
  payload: Buffer | undefined,
  timeoutMs: number,
  fresh = false,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: fresh ? false : agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        const retryAfter = res.headers["retry-after"];
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString("utf8"),
          contentType: res.headers["content-type"],
          retryAfter: typeof retryAfter === "string" ? retryAfter : null,
        });
      });
    });
    const timer = setTimeout(() => {
      const timeout = new Error(`${method} ${url.pathname}: no answer in ${timeoutMs} ms`);
      timeout.name = "TimeoutError";
      req.destroy(timeout);
    }, timeoutMs);
    function fail(err: Error & { code?: string }) {
      clearTimeout(timer);
      if (!fresh && req.reusedSocket && err.code === "ECONNRESET")
        resolve(send(url, method, headers, payload, timeoutMs, true));
      else reject(err);
    }
    req.on("error", fail);
    req.end(payload);
  });
}

export interface Reply<T> {
  status: number;
  /** Parsed when the answer is JSON, the text otherwise. */
  body: T;
  /** Round-trip time of the last try. */
  ms: number;
  retryAfter: string | null;
  /** How many tries it took. */
  tries: number;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ClientStats {
  requests: number;
  networkErrors: number;
  serverErrors: number;
  /** 429s: the per-key rate limit or the cap on unfinished jobs. */
  rateLimited: number;
}

export class ApiClient {
  readonly stats: ClientStats = { requests: 0, networkErrors: 0, serverErrors: 0, rateLimited: 0 };
  private readonly timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
  ) {
    const host = new URL(baseUrl).hostname;
    if (host !== "127.0.0.1") throw new Error(`harness traffic goes to 127.0.0.1 only, not ${host}`);
    this.timeoutMs = timeoutMs;
  }

  /** One request; throws only on a network error or timeout. */
  async request<T>(method: string, route: string, opts: RequestOptions = {}): Promise<Reply<T>> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = payload.length;
    }
    this.stats.requests++;
    const started = performance.now();
    const res = await send(new URL(route, this.baseUrl), method, headers, payload, this.timeoutMs);
    const elapsed = performance.now() - started;
    let body: unknown = res.text;
    if (res.contentType?.includes("json")) {
      try {
        body = JSON.parse(res.text);
      } catch {
        // keep the text
      }
    }
    return { status: res.status, body: body as T, ms: elapsed, retryAfter: res.retryAfter, tries: 1 };
  }

  /**
   * Like request, but throws unless the status is one of `ok`. A 429 is counted and retried after its
   * Retry-After (at most 10 s, at most 3 times), so a run that hits a limit says so instead of failing.
   */
  async expect<T>(ok: number[], method: string, route: string, opts: RequestOptions = {}): Promise<Reply<T>> {
    let reply = await this.request<T>(method, route, opts);
    for (let retry = 0; reply.status === 429 && retry < 3; retry++) {
      this.stats.rateLimited++;
      const after = Number(reply.retryAfter ?? Number.NaN);
      await sleep(Math.min(10, Number.isFinite(after) ? after : 10) * 1000);
      reply = { ...(await this.request<T>(method, route, opts)), tries: retry + 2 };
    }
    if (!ok.includes(reply.status)) {
      throw new Error(`${method} ${route} → ${reply.status}: ${JSON.stringify(reply.body).slice(0, 300)}`);
    }
    return reply;
  }

  /**
   * Retries network errors, 5xx and 429 until `retryForMs` has passed; any other status is returned
   * for the caller to judge. Throws with the last problem when the deadline passes.
   */
  async call<T>(
    method: string,
    route: string,
    { retryForMs = 120_000, ...opts }: RequestOptions & { retryForMs?: number } = {},
  ): Promise<Reply<T>> {
    const deadline = Date.now() + retryForMs;
    let wait = 200;
    let last = "nothing yet";
    for (let tries = 1; ; tries++) {
      let pause = wait;
      try {
        const reply = await this.request<T>(method, route, opts);
        if (reply.status === 429) {
          this.stats.rateLimited++;
          const ra = Number(reply.retryAfter);
          pause = Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 10_000) : 2_000;
          last = `429 ${JSON.stringify(reply.body).slice(0, 200)}`;
        } else if (reply.status >= 500) {
          this.stats.serverErrors++;
          last = `${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`;
        } else {
          return { ...reply, tries };
        }
      } catch (err) {
        this.stats.networkErrors++;
        const e = err as { code?: string; name?: string };
        last = String(e?.code ?? e?.name ?? err);
      }
      if (Date.now() + pause > deadline) {
        throw new Error(`${method} ${route}: gave up after ${tries} tries (${retryForMs} ms); last: ${last}`);
      }
      await sleep(pause);
      wait = Math.min(wait * 2, 2_000);
    }
  }

  async createUser(adminToken: string, name: string): Promise<CreatedUser> {
    return (
      await this.expect<CreatedUser>([201], "POST", "/v1/admin/users", { token: adminToken, body: { name } })
    ).body;
  }

  /** Another API key for the user (admin); the per-key rate limit applies to each key separately. */
  async addKey(adminToken: string, userId: string): Promise<string> {
    const route = `/v1/admin/users/${userId}/keys`;
    return (await this.expect<{ api_key: string }>([201], "POST", route, { token: adminToken })).body.api_key;
  }

  /** `count` keys for the user: its first one and count − 1 more. */
  async keys(adminToken: string, user: CreatedUser, count: number): Promise<string[]> {
    const keys = [user.api_key];
    while (keys.length < count) keys.push(await this.addKey(adminToken, user.user_id));
    return keys;
  }

  async putPool(token: string, name: string, capacity: number): Promise<Pool> {
    return (await this.expect<Pool>([200, 201], "PUT", `/v1/pools/${name}`, { token, body: { capacity } }))
      .body;
  }

  async pools(token: string): Promise<Reply<{ pools: Pool[] }>> {
    return this.expect<{ pools: Pool[] }>([200], "GET", "/v1/pools", { token });
  }

  async submit(token: string, job: Record<string, unknown>): Promise<Reply<Job>> {
    return this.expect<Job>([201], "POST", "/v1/jobs", { token, body: job });
  }

  async job(token: string, id: string): Promise<Job> {
    return (await this.expect<Job>([200], "GET", `/v1/jobs/${id}`, { token })).body;
  }
}
