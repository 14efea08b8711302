// A server session: everything a tool needs around a private `wrangler dev`, in one place for the
// benchmarks, the soak and the end-to-end tests. A temporary folder (scheduler-<name>-XXXXXX) holds
// the server's state, its vars file (a random admin token and cursor secret, ALLOW_PRIVATE_TARGETS=true
// for the local target, then the caller's variables), its log and, unless the live tree is served, a
// frozen copy of the code (its src/ from another commit when asked, for a before/after); the server is
// harness/dev-server.ts (started as `npm run dev` starts it), with a webhook target (harness/target.ts)
// beside it when asked for. close() stops both and removes the folder unless the state is to be kept.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DevServer, type LogLine } from "./dev-server";
import { projectRoot, type Snapshot, snapshotProject } from "./project";
import { startTarget, type Target, type TargetOptions } from "./target";
import { freePort, freePortFrom } from "./util";

/** What the server runs: a copy of the working tree, of HEAD's committed tree, or the tree itself. */
export type Code = "tree" | "head" | "live";

export interface SessionOptions {
  /** Names the temporary folder and the admin token: "bench", "soak", "e2e-callback". */
  name: string;
  /** More NAME=value lines for the vars file, after the session's own (a later line wins). */
  vars?: readonly string[];
  /** "tree" (default): wrangler then never reloads mid-run, however the working tree changes. */
  code?: Code;
  /**
   * Serve src/ as of this commit (a hash, tag or branch), the rest as `code` says: the "before" of a
   * before/after. Not with the live tree.
   */
  srcFrom?: string;
  /** The API port; otherwise the first free one from `firstPort`, or any free one. */
  port?: number;
  firstPort?: number;
  /** Also write the server's output to <folder>/server.log. */
  logFile?: boolean;
  /** Output lines kept in memory (DevServer's keepLines). */
  keepLines?: number;
  /** Build and serve the web dashboard (DevServer's dashboard). */
  dashboard?: boolean;
  /** Warnings and errors only, no line per request (DevServer's quiet). */
  quiet?: boolean;
  /** Start a webhook target too (before the server), answering as these options say. */
  target?: TargetOptions;
  /** Leave the folder behind on close (it can also be decided later: `keepState`). */
  keepState?: boolean;
}

export class ServerSession {
  readonly adminToken: string;
  /** The folder is left behind on close when set. */
  keepState: boolean;
  readonly dir: string;
  readonly persistTo: string;
  readonly varsFile: string;
  readonly logFile: string | null;
  private current: DevServer | null = null;
  private webhooks: Target | null = null;
  private copy: Snapshot | null = null;
  private closing: Promise<void> | null = null;
  private readonly listeners: ((line: LogLine) => void)[] = [];

  /** Creates the folder and the vars file; start() copies the code and starts the server. */
  constructor(private readonly opts: SessionOptions) {
    if (opts.srcFrom !== undefined && opts.code === "live")
      throw new Error(`${opts.name}: src/ from another commit needs a copy of the code, not the live tree`);
    this.adminToken = `${opts.name}-admin-${randomUUID()}`;
    this.keepState = opts.keepState ?? false;
    this.dir = mkdtempSync(path.join(os.tmpdir(), `scheduler-${opts.name}-`));
    this.persistTo = path.join(this.dir, "state");
    this.varsFile = path.join(this.dir, "server.vars");
    this.logFile = opts.logFile ? path.join(this.dir, "server.log") : null;
    // Passed to wrangler as --env-file (scripts/dev.mjs --vars-file): these override [vars] in wrangler.toml.
    const vars = [
      `ADMIN_TOKEN=${this.adminToken}`,
      `CURSOR_SECRET=${randomUUID()}`,
      "ALLOW_PRIVATE_TARGETS=true",
      ...(opts.vars ?? []),
    ];
    writeFileSync(this.varsFile, `${vars.join("\n")}\n`);
  }

  /** The server; throws before start(). */
  get server(): DevServer {
    if (!this.current) throw new Error(`${this.opts.name}: the server has not been started`);
    return this.current;
  }

  /** The webhook target; throws before start() or when none was asked for. */
  get target(): Target {
    if (!this.webhooks) throw new Error(`${this.opts.name}: no webhook target`);
    return this.webhooks;
  }

  /** The API port, once start() has picked it. */
  get port(): number | null {
    return this.current ? Number(new URL(this.current.baseUrl).port) : null;
  }

  /** The copy served (null for the live tree or before start()). */
  get snapshot(): Snapshot | null {
    return this.copy;
  }

  /** Calls `listener` with every output line of the server, from its first start on. */
  onLine(listener: (line: LogLine) => void): void {
    if (this.current) this.current.onLine(listener);
    else this.listeners.push(listener);
  }

  /**
   * Starts the target (if asked for), copies the code (unless live), picks the ports, starts the server and waits until it answers;
   * resolves with the milliseconds it took to become ready.
   */
  async start(readyTimeoutMs = 120_000): Promise<number> {
    if (this.opts.target) this.webhooks = await startTarget(this.opts.target);
    const code = this.opts.code ?? "tree";
    const root = code === "live" ? projectRoot : path.join(this.dir, "project");
    if (code !== "live") this.copy = snapshotProject(root, code, this.opts.srcFrom);
    const port =
      this.opts.port ?? (this.opts.firstPort ? await freePortFrom(this.opts.firstPort) : await freePort());
    const inspectorPort = this.opts.firstPort ? await freePortFrom(port + 1, [port]) : await freePort();
    const server = new DevServer({
      root,
      port,
      inspectorPort,
      persistTo: this.persistTo,
      varsFile: this.varsFile,
      ...(this.logFile ? { logFile: this.logFile } : {}),
      ...(this.opts.keepLines ? { keepLines: this.opts.keepLines } : {}),
      ...(this.opts.dashboard ? { dashboard: true } : {}),
      ...(this.opts.quiet ? { quiet: true } : {}),
    });
    for (const listener of this.listeners) server.onLine(listener);
    this.current = server;
    const started = Date.now();
    await server.start();
    await server.ready(readyTimeoutMs);
    return Date.now() - started;
  }

  /**
   * Commit, the commit of src/ when it came from another one, uncommitted changes and src/ digest of
   * what is served, for a results file.
   */
  source() {
    return {
      commit: this.copy?.commit ?? null,
      src_from: this.copy?.srcFrom ?? null,
      uncommitted_changes_in_served_files: this.copy?.uncommittedChanges?.length ?? null,
      src_digest: this.copy?.srcDigest ?? null,
    };
  }

  /**
   * Stops the server and the target, then removes the folder unless the state is kept. Once: a later
   * call (a watchdog or a signal while the run ends by itself) waits for the same closing.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = await Promise.allSettled([this.current?.stop(), this.webhooks?.close()]);
      this.removeFolder();
      const failed = stopped.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    })();
    return this.closing;
  }

  /** Synchronous last resort (exit, watchdog): kills the server's process group, removes the folder. */
  closeNow(): void {
    this.current?.killNow();
    this.removeFolder();
  }

  private removeFolder(): void {
    if (!this.keepState) rmSync(this.dir, { recursive: true, force: true });
  }
}
