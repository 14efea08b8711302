// Debian's redis-server for the BullMQ peer: found on PATH, installed with apt-get when missing and
// running as root (otherwise the error says what to install), started on 127.0.0.1 with a private
// temporary directory and AOF (appendfsync everysec, the setting the issue measured), in its own
// process group, and killed with its directory on stop or on exit.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { groupGone, signalGroup } from "../../harness/process-group";

const INSTALL_HINT = "apt-get install -y redis-server   (Debian/Ubuntu, as root)";

function onPath(binary: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/** The redis-server binary; installs Debian's package first if it is missing and we are root. */
export function ensureRedisServer(log: (msg: string) => void): string {
  const found = onPath("redis-server");
  if (found) return found;
  if (process.getuid?.() !== 0)
    throw new Error(`redis-server is not installed; install it with:\n  ${INSTALL_HINT}`);
  log("peer: redis-server missing; running apt-get install -y redis-server");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) =>
    execFileSync("apt-get", args, { env, stdio: ["ignore", "ignore", "inherit"] });
  try {
    apt(["install", "-y", "-q", "redis-server"]);
  } catch {
    // A fresh machine has no package lists yet.
    apt(["update", "-q"]);
    apt(["install", "-y", "-q", "redis-server"]);
  }
  const installed = onPath("redis-server");
  if (!installed) throw new Error(`apt-get installed no redis-server; install it with:\n  ${INSTALL_HINT}`);
  return installed;
}

/** True once the server answers PING with PONG. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

export interface RedisServer {
  port: number;
  dir: string;
  version: string;
  /** redis-server's process group (the comparison reads its CPU time). */
  pgid: number;
  stop(): Promise<void>;
}

export async function startRedis(port: number, log: (msg: string) => void): Promise<RedisServer> {
  const binary = ensureRedisServer(log);
  if (await pong(port)) throw new Error(`something already answers on 127.0.0.1:${port}; not starting Redis`);
  const version = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
  const dir = await mkdtemp(path.join(os.tmpdir(), "bullmq-peer-redis-"));
  // biome-ignore format: flag and value pairs read best on one line
  const args = [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--appendonly", "yes", "--appendfsync", "everysec",
    // BullMQ requires that Redis never evicts its keys.
    "--maxmemory-policy", "noeviction",
    "--daemonize", "no", "--logfile", path.join(dir, "redis.log"),
  ];
  const child = spawn(binary, args, { detached: true, stdio: "ignore" });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error("could not start redis-server");
  const kill = () => signalGroup(pgid, "SIGKILL");
  process.once("exit", kill);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const stop = async () => {
    kill();
    await groupGone(pgid, 5_000);
    process.removeListener("exit", kill);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await pong(port))) {
    if (exited || Date.now() > deadline) {
      const logTail = await readFile(path.join(dir, "redis.log"), "utf8").catch(() => "(no log)");
      await stop();
      throw new Error(`redis-server did not start on 127.0.0.1:${port}:\n${logTail.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`peer: ${version.split(" ").slice(0, 3).join(" ")} on 127.0.0.1:${port} (AOF everysec, dir ${dir})`);
  return { port, dir, version, pgid, stop };
}
