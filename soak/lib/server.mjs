// The private `wrangler dev` the soak runs against, started exactly as `npm run dev` starts it
// (scripts/dev.mjs: apply D1 migrations, then wrangler dev) on its own port, state directory and vars
// file, in its own process group, so that a crash is one SIGKILL to the whole group (dev.mjs, wrangler's
// node processes, both workerd processes) and nothing of the old server can keep running. Restarts use
// the same port and the same state directory. Follows test/e2e/harness.ts and bench/lib/server.ts.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./util.mjs";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes from wrangler output
const ANSI = /\u001b\[[0-9;]*m/g;
const TAIL_LINES = 200;
/** One local queue consumer batch, as miniflare logs it: `QUEUE <name> <acked>/<total> (<ms>ms)`. */
const QUEUE_LINE = /QUEUE scheduler-dispatch (\d+)\/(\d+)(?: \((\d+)ms\))?/;

/**
 * The scheduler's own log lines are JSON with an `event` name (src/log.ts); every event is counted by
 * that name. These are evidence of a path the code takes on trouble, so samples of them are kept.
 */
export const TROUBLE_EVENTS = new Set([
  "config_invalid",
  "dispatch_message_failed",
  "dispatch_message_malformed",
  "dispatch_send_failed",
  "index_write_failed",
  "index_write_from_consumer_failed",
  "listing_failed",
  "unhandled_error",
]);

/** The `event` of one of the scheduler's JSON log lines, or null for any other line. */
export function logEventOf(text) {
  const start = text.indexOf('{"event":');
  if (start < 0) return null;
  try {
    const event = JSON.parse(text.slice(start)).event;
    return typeof event === "string" ? event : null;
  } catch {
    return null;
  }
}

/** What the runtime itself logs on trouble: prose, so counted by pattern. */
export const NOTABLE = {
  queueRetry: /Retrying message/,
  deadLetter: /dead letter queue|Dropped message/,
  uncaught: /Uncaught|uncaught exception/i,
};

// What `npm run dev` needs from the tree; node_modules is linked, not copied.
const SNAPSHOT = [
  "src",
  "scripts",
  "drizzle",
  "migrations",
  "wrangler.toml",
  "package.json",
  "tsconfig.json",
];

/**
 * Copies the parts of the project the server runs from into `dest`, so that `wrangler dev` (which
 * watches its sources and reloads on every change) runs one fixed version of the code for the whole
 * soak, however the working tree changes meanwhile. Returns what was snapshotted (read-only git).
 */
export function snapshotTree(dest, from = "tree") {
  mkdirSync(dest, { recursive: true });
  const git = (args, opts = {}) => {
    try {
      return execFileSync("git", args, { cwd: projectRoot, stdio: ["ignore", "pipe", "ignore"], ...opts });
    } catch {
      return null;
    }
  };
  const commit = git(["rev-parse", "HEAD"], { encoding: "utf8" })?.trim() ?? null;
  if (from === "head") {
    // The committed tree only (git archive reads the repository, it changes nothing).
    if (!commit) throw new Error("--code head needs a git checkout");
    const tar = git(["archive", "--format=tar", commit, "--", ...SNAPSHOT], { maxBuffer: 256 * 1024 * 1024 });
    if (!tar) throw new Error("git archive failed");
    execFileSync("tar", ["-x", "-C", dest], { input: tar });
  } else {
    for (const entry of SNAPSHOT) {
      const src = path.join(projectRoot, entry);
      if (existsSync(src)) cpSync(src, path.join(dest, entry), { recursive: true });
    }
  }
  symlinkSync(path.join(projectRoot, "node_modules"), path.join(dest, "node_modules"), "dir");
  const dirty =
    from === "head" ? "" : git(["status", "--porcelain", "--", ...SNAPSHOT], { encoding: "utf8" });
  return {
    commit,
    uncommittedChanges: dirty === null ? null : dirty.split("\n").filter(Boolean),
  };
}

/** Processes of group `pgid` that are alive (zombies excluded), from /proc; null where /proc is missing. */
function groupMembers(pgid) {
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const alive = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...; comm may contain spaces, so parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") alive.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return alive;
}

export class DevServer {
  /**
   * @param {{root: string, port: number, inspectorPort: number, persistTo: string, varsFile: string,
   *          logFile: string}} opts   root: the tree to run scripts/dev.mjs from (a snapshot)
   */
  constructor(opts) {
    this.opts = opts;
    this.reloads = 0;
    this.baseUrl = `http://127.0.0.1:${opts.port}`;
    this.file = createWriteStream(opts.logFile, { flags: "a" });
    this.tail = [];
    this.starts = 0;
    this.child = null;
    this.pgid = null;
    this.exitedWith = null;
    this.notable = Object.fromEntries(Object.keys(NOTABLE).map((k) => [k, 0]));
    this.events = Object.fromEntries([...TROUBLE_EVENTS].map((e) => [e, 0]));
    this.notableSamples = [];
    this.queue = { batches: 0, messages: 0, acked: 0, batchMs: 0 };
    this.onExit = () => this.killNow();
    process.on("exit", this.onExit);
  }

  start() {
    if (this.child) throw new Error("server already running");
    this.starts++;
    const o = this.opts;
    const args = [
      path.join(o.root, "scripts/dev.mjs"),
      "--port",
      String(o.port),
      "--persist-to",
      o.persistTo,
      "--vars-file",
      o.varsFile,
      "--",
      "--inspector-port",
      String(o.inspectorPort),
    ];
    const env = {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_CI_DISABLE_CONFIG_WATCHING: "true",
      NO_COLOR: "1",
      CI: "true",
    };
    delete env.PORT;
    delete env.PERSIST_TO;
    const child = spawn(process.execPath, args, {
      cwd: o.root,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid === undefined) throw new Error("could not start scripts/dev.mjs");
    this.child = child;
    this.pgid = child.pid;
    this.exitedWith = null;
    this.write(`=== soak: server start #${this.starts} (pgid ${this.pgid}) ===`);
    let partial = "";
    const onData = (chunk) => {
      const parts = (partial + chunk.toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      for (const raw of parts) this.line(raw.replace(ANSI, ""));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitedWith = `scripts/dev.mjs exited (code ${code}, signal ${signal})`;
        resolve(this.exitedWith);
      });
    });
  }

  write(text) {
    this.file.write(`${new Date().toISOString()} ${text}\n`);
  }

  line(text) {
    this.write(`[#${this.starts}] ${text}`);
    this.tail.push(text);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (text.includes("Reloading local server")) this.reloads++;
    const q = QUEUE_LINE.exec(text);
    if (q) {
      this.queue.batches++;
      this.queue.acked += Number(q[1]);
      this.queue.messages += Number(q[2]);
      this.queue.batchMs += Number(q[3] ?? 0);
    }
    const event = logEventOf(text);
    if (event !== null) {
      this.events[event] = (this.events[event] ?? 0) + 1;
      if (TROUBLE_EVENTS.has(event)) this.sample(text);
      return;
    }
    for (const [key, re] of Object.entries(NOTABLE)) {
      if (re.test(text)) {
        this.notable[key]++;
        this.sample(text);
      }
    }
  }

  sample(text) {
    if (this.notableSamples.length < 50) this.notableSamples.push(`[#${this.starts}] ${text.slice(0, 300)}`);
  }

  /** Resolves once /v1/health answers 200; fails early if the server exits first. */
  async ready(timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitedWith) throw new Error(`dev server not ready: ${this.exitedWith}\n${this.tailText()}`);
      try {
        const res = await fetch(`${this.baseUrl}/v1/health`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`dev server not ready after ${timeoutMs} ms\n${this.tailText()}`);
  }

  tailText(lines = 40) {
    return this.tail.slice(-lines).join("\n");
  }

  signalGroup(signal) {
    if (this.pgid === null) return;
    try {
      process.kill(-this.pgid, signal);
    } catch (err) {
      if (err.code !== "ESRCH") throw err;
    }
  }

  /** Waits (bounded) until no live process is left in the group. */
  async groupGone(timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const members = groupMembers(this.pgid);
      if (members === null) {
        try {
          process.kill(-this.pgid, 0);
        } catch {
          return true;
        }
      } else if (members.length === 0) return true;
      await sleep(50);
    }
    return false;
  }

  /** The crash: SIGKILL to the whole process group, then wait until all of it is gone. */
  async crash() {
    if (!this.child) throw new Error("no server to crash");
    this.write("=== soak: SIGKILL to the process group ===");
    this.signalGroup("SIGKILL");
    await Promise.race([this.exited, sleep(10_000)]);
    const gone = await this.groupGone();
    if (!gone) throw new Error(`process group ${this.pgid} still has live members after SIGKILL`);
    this.child = null;
  }

  /** Orderly stop at the end: SIGTERM, then SIGKILL for whatever lingers. */
  async stop() {
    if (this.child) {
      this.signalGroup("SIGTERM");
      await Promise.race([this.exited, sleep(10_000)]);
      this.signalGroup("SIGKILL");
      await this.groupGone(5_000);
      this.child = null;
    }
    process.removeListener("exit", this.onExit);
    this.file.end();
    await once(this.file, "close").catch(() => {});
  }

  /** Synchronous last resort (exit handler, signals, watchdog): never leave workerd behind. */
  killNow() {
    try {
      this.signalGroup("SIGKILL");
    } catch {
      // nothing more we can do
    }
  }
}
