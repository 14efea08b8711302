import type { Job } from "../../harness/api-types";
import { parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import { groupCpuMs } from "../../harness/process-group";
import { guardMeasurement } from "../../harness/run-guard";
import { writeRunSummary } from "../../harness/run-summary";
import { ServerSession } from "../../harness/session";
import { makeLog, poll, sleep } from "../../harness/util";

const usage = `usage: npm run bench -- watch [options]
  --watchers N        jobs, each watched by one socket (100; at most 200, the per-shard limit)
  --idle-seconds S    each idle stretch (20)
  --save WHAT         also write the JSON to docs/results/bench/<date>-<commit>-<WHAT>.json
  --max-seconds N     watchdog for the whole run (600)`;

interface Watcher {
  socket: WebSocket;
  messages: number;
}

function openWatcher(baseUrl: string, token: string, id: string): Promise<Watcher> {
  const url = new URL(`/v1/jobs/${id}/watch`, baseUrl);
  url.protocol = "ws:";
  const socket = new WebSocket(url, [`bearer.${token}`]);
  const watcher: Watcher = { socket, messages: 0 };
  return new Promise((resolve, reject) => {
    socket.addEventListener("message", () => {
      watcher.messages += 1;
      if (watcher.messages === 1) resolve(watcher);
    });
    socket.addEventListener("error", () => reject(new Error(`the watch of ${id} failed`)));
  });
}

/** The server's CPU time over `seconds` of doing nothing. */
async function idleCpuMs(pgid: number | null, seconds: number): Promise<number> {
  const before = groupCpuMs(pgid);
  await sleep(seconds * 1000);
  return groupCpuMs(pgid) - before;
}

export async function main(argv: string[]): Promise<undefined> {
  const cli = parseCommand(argv, {
    name: "bench watch",
    usage,
    options: {
      watchers: { type: "string", default: "100" },
      "idle-seconds": { type: "string", default: "20" },
      save: { type: "string" },
      "max-seconds": { type: "string", default: "600" },
    },
  });
  const watchers = cli.integer("watchers", cli.values.watchers, 1, 200);
  const idle = cli.number("idle-seconds", cli.values["idle-seconds"], 5, 600);
  const save = cli.what("save", cli.values.save);
  const maxSeconds = cli.number("max-seconds", cli.values["max-seconds"], 60, 3600);
  const t0 = Date.now();
  const log = makeLog(t0);
  const session = new ServerSession({ name: "watch" });
  const cleanup = () => session.close().catch(() => {});
  const guard = guardMeasurement("watch", maxSeconds, log, cleanup);
  const results: Record<string, unknown> = {};
  const open: Watcher[] = [];
  try {
    await session.start();
    const { server, adminToken } = session;
    const api = new ApiClient(server.baseUrl);
    const user = await api.createUser(adminToken, "bench-watch");
    const runAt = new Date(Date.now() + 86_400_000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < watchers; i++)
      ids.push((await api.submit(user.api_key, { type: "noop", run_at: runAt })).body.id);
    // Let the submits' index copies and alarms settle before measuring anything.
    await sleep(5_000);
    log(`watch: ${watchers} jobs; measuring ${idle} s idle without watchers`);
    const without = await idleCpuMs(server.processGroup, idle);
    for (const id of ids) open.push(await openWatcher(server.baseUrl, user.api_key, id));
    await sleep(2_000);
    log(`watch: ${open.length} watchers open; measuring ${idle} s idle with them`);
    const withWatchers = await idleCpuMs(server.processGroup, idle);
    const messagesWhileIdle = open.reduce((n, w) => n + w.messages - 1, 0);
    // Alive all along: a change reaches its watcher.
    const first = open[0] as Watcher;
    await api.expect<Job>([200], "DELETE", `/v1/jobs/${ids[0]}`, { token: user.api_key });
    await poll(
      "the cancel to reach its watcher",
      async () => first.messages,
      (n) => n >= 2,
      { timeoutMs: 10_000 },
    );
    results.idle = {
      watchers: open.length,
      idle_seconds: idle,
      server_cpu_ms_without_watchers: without,
      server_cpu_ms_with_watchers: withWatchers,
      server_cpu_ms_added_per_watcher_per_minute:
        Math.round(((withWatchers - without) / open.length / idle) * 60 * 1000) / 1000,
      messages_sent_while_idle: messagesWhileIdle,
      change_reached_its_watcher: first.messages >= 2,
    };
    log(`watch: ${JSON.stringify(results.idle)}`);
  } finally {
    guard.dispose();
    for (const w of open) w.socket.close(1000, "done");
    const json = writeRunSummary({
      name: "watch",
      argv,
      session,
      startedAt: t0,
      save,
      fields: { results },
      log,
    });
    await cleanup();
    console.log(json);
  }
}
