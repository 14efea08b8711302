// A private `wrangler dev` for the benchmark, started exactly as `npm run dev` starts it (scripts/dev.mjs,
// which applies the D1 migrations and then runs the project's wrangler) but on its own port, with its
// own state directory and vars file, in its own process group, and from a copy of the project taken at
// the start (see snapshotProject). This follows test/e2e/harness.ts; it differs in serving a copy, in
// keeping every output line with the time it arrived (the local queue logs one line per consumer
// batch, the evidence for where dispatch time goes) and in writing the full log to a file.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { cp, readdir, readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { sleep } from "./util";

const root = path.resolve(import.meta.dirname, "../..");
/** Not needed to serve the scheduler; node_modules is linked, not copied. */
const NOT_COPIED = new Set([
  "node_modules",
  ".git",
  ".wrangler",
  ".dev.vars",
  "bench",
  "test",
  "docs",
  "soak",
  ".ci",
]);

/**
 * Copies the project as it is now into `dir` (node_modules linked), so the benchmark measures one
 * fixed version: `wrangler dev` watches its sources and reloads on every change, and on a tree that
 * others are editing a reload mid-run restarts the Worker, drops the local queue's messages and
 * changes the code under test. Returns the copy's root and a digest of its src/.
 */
export async function snapshotProject(dir: string): Promise<{ root: string; srcDigest: string }> {
  for (const entry of await readdir(root)) {
    if (NOT_COPIED.has(entry)) continue;
    await cp(path.join(root, entry), path.join(dir, entry), { recursive: true });
  }
  await symlink(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  const hash = createHash("sha256");
  const files = (await readdir(path.join(dir, "src"), { recursive: true })).sort();
  for (const f of files) {
    const content = await readFile(path.join(dir, "src", f)).catch(() => null);
    if (content) hash.update(f).update("\0").update(content);
  }
  return { root: dir, srcDigest: hash.digest("hex").slice(0, 12) };
}
const KEPT_LINES = 500_000;

export interface LogLine {
  at: number;
  text: string;
}

/** One local queue consumer batch, as miniflare logs it: `QUEUE <name> <acked>/<total> (<ms>ms)`. */
export interface QueueBatch {
  /** When the line arrived, i.e. about when the batch ended. */
  at: number;
  queue: string;
  acked: number;
  total: number;
  ms: number;
}

export interface BenchServer {
  baseUrl: string;
  logFile: string;
  ready(timeoutMs?: number): Promise<void>;
  lines(from?: number, to?: number): LogLine[];
  queueBatches(from: number, to: number): QueueBatch[];
  stop(): Promise<void>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes from wrangler output
const ANSI = /\u001b\[[0-9;]*m/g;
const QUEUE_LINE = /QUEUE (\S+) (\d+)\/(\d+)(?: \((\d+)ms\))?/;

export function startBenchServer(opts: {
  /** The project copy to serve (snapshotProject). */
  projectRoot: string;
  port: number;
  inspectorPort: number;
  persistTo: string;
  varsFile: string;
  logFile: string;
}): BenchServer {
  const args = [
    path.join(opts.projectRoot, "scripts/dev.mjs"),
    "--port",
    String(opts.port),
    "--persist-to",
    opts.persistTo,
    "--vars-file",
    opts.varsFile,
    "--",
    "--inspector-port",
    String(opts.inspectorPort),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  delete env.PORT;
  delete env.PERSIST_TO;
  const child = spawn(process.execPath, args, {
    cwd: opts.projectRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error("could not start scripts/dev.mjs");

  const file = createWriteStream(opts.logFile);
  const kept: LogLine[] = [];
  let partial = "";
  const onData = (chunk: Buffer) => {
    const now = Date.now();
    const text = partial + chunk.toString("utf8");
    const parts = text.split("\n");
    partial = parts.pop() ?? "";
    for (const raw of parts) {
      const line = raw.replace(ANSI, "");
      file.write(`${new Date(now).toISOString()} ${line}\n`);
      if (kept.length < KEPT_LINES) kept.push({ at: now, text: line });
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let exitedWith: string | null = null;
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedWith = `scripts/dev.mjs exited (code ${code}, signal ${signal})`;
      resolve(exitedWith);
    });
  });

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  };
  // Last resort if the benchmark dies without calling stop(): never leave workerd behind.
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);

  const baseUrl = `http://127.0.0.1:${opts.port}`;
  const tail = () =>
    kept
      .slice(-60)
      .map((l) => l.text)
      .join("\n");
  return {
    baseUrl,
    logFile: opts.logFile,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exitedWith) throw new Error(`dev server not ready: ${exitedWith}\n${tail()}`);
        try {
          const res = await fetch(`${baseUrl}/v1/health`, { signal: AbortSignal.timeout(2_000) });
          await res.arrayBuffer();
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await sleep(300);
      }
      throw new Error(`dev server not ready after ${timeoutMs} ms\n${tail()}`);
    },
    lines(from = 0, to = Number.POSITIVE_INFINITY) {
      return kept.filter((l) => l.at >= from && l.at <= to);
    },
    queueBatches(from, to) {
      const out: QueueBatch[] = [];
      for (const l of kept) {
        if (l.at < from || l.at > to) continue;
        const m = QUEUE_LINE.exec(l.text);
        if (!m) continue;
        out.push({
          at: l.at,
          queue: m[1] ?? "",
          acked: Number(m[2]),
          total: Number(m[3]),
          ms: m[4] === undefined ? Number.NaN : Number(m[4]),
        });
      }
      return out;
    },
    async stop() {
      killGroup("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      killGroup("SIGKILL");
      process.removeListener("exit", onExit);
      file.end();
      await once(file, "close").catch(() => {});
    },
  };
}
