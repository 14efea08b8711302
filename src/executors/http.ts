// Calls a user's URL with a Standard Webhooks signature, following redirects only to allowed targets.
import { Webhook } from "standardwebhooks";
import { z } from "zod";
import { version } from "../../package.json";
import { Deadline, discard, parseRetryAfter, readPrefix } from "./http-io";
import { httpPayloadSchema, httpPayloadTargetError } from "./http-payload";
import { networkErrorText } from "./network-error";
import { targetError } from "./target";
import type { ExecutionInput, ExecutionOutcome, Executor } from "./types";

export { type HttpPayload, httpPayloadSchema, httpPayloadTargetError } from "./http-payload";

const BODY_LIMIT = 8 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Credentials meant for the original origin must not follow a redirect elsewhere (as browsers do).
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** Names the scheduler to the targets it calls, e.g. `edge-scheduler/0.1.0`; a user's own value wins. */
export const USER_AGENT = `edge-scheduler/${version}`;

const fail = (error: string, retryAfterMs?: number): ExecutionOutcome =>
  retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };

/** A failure no retry can fix: the occurrence fails at once (docs/design.md, Executors). */
const failPermanently = (error: string): ExecutionOutcome => ({ ok: false, error, permanent: true });

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The job's trace context on the request (W3C forwarding: as the submit sent it). The pair replaces
 * any of the payload's headers of those names: a tracestate belongs to its traceparent, so the
 * payload's own is dropped when the job kept none.
 */
function setTrace(headers: Headers, traceparent: string, tracestate: string | null): void {
  headers.set("traceparent", traceparent);
  if (tracestate === null) headers.delete("tracestate");
  else headers.set("tracestate", tracestate);
}

async function execute(input: ExecutionInput): Promise<ExecutionOutcome> {
  try {
    return await attempt(input);
  } catch (err) {
    // Executors never throw: the consumer would otherwise lose the attempt's outcome entirely.
    return fail(`internal error: ${errorText(err)}`);
  }
}

async function attempt(input: ExecutionInput): Promise<ExecutionOutcome> {
  const parsed = httpPayloadSchema.safeParse(input.payload);
  if (!parsed.success) return failPermanently(`invalid payload: ${z.prettifyError(parsed.error)}`);
  const payload = parsed.data;
  const refused = targetError(payload.url, input.allowPrivateTargets);
  if (refused) return failPermanently(`target refused: ${refused}`);

  const now = input.now ?? Date.now;
  const body =
    payload.body === undefined || typeof payload.body === "string"
      ? payload.body
      : JSON.stringify(payload.body);
  const headers = new Headers(payload.headers);
  if (!headers.has("user-agent")) headers.set("user-agent", USER_AGENT);
  if (body !== undefined && typeof payload.body !== "string" && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  if (input.trace?.traceparent) setTrace(headers, input.trace.traceparent, input.trace.tracestate);
  try {
    // One id per occurrence, so receivers can de-duplicate retries; set() replaces any user value.
    const id = input.webhookId ?? `${input.jobId}:${input.occurrence}`;
    const sentAt = now();
    headers.set("webhook-id", id);
    headers.set("webhook-timestamp", String(Math.floor(sentAt / 1000)));
    if (input.signingSecrets.length === 0) return fail("cannot sign request: no signing secret");
    const signatures = input.signingSecrets.map((s) => new Webhook(s).sign(id, new Date(sentAt), body ?? ""));
    headers.set("webhook-signature", signatures.join(" "));
  } catch (err) {
    return fail(`cannot sign request: ${errorText(err)}`);
  }

  const deadline = new Deadline(input.timeoutMs);
  // The URL being fetched when a hop throws, so a network error names the host that failed.
  const hop = { url: payload.url };
  try {
    return await send(input, hop, payload.method ?? "POST", headers, body, deadline);
  } catch (err) {
    if (deadline.expired)
      return { ok: false, error: `request timed out after ${input.timeoutMs} ms`, timedOut: true };
    return fail(networkErrorText(err, hop.url));
  } finally {
    deadline.clear();
  }
}

async function send(
  input: ExecutionInput,
  hop: { url: string },
  startMethod: string,
  headers: Headers,
  startBody: string | undefined,
  deadline: Deadline,
): Promise<ExecutionOutcome> {
  const doFetch = input.fetch ?? globalThis.fetch.bind(globalThis);
  let [method, body] = [startMethod, startBody];
  for (let hops = 0; ; hops++) {
    const url = hop.url;
    // The host by name (TARGET_DNS_CHECK): each hop before it is called, the target's too.
    const verdict = input.checkHost ? await deadline.race(input.checkHost(new URL(url).hostname)) : null;
    if (verdict && "refused" in verdict)
      return failPermanently(
        hops === 0 ? `target refused: ${verdict.refused}` : `redirect to ${url} refused: ${verdict.refused}`,
      );
    if (verdict) return fail(`could not check the host of ${url}: ${verdict.unavailable}`);
    const init = { method, headers, body, redirect: "manual" as const, signal: deadline.signal };
    const res = await deadline.race(doFetch(url, init));
    const location = REDIRECTS.has(res.status) ? res.headers.get("location") : null;
    if (location === null) return finish(res, deadline, input.now ?? Date.now);
    discard(res);
    if (hops >= MAX_REDIRECTS) return fail(`too many redirects (more than ${MAX_REDIRECTS})`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return failPermanently(`redirect to an invalid URL: ${location.slice(0, 200)}`);
    }
    const refused = targetError(next.href, input.allowPrivateTargets);
    if (refused) return failPermanently(`redirect to ${next.href} refused: ${refused}`);
    // Same method rewrite as the fetch standard: 303 always becomes GET, 301/302 only for POST.
    if (
      (res.status === 303 && method !== "GET") ||
      ((res.status === 301 || res.status === 302) && method === "POST")
    ) {
      [method, body] = ["GET", undefined];
      headers.delete("content-type");
    }
    if (next.origin !== new URL(url).origin) for (const h of CREDENTIAL_HEADERS) headers.delete(h);
    hop.url = next.href;
  }
}

async function finish(res: Response, deadline: Deadline, now: () => number): Promise<ExecutionOutcome> {
  const ok = res.status >= 200 && res.status < 300;
  if (ok) {
    const { text, truncated } = await readPrefix(res, BODY_LIMIT, deadline);
    return { ok: true, result: { status: res.status, body: text, truncated } };
  }
  // The status is the verdict; a body that fails to arrive only costs the error message its detail.
  const snippet = await readPrefix(res, 256, deadline).then(
    (r) => (r.truncated ? `${r.text}…` : r.text),
    () => "",
  );
  const retryAfter =
    res.status === 429 || res.status === 503
      ? parseRetryAfter(res.headers.get("retry-after"), now())
      : undefined;
  const error = `HTTP ${res.status}${snippet ? `: ${snippet}` : ""}`;
  const failure = { ok: false as const, error, httpStatus: res.status };
  return retryAfter === undefined ? failure : { ...failure, retryAfterMs: retryAfter };
}

export const httpExecutor: Executor = {
  type: "http",
  payloadSchema: httpPayloadSchema,
  submitError: (payload, { allowPrivateTargets }) => httpPayloadTargetError(payload, allowPrivateTargets),
  execute,
};
