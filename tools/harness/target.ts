// The webhook target: a node:http server on 127.0.0.1 that records every delivery (method, path,
// headers including webhook-id, body, when it arrived and was answered, what it answered, whether the
// caller hung up first, whether the Standard Webhooks signature verifies) and answers as told: at
// once or after a delay, with any status. A delayed answer is bounded: its timer fires or is cleared
// on close. It lives in the harness's process, so it keeps counting across the server's crashes.
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface Delivery {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  /** The path without the query. */
  route: string;
  headers: Record<string, string>;
  body: string;
  /** The `webhook-id` header ("" when absent). */
  webhookId: string;
  /** When the request arrived (epoch ms). */
  at: number;
  /** What the target answered and when; null while it has not (or when the caller hung up first). */
  status: number | null;
  answeredAt: number | null;
  /** The caller closed the connection before the answer was sent. */
  hungUp: boolean;
  /** The signature verified (true), did not (false), or could not be checked: no secret (null). */
  signature: boolean | null;
}

/** How to answer a request: this status, after `afterMs` (a hang, if longer than the job's timeout). */
export interface Answer {
  status: number;
  afterMs?: number;
}
export type Answering = (delivery: Delivery) => Answer;

export interface TargetOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** 200 at once unless told otherwise; `answerWith` changes it while running. */
  answer?: Answering;
  /** The signing secret to verify a delivery with; without one (or if it returns none) nothing is checked. */
  secretFor?: (delivery: Delivery) => string | undefined;
}

export interface Target {
  url(route: string): string;
  readonly deliveries: Delivery[];
  answerWith(answer: Answering): void;
  /** Requests being handled right now, and the most at once since the start or the last reset. */
  inFlight(): number;
  maxInFlight(): number;
  /** Forgets the deliveries so far (and the maximum in flight). */
  reset(): void;
  close(): Promise<void>;
}

/** The most requests to `route` in flight at once (arrived, not yet answered), from the deliveries. */
export function maxInFlight(deliveries: readonly Delivery[], route: string): number {
  const edges = deliveries
    .filter((d) => d.route === route)
    .flatMap((d) => [[d.at, 1] as const, [d.answeredAt ?? Number.POSITIVE_INFINITY, -1] as const])
    // An answer and an arrival at the same millisecond: the answer first (it was not in flight).
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) {
    open += step;
    most = Math.max(most, open);
  }
  return most;
}

export const answerOk: Answering = () => ({ status: 200 });

/** Answers by path, 404 for any other. */
export function byRoute(routes: Record<string, Answer>): Answering {
  return (d) => routes[d.route] ?? { status: 404 };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function verifier(secretFor: TargetOptions["secretFor"]) {
  const bySecret = new Map<string, Webhook>();
  return (d: Delivery): boolean | null => {
    const secret = secretFor?.(d);
    if (!secret) return null;
    let webhook = bySecret.get(secret);
    if (!webhook) {
      webhook = new Webhook(secret);
      bySecret.set(secret, webhook);
    }
    try {
      // Now, not later: verification also checks that the timestamp is recent.
      webhook.verify(d.body, d.headers);
      return true;
    } catch {
      return false;
    }
  };
}

export async function startTarget(opts: TargetOptions = {}): Promise<Target> {
  const deliveries: Delivery[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const verify = verifier(opts.secretFor);
  let answering = opts.answer ?? answerOk;
  let open = 0;
  let maxOpen = 0;

  const server = createServer(async (req, res) => {
    const at = Date.now();
    open++;
    maxOpen = Math.max(maxOpen, open);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      // the caller went away mid-body: still a delivery attempt
    }
    const url = req.url ?? "";
    const headers = flatten(req.headers);
    const delivery: Delivery = {
      method: req.method ?? "",
      url,
      route: url.split("?")[0] ?? "",
      headers,
      body: Buffer.concat(chunks).toString("utf8"),
      webhookId: headers["webhook-id"] ?? "",
      at,
      status: null,
      answeredAt: null,
      hungUp: false,
      signature: null,
    };
    delivery.signature = verify(delivery);
    deliveries.push(delivery);
    // In flight until answered or hung up on, whichever comes first.
    let finished = false;
    const finish = () => {
      if (!finished) open--;
      finished = true;
    };
    res.on("close", () => {
      finish();
      if (!res.writableFinished) delivery.hungUp = true;
    });
    const { status, afterMs = 0 } = answering(delivery);
    const answer = () => {
      if (res.destroyed || res.writableEnded) return;
      finish();
      delivery.status = status;
      delivery.answeredAt = Date.now();
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(status < 300 ? '{"ok":true}' : '{"ok":false}');
    };
    if (afterMs <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, afterMs);
    timers.add(timer);
  });
  server.keepAliveTimeout = 5_000;
  server.listen(opts.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}${route}`,
    deliveries,
    answerWith(answer) {
      answering = answer;
    },
    inFlight: () => open,
    maxInFlight: () => maxOpen,
    reset() {
      deliveries.length = 0;
      maxOpen = open;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => {});
    },
  };
}
