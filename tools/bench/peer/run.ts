// `npm run bench -- peer`: the BullMQ + Redis peer alone: the comparison's scenarios' contract subset
// (POST /v1/jobs, POST /v1/jobs/batch, GET /v1/jobs/:id, GET /v1/health) on 127.0.0.1, backed by
// BullMQ delayed jobs and a Worker in this process. See tools/bench/peer/README.md.
//
//   npm run bench -- peer --port 8865 --redis-port 6390 [--start-redis] [--concurrency 100]
//
// The comparison (tools/bench/compare/) starts Redis itself and then this command in a process of its
// own; --start-redis is for running the peer alone (it starts and stops its own redis-server, see redis.ts).
import { once } from "node:events";
import { parseCommand } from "../../harness/cli";
import { createPeerServer } from "./http-api";
import { DEFAULT_CONCURRENCY, PeerQueue } from "./queue";
import { type RedisServer, startRedis } from "./redis";

const log = (msg: string) => process.stderr.write(`${msg}\n`);

const usage = `usage: npm run bench -- peer [options]
  --port N            its HTTP API (8865)
  --redis-port N      the Redis it uses (6390)
  --start-redis       start (and stop) a redis-server of its own on that port
  --concurrency N     BullMQ Worker concurrency (${DEFAULT_CONCURRENCY})
  --queue NAME        BullMQ queue name (scheduler-peer)`;

function options(argv: string[]) {
  const cli = parseCommand(argv, {
    name: "peer",
    usage,
    options: {
      port: { type: "string", default: "8865" },
      "redis-port": { type: "string", default: "6390" },
      "start-redis": { type: "boolean", default: false },
      concurrency: { type: "string", default: String(DEFAULT_CONCURRENCY) },
      queue: { type: "string", default: "scheduler-peer" },
    },
  });
  const { values, integer: int } = cli;
  return {
    port: int("port", values.port, 1024, 65535),
    redisPort: int("redis-port", values["redis-port"], 1024, 65535),
    startRedis: values["start-redis"],
    concurrency: int("concurrency", values.concurrency, 1, 1000),
    queueName: values.queue,
  };
}

/** Serves until SIGINT, SIGTERM or SIGHUP. */
export async function main(argv: string[]): Promise<undefined> {
  const o = options(argv);
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
