// `npm run bench -- requests`: what one API request costs each process of a local `wrangler dev`, by
// kind of request, so a single submit's cost splits into the floor every request pays locally (wrangler's
// proxy workerd in front, Miniflare's entry Worker and the HTTP exchange on the thread that runs ours)
// and what the scheduler adds (authentication, its Durable Object RPC, the SQLite write). A private
// `wrangler dev --quiet` (a server session of tools/harness); one user with keys enough that the rate
// limit never answers; then for each kind, N requests from C clients at once, with /proc read before and
// after (tools/harness/cpu-window.ts): each process's CPU and its main thread's, per request.
//
//   npm run bench -- requests [--requests N] [--clients C] [--kinds health,get,submit] [--save WHAT] [--out FILE]
import { readFileSync } from "node:fs";
import os from "node:os";
import type { Job } from "../../harness/api-types";
import { parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import { type CpuWindow, cpuBetween, cpuSnapshot } from "../../harness/cpu-window";
import { guardMeasurement } from "../../harness/run-guard";
import { writeRunSummary } from "../../harness/run-summary";
import { ServerSession } from "../../harness/session";
import { round } from "../../harness/stats";
import { makeLog, mapLimit, sleep } from "../../harness/util";
import { keyFor, keysFor } from "../compare/system";

const usage = `usage: npm run bench -- requests [options]
  --requests N     requests of each kind (2000)
  --clients C      sent at once (16)
  --kinds LIST     of health (GET /v1/health: no auth, no shard), get (GET /v1/jobs/:id: auth and one
                   shard read), submit (POST /v1/jobs of a job due in a day: auth, one shard write)
                   (health,get,submit)
  --save WHAT      also write the JSON to docs/results/bench/<date>-<commit>-<WHAT>.json
  --out FILE       also write the JSON to FILE
  --max-seconds N  watchdog for the whole run (900)`;

const KINDS = ["health", "get", "submit"] as const;
type Kind = (typeof KINDS)[number];

/** One kind's figures: each process's CPU per request, and its main thread's. */
interface KindResult {
  kind: Kind;
  requests: number;
  per_second: number;
  processes: { command: string; cpu_ms_per_request: number; main_thread_ms_per_request: number | null }[];
  cpu: CpuWindow;
}

/**
 * A process's part: wrangler's proxy workerd listens on the API port itself (`--socket-addr=entry=…:port`);
 * the workerd that runs the Worker, its Durable Objects, queues and D1 listens on a port of its own.
 */
function role(pid: number, command: string, apiPort: string): string {
  if (command !== "workerd") return command;
  let args: string[] = [];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return command;
  }
  return args.includes(`--socket-addr=entry=127.0.0.1:${apiPort}`)
    ? "workerd (wrangler's proxy)"
    : "workerd (the Worker)";
}

function perRequest(
  kind: Kind,
  requests: number,
  seconds: number,
  cpu: CpuWindow,
  apiPort: string,
): KindResult {
  const perReq = (cores: number) => round((cores * cpu.seconds * 1000) / requests, 3);
  return {
    kind,
    requests,
    per_second: round(requests / seconds, 1),
    processes: cpu.processes.map((p) => ({
      command: role(p.pid, p.command, apiPort),
      cpu_ms_per_request: perReq(p.cores),
      main_thread_ms_per_request: p.main_thread === null ? null : perReq(p.main_thread.running),
    })),
    cpu,
  };
}

export async function main(argv: string[]): Promise<undefined> {
  const cli = parseCommand(argv, {
    name: "bench requests",
    usage,
    options: {
      requests: { type: "string", default: "2000" },
      clients: { type: "string", default: "16" },
      kinds: { type: "string", default: KINDS.join(",") },
      save: { type: "string" },
      out: { type: "string" },
      "max-seconds": { type: "string", default: "900" },
    },
  });
  const requests = cli.integer("requests", cli.values.requests, 100, 100_000);
  const clients = cli.integer("clients", cli.values.clients, 1, 256);
  const kinds = cli.list("kinds", cli.values.kinds, KINDS);
  const save = cli.what("save", cli.values.save);
  const maxSeconds = cli.number("max-seconds", cli.values["max-seconds"], 60, 3600);
  const t0 = Date.now();
  const log = makeLog(t0);
  const session = new ServerSession({ name: "requests", quiet: true });
  const cleanup = () => session.close().catch(() => {});
  const guard = guardMeasurement("requests", maxSeconds, log, cleanup);
  const results: KindResult[] = [];
  try {
    await session.start();
    const { server, adminToken } = session;
    const api = new ApiClient(server.baseUrl);
    const user = await api.createUser(adminToken, "bench-requests");
    // Every request of every kind (and the warm-ups) under the per-key rate limit.
    const keys = await api.keys(adminToken, user, keysFor(requests * kinds.length) + 1);
    const later = () => new Date(Date.now() + 86_400_000).toISOString();
    const job = (await api.submit(user.api_key, { type: "noop", run_at: later() })).body as Job;
    const send: Record<Kind, (i: number) => Promise<unknown>> = {
      health: () => api.expect([200], "GET", "/v1/health"),
      get: (i) => api.expect([200], "GET", `/v1/jobs/${job.id}`, { token: keyFor(keys, i) }),
      submit: (i) =>
        api.expect([201], "POST", "/v1/jobs", {
          token: keyFor(keys, i),
          body: { type: "noop", run_at: later() },
        }),
    };
    const groups = [server.processGroup].filter((g): g is number => g !== null);
    for (const kind of kinds) {
      // A few first, so the Worker is warm and the keys are verified before the window opens.
      await mapLimit([...keys.keys()], clients, (i) => send[kind](i));
      await sleep(2_000);
      const before = cpuSnapshot(groups);
      const started = performance.now();
      await mapLimit([...Array(requests).keys()], clients, (i) => send[kind](i));
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuBetween(before, cpuSnapshot(groups), os.availableParallelism());
      const result = perRequest(kind, requests, seconds, cpu, new URL(server.baseUrl).port);
      results.push(result);
      const parts = result.processes
        .filter((p) => p.cpu_ms_per_request >= 0.01)
        .map(
          (p) =>
            `${p.command} ${p.cpu_ms_per_request} ms (main thread ${p.main_thread_ms_per_request ?? "?"})`,
        );
      log(`requests: ${kind}: ${result.per_second}/s; per request ${parts.join(", ")}`);
      // Let the submits' index copies settle before the next kind.
      await sleep(3_000);
    }
  } finally {
    guard.dispose();
    writeRunSummary({
      name: "requests",
      argv,
      session,
      startedAt: t0,
      save,
      out: cli.values.out,
      fields: { requests_each: requests, clients, results },
      log,
    });
    await cleanup();
  }
}
