// The BullMQ + Redis peer as the comparison runs it: redis-server on 127.0.0.1 (AOF everysec, a temp
// dir), then `tools/bench/main.ts peer` in its own process group (its own event loop, as the scheduler
// has workerd's), both stopped on exit.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { ApiClient } from "../../harness/client";
import { groupGone, signalGroup } from "../../harness/process-group";
import { projectRoot as root } from "../../harness/project";
import { freePortFrom, type Log, sleep, within } from "../../harness/util";
import { DEFAULT_CONCURRENCY } from "../peer/queue";
import { startRedis } from "../peer/redis";
import type { SystemUnderTest } from "./system";

// The peer's packages are installed in its own folder (tools/bench/peer/package.json).
const require = createRequire(new URL("../peer/package.json", import.meta.url));
const versionOf = (pkg: string): string => (require(`${pkg}/package.json`) as { version: string }).version;

export async function startPeer(o: { firstPort: number; redisPort: number }, log: Log) {
  const redis = await startRedis(o.redisPort, log);
  const port = await freePortFrom(o.firstPort);
  const output: { at: number; text: string }[] = [];
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "tools/bench/main.ts",
      "peer",
      "--port",
      String(port),
      "--redis-port",
      String(o.redisPort),
    ],
    { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const pgid = child.pid;
  if (pgid === undefined) throw new Error("could not start the BullMQ peer");
  const keep = (chunk: Buffer) => {
    const at = Date.now();
    for (const text of chunk.toString("utf8").split("\n"))
      if (text && output.length < 10_000) output.push({ at, text });
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = once(child, "exit");
  const onExit = () => signalGroup(pgid, "SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    signalGroup(pgid, "SIGTERM");
    await within(exited, 10_000);
    signalGroup(pgid, "SIGKILL");
    await groupGone(pgid, 5_000);
    process.removeListener("exit", onExit);
    await redis.stop();
  };

  const api = new ApiClient(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const health = await api.request("GET", "/v1/health").catch(() => null);
    if (health?.status === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `the BullMQ peer did not start:\n${output
          .slice(-30)
          .map((l) => l.text)
          .join("\n")}`,
      );
    }
    await sleep(200);
  }
  log(`peer: BullMQ ${versionOf("bullmq")} peer ready on 127.0.0.1:${port}`);
  let tenants = 0;
  const system: SystemUnderTest = {
    name: "bullmq",
    call: (method, route, token, body) => api.request(method, route, { token, body }),
    tenant: async (keys) => {
      tenants++;
      return Array.from({ length: keys }, (_, i) => `peer-tenant-${tenants}-key-${i}`);
    },
    describe: () => ({
      port,
      bullmq: versionOf("bullmq"),
      ioredis: versionOf("ioredis"),
      redis: redis.version,
      redis_settings: "127.0.0.1, appendonly yes, appendfsync everysec, maxmemory-policy noeviction",
      worker_concurrency: DEFAULT_CONCURRENCY,
      started_as: "node --import tsx tools/bench/main.ts peer (HTTP API and BullMQ Worker in one process)",
    }),
    errorsSince: (from) => {
      const lines = output.filter((l) => l.at >= from && /error|exception/i.test(l.text));
      return { count: lines.length, first: lines.slice(0, 5).map((l) => l.text.slice(0, 300)) };
    },
    processGroups: () => [pgid, redis.pgid],
    stop,
  };
  return system;
}
