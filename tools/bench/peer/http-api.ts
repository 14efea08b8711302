// The peer's HTTP API on node:http: the routes the comparison uses, with the contract's status codes
// and error envelope. Any bearer token is accepted (the peer has no users); a missing one is a 401.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  type ErrorDetail,
  errorBody,
  MAX_BATCH_BODY_BYTES,
  MAX_BODY_BYTES,
  parseBatch,
  parseSubmit,
} from "./contract";
import type { PeerQueue } from "./queue";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

const invalid = (details: ErrorDetail[]) =>
  new HttpError(400, "invalid_request", "the request is invalid", details);

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    req.resume();
    throw new HttpError(415, "unsupported_media_type", "the request body must be application/json");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new HttpError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw invalid([{ path: "(body)", message: "malformed JSON" }]);
  }
}

function requireBearer(req: IncomingMessage): void {
  if (!/^Bearer [\x21-\x7e]{1,512}$/.test(req.headers.authorization ?? "")) {
    throw new HttpError(401, "unauthorized", "a valid API key is required");
  }
}

async function route(queue: PeerQueue, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? "/", "http://127.0.0.1");
  if (req.method === "GET" && pathname === "/v1/health") {
    return send(res, 200, {
      status: "ok",
      system: "bullmq-peer",
      worker_errors: queue.workerErrors,
      failed_attempts: queue.failedAttempts,
    });
  }
  if (!pathname.startsWith("/v1/")) throw new HttpError(404, "not_found", "no such route");
  requireBearer(req);
  if (req.method === "POST" && pathname === "/v1/jobs") {
    const parsed = parseSubmit(await readJson(req, MAX_BODY_BYTES), Date.now());
    if (!parsed.ok) throw invalid(parsed.details);
    return send(res, 201, await queue.add(parsed.value));
  }
  if (req.method === "POST" && pathname === "/v1/jobs/batch") {
    const parsed = parseBatch(await readJson(req, MAX_BATCH_BODY_BYTES), Date.now());
    if (!parsed.ok) throw invalid(parsed.details);
    const jobs = await queue.addMany(parsed.value);
    return send(res, 201, { results: jobs.map((job) => ({ status: 201, job })) });
  }
  const jobRoute = /^\/v1\/jobs\/([A-Za-z0-9_]{1,100})$/.exec(pathname);
  if (req.method === "GET" && jobRoute?.[1]) {
    const job = await queue.view(jobRoute[1]);
    if (!job) throw new HttpError(404, "not_found", "no such job");
    return send(res, 200, job);
  }
  throw new HttpError(404, "not_found", "no such route (the BullMQ peer serves a subset of the contract)");
}

export function createPeerServer(queue: PeerQueue): Server {
  const server = createServer((req, res) => {
    route(queue, req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError)
        return send(res, err.status, errorBody(err.code, err.message, err.details));
      // Redis or BullMQ trouble is the peer's fault, not the request's.
      send(res, 503, errorBody("unavailable", String(err)));
    });
  });
  server.keepAliveTimeout = 5_000;
  return server;
}
