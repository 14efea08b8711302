// A private `wrangler dev`, started exactly as `npm run dev` starts it: `node scripts/dev.mjs` (which
// applies the D1 migrations, then runs the project's wrangler) on its own port, inspector port, state
// directory and vars file, in its own process group. It can be crashed (SIGKILL to the whole group) and
// started again on the same state; every way out ends the whole group, and the last output lines are
// kept for the error that explains a failed start.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import path from "node:path";
import { isReload, LineSplitter } from "./log-lines";
import { groupGone, signalGroup } from "./process-group";
import { projectRoot } from "./project";
import { freePort, iso, sleep, within } from "./util";

export interface DevServerOptions {
  /** The tree to run scripts/dev.mjs from: the project itself (default) or a snapshot of it. */
  root?: string;
  port: number;
  /** wrangler's inspector port; a free one by default, so that parallel servers do not collide. */
  inspectorPort?: number;
  persistTo: string;
  /** Passed to wrangler as --env-file: the server's variables come from this file only. */
  varsFile: string;
  /** Also write every output line here, with the time it arrived and the start it came from. */
  logFile?: string;
  /** Output lines kept in memory with their arrival time (200 by default: enough for error messages). */
  keepLines?: number;
  /**
   * Build the web dashboard before starting (as `npm run dev` does). Off by default: servers that do
   * not open /dashboard start sooner, and parallel ones do not rebuild the same folder at once.
   */
  dashboard?: boolean;
  /**
   * dev.mjs --quiet: warnings and errors only, without wrangler's line (and its CPU) per request served;
   * the scheduler's info events are not printed either (scripts/dev.mjs).
   */
  quiet?: boolean;
}

export interface LogLine {
  /** When the line arrived (epoch ms). */
  at: number;
  /** Which start of the server printed it (1 for the first). */
  start: number;
  text: string;
}

const STOP_GRACE_MS = 10_000;

export class DevServer {
  readonly baseUrl: string;
  /** Starts so far: 1 after the first, one more for each restart. */
  starts = 0;
  /** Times wrangler reloaded the Worker because a watched file changed (0 when serving a snapshot). */
  reloads = 0;
  private child: ChildProcess | null = null;
  private pgid: number | null = null;
  private exited: Promise<string> = Promise.resolve("not started");
  private exitedWith: string | null = null;
  private inspector: number | undefined;
  private readonly kept: LogLine[] = [];
  private readonly listeners: ((line: LogLine) => void)[] = [];
  private file: WriteStream | null;
  // Last resort if the process using the harness ends without stopping the server.
  private readonly onExit = () => this.killNow();

  constructor(private readonly opts: DevServerOptions) {
    this.baseUrl = `http://127.0.0.1:${opts.port}`;
    this.inspector = opts.inspectorPort;
    this.file = opts.logFile ? createWriteStream(opts.logFile, { flags: "a" }) : null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /**
   * wrangler's inspector port (the Chrome DevTools protocol; /json lists its targets), once start() has
   * picked it; the same port on every restart.
   */
  get inspectorPort(): number | null {
    return this.inspector ?? null;
  }

  /** The running server's process group (workerd and all), e.g. to read its CPU time. */
  get processGroup(): number | null {
    return this.child ? this.pgid : null;
  }

  /** Calls `listener` with every output line from now on, of this start and the next ones. */
  onLine(listener: (line: LogLine) => void): void {
    this.listeners.push(listener);
  }

  /** Spawns scripts/dev.mjs; `ready()` waits for it to serve. */
  async start(): Promise<void> {
    if (this.child) throw new Error("server already running");
    this.inspector ??= await freePort();
    const root = this.opts.root ?? projectRoot;
    const args = [
      path.join(root, "scripts/dev.mjs"),
      "--port",
      String(this.opts.port),
      "--persist-to",
      this.opts.persistTo,
      "--vars-file",
      this.opts.varsFile,
      ...(this.opts.dashboard ? [] : ["--skip-dashboard"]),
      ...(this.opts.quiet ? ["--quiet"] : []),
      "--",
      "--inspector-port",
      String(this.inspector),
    ];
    // Never interactive, never reloaded for a config change, no colour codes or metrics calls.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_CI_DISABLE_CONFIG_WATCHING: "true",
      NO_COLOR: "1",
      CI: "true",
    };
    delete env.PORT;
    delete env.PERSIST_TO;
    const child = spawn(process.execPath, args, {
      cwd: root,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid === undefined) throw new Error("could not start scripts/dev.mjs");
    if (this.starts === 0) process.on("exit", this.onExit);
    this.starts++;
    this.child = child;
    this.pgid = child.pid;
    this.exitedWith = null;
    this.mark(`server start #${this.starts} (pgid ${this.pgid})`);
    for (const stream of [child.stdout, child.stderr]) {
      const lines = new LineSplitter((text) => this.line(text));
      stream.on("data", (chunk: Buffer) => lines.push(chunk));
      stream.on("end", () => lines.end());
    }
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitedWith = `scripts/dev.mjs exited (code ${code}, signal ${signal})`;
        resolve(this.exitedWith);
      });
    });
  }

  /** Resolves once /v1/health answers 200; fails early, with the output's tail, if the server exits. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitedWith) throw new Error(`dev server not ready: ${this.exitedWith}\n${this.tailBlock()}`);
      // One try, bounded by a timer of its own as well as the abort signal: in one CI run (2026-12-05,
      // the soak's restart) a try whose answer came as its signal fired never settled, and nothing polled
      // again. A try that fails (not listening yet) or overruns counts as not ready.
      const status = await within(
        fetch(`${this.baseUrl}/v1/health`, { signal: AbortSignal.timeout(2_000) })
          .then(async (res) => {
            await res.arrayBuffer();
            return res.status;
          })
          .catch(() => undefined),
        3_000,
      );
      if (status === 200) return;
      await sleep(250);
    }
    throw new Error(`dev server not ready after ${timeoutMs} ms\n${this.tailBlock()}`);
  }

  /** The kept output lines that arrived between `from` and `to` (epoch ms). */
  lines(from = 0, to = Number.POSITIVE_INFINITY): LogLine[] {
    return this.kept.filter((l) => l.at >= from && l.at <= to);
  }

  /** The last `count` output lines, for error messages. */
  tail(count = 40): string {
    return this.kept
      .slice(-count)
      .map((l) => l.text)
      .join("\n");
  }

  /** The crash: SIGKILL to the whole process group, then wait (bounded) until all of it is gone. */
  async crash(): Promise<void> {
    const pgid = this.pgid;
    if (!this.child || pgid === null) throw new Error("no server to crash");
    this.mark("SIGKILL to the process group");
    signalGroup(pgid, "SIGKILL");
    await within(this.exited, STOP_GRACE_MS);
    if (!(await groupGone(pgid)))
      throw new Error(`process group ${pgid} still has live members after SIGKILL`);
    this.child = null;
  }

  /** The orderly end: SIGTERM, SIGKILL for whatever lingers, then the log file is closed. */
  async stop(): Promise<void> {
    const pgid = this.pgid;
    if (this.child && pgid !== null) {
      this.mark("SIGTERM to the process group");
      signalGroup(pgid, "SIGTERM");
      await within(this.exited, STOP_GRACE_MS);
      // Whatever is left of the group (workerd, esbuild) after dev.mjs exits or ignores SIGTERM.
      signalGroup(pgid, "SIGKILL");
      await groupGone(pgid, 5_000);
      this.child = null;
    }
    process.removeListener("exit", this.onExit);
    const file = this.file;
    this.file = null;
    if (file) {
      file.end();
      await once(file, "close").catch(() => {});
    }
  }

  /** Synchronous last resort (exit handler, signals, watchdog): never leave workerd behind. */
  killNow(): void {
    if (!this.child || this.pgid === null) return;
    try {
      signalGroup(this.pgid, "SIGKILL");
    } catch {
      // nothing more we can do
    }
  }

  private tailBlock(): string {
    return `--- server output (tail) ---\n${this.tail()}`;
  }

  private mark(what: string): void {
    this.file?.write(`${iso(Date.now())} === ${what} ===\n`);
  }

  private line(text: string): void {
    const line = { at: Date.now(), start: this.starts, text };
    this.file?.write(`${iso(line.at)} [#${line.start}] ${text}\n`);
    this.kept.push(line);
    const keep = this.opts.keepLines ?? 200;
    if (this.kept.length > keep) this.kept.splice(0, this.kept.length - keep);
    if (isReload(text)) this.reloads++;
    for (const listener of this.listeners) listener(line);
  }
}
