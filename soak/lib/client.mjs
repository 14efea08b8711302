// A JSON client for the scheduler's API on 127.0.0.1 that rides out the soak's crashes: network errors,
// 5xx and 429 are retried (429 after its Retry-After) until a per-call deadline. Every retry is counted,
// so the report can say how much the clients noticed of the faults.
import { sleep } from "./util.mjs";

export class Client {
  constructor(baseUrl, { timeoutMs = 15_000 } = {}) {
    const host = new URL(baseUrl).hostname;
    if (host !== "127.0.0.1") throw new Error(`soak traffic goes to 127.0.0.1 only, not ${host}`);
    this.baseUrl = baseUrl;
    this.timeoutMs = timeoutMs;
    this.stats = { requests: 0, networkErrors: 0, serverErrors: 0, rateLimited: 0 };
  }

  /** One request; throws only on a network error or timeout. */
  async once(method, route, { token, body, headers = {} } = {}) {
    const h = { ...headers };
    if (token !== undefined) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h["content-type"] = "application/json";
    this.stats.requests++;
    const res = await fetch(new URL(route, this.baseUrl), {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed = text;
    if (res.headers.get("content-type")?.includes("json")) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
    }
    return { status: res.status, body: parsed, retryAfter: res.headers.get("retry-after") };
  }

  /**
   * Retries network errors, 5xx and 429 until `retryForMs` has passed; any other status is returned
   * for the caller to judge. Throws with the last problem when the deadline passes.
   */
  async call(method, route, { token, body, headers, retryForMs = 120_000 } = {}) {
    const deadline = Date.now() + retryForMs;
    let wait = 200;
    let last = "nothing yet";
    for (let tries = 1; ; tries++) {
      let pause = wait;
      try {
        const reply = await this.once(method, route, { token, body, headers });
        if (reply.status === 429) {
          this.stats.rateLimited++;
          const ra = Number(reply.retryAfter);
          pause = Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 10_000) : 2_000;
          last = `429 ${JSON.stringify(reply.body).slice(0, 200)}`;
        } else if (reply.status >= 500) {
          this.stats.serverErrors++;
          last = `${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`;
        } else {
          reply.tries = tries;
          return reply;
        }
      } catch (err) {
        this.stats.networkErrors++;
        last = String(err?.cause?.code ?? err?.name ?? err);
      }
      if (Date.now() + pause > deadline) {
        throw new Error(`${method} ${route}: gave up after ${tries} tries (${retryForMs} ms); last: ${last}`);
      }
      await sleep(pause);
      wait = Math.min(wait * 2, 2_000);
    }
  }
}
