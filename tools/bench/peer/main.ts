// The BullMQ + Redis peer: the comparison's scenarios' contract subset (POST /v1/jobs,
// POST /v1/jobs/batch, GET /v1/jobs/:id, GET /v1/health) on 127.0.0.1, backed by BullMQ delayed jobs
// and a Worker in this process. See bench/peer/README.md.
//
//   node --import tsx bench/peer/main.ts --port 8865 --redis-port 6390 [--start-redis] [--concurrency 25]
//
// bench/compare.ts starts Redis itself and then this process; --start-redis is for running the peer
// alone (it starts and stops its own redis-server, see redis.ts).
import { once } from "node:events";
import { parseArgs } from "node:util";
import { createPeerServer } from "./http-api";
import { DEFAULT_CONCURRENCY, PeerQueue } from "./queue";
import { type RedisServer, startRedis } from "./redis";

const log = (msg: string) => process.stderr.write(`${msg}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8865" },
      "redis-port": { type: "string", default: "6390" },
      "start-redis": { type: "boolean", default: false },
      concurrency: { type: "string", default: String(DEFAULT_CONCURRENCY) },
      queue: { type: "string", default: "scheduler-peer" },
    },
  });
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      log(`peer: --${name} must be an integer in ${min}..${max}`);
      process.exit(2);
    }
    return n;
  };
  return {
    port: int("port", values.port, 1024, 65535),
    redisPort: int("redis-port", values["redis-port"], 1024, 65535),
    startRedis: values["start-redis"],
    concurrency: int("concurrency", values.concurrency, 1, 1000),
    queueName: values.queue,
  };
}

async function main() {
  const o = options();
  let redis: RedisServer | undefined;
  if (o.startRedis) redis = await startRedis(o.redisPort, log);
  const queue = new PeerQueue({ redisPort: o.redisPort, concurrency: o.concurrency, queueName: o.queueName });
  await queue.ready();
  const server = createPeerServer(queue);
  server.listen(o.port, "127.0.0.1");
  await once(server, "listening");
  log(
    `peer: BullMQ peer on http://127.0.0.1:${o.port} (Redis 127.0.0.1:${o.redisPort}, concurrency ${o.concurrency})`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`peer: ${signal}, stopping`);
    const force = setTimeout(() => process.exit(1), 10_000);
    server.closeAllConnections();
    server.close();
    await queue.close().catch(() => {});
    await redis?.stop();
    clearTimeout(force);
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.once(signal, () => void stop(signal));
}

main().catch((err) => {
  log(`peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
