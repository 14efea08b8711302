// Helpers for end-to-end tests: the dev server started exactly as `npm run dev` starts it, a recording
// HTTP target, a small JSON client and bounded polling. Everything here runs in Node, outside workerd.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const root = path.resolve(import.meta.dirname, "../..");
const OUTPUT_KEPT = 64 * 1024;

/** A port free right now on 127.0.0.1 (the OS picks it; nothing holds it afterwards). */
export async function freePort(): Promise<number> {
  const probe = createNetServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, "close");
  return port;
}

/**
 * Polls `probe` every `intervalMs` until `done` accepts its value, or fails at the deadline with the
 * last value (or error) seen, so a timeout says what the system was doing instead.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? String(last) : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(intervalMs);
  }
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One JSON request; the body is parsed when it is JSON and kept as text otherwise. */
export async function api<T = unknown>(
  baseUrl: string,
  method: string,
  route: string,
  { token, body }: { token?: string; body?: unknown } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(route, baseUrl), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const isJson = res.headers.get("content-type")?.includes("json") ?? false;
  return { status: res.status, body: (isJson ? JSON.parse(text) : text) as T };
}

export interface DevServer {
  baseUrl: string;
  /** Resolves once /v1/health answers 200; fails early (with the server's output) if it exits first. */
  ready(timeoutMs?: number): Promise<void>;
  /** The latest server output, for failure messages. */
  output(): string;
  /** Stops the whole process group (dev.mjs, wrangler, workerd): SIGTERM, then SIGKILL if it lingers. */
  stop(): Promise<void>;
}

/** Starts `node scripts/dev.mjs` in its own process group, the way a developer's `npm run dev` does. */
export function startDevServer(opts: { port: number; persistTo: string; varsFile: string }): DevServer {
  const args = ["--port", String(opts.port), "--persist-to", opts.persistTo, "--vars-file", opts.varsFile];
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  delete env.PORT;
  delete env.PERSIST_TO;
  const child = spawn(process.execPath, [path.join(root, "scripts/dev.mjs"), ...args], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error("could not start scripts/dev.mjs");

  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_KEPT);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(`scripts/dev.mjs exited (code ${code}, signal ${signal})`));
  });

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  };
  // Last resort if the test process dies without running afterAll: never leave workerd behind.
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);

  const baseUrl = `http://127.0.0.1:${opts.port}`;
  return {
    baseUrl,
    output: () => output,
    async ready(timeoutMs = 90_000) {
      const healthy = poll(
        "/v1/health",
        () => fetch(`${baseUrl}/v1/health`).then((r) => r.status),
        (status) => status === 200,
        { timeoutMs },
      );
      const died = exited.then((why) => Promise.reject(new Error(why)));
      try {
        await Promise.race([healthy, died]);
      } catch (err) {
        throw new Error(`dev server not ready: ${(err as Error).message}\n--- server output ---\n${output}`);
      } finally {
        healthy.catch(() => {});
        died.catch(() => {});
      }
    },
    async stop() {
      killGroup("SIGTERM");
      const timeout = sleep(10_000).then(() => "timeout");
      await Promise.race([exited, timeout]);
      // Whatever is left of the group (workerd, esbuild) after dev.mjs exits or ignores SIGTERM.
      killGroup("SIGKILL");
      process.removeListener("exit", onExit);
    },
  };
}

export interface Delivery {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Target {
  url(route: string): string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** An HTTP server on 127.0.0.1 that records every request and answers 200 {"ok":true}. */
export async function startTarget(): Promise<Target> {
  const deliveries: Delivery[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    deliveries.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: flatten(req.headers),
      body: Buffer.concat(chunks).toString("utf8"),
    });
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}${route}`,
    deliveries,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
