// Phase 1, start: ports, a vars file, the webhook target, a frozen copy of the code, and the server
// started as `npm run dev` starts it (harness/dev-server.ts).
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { CreatedUser } from "../../harness/api-types";
import { ApiClient } from "../../harness/client";
import { DevServer } from "../../harness/dev-server";
import { headCommit, projectRoot, snapshotProject } from "../../harness/project";
import { byRoute, startTarget, type Target } from "../../harness/target";
import { freePortFrom, type Log } from "../../harness/util";
import { seededRandom } from "../lib/random";
import { ServerLog } from "../lib/server-log";
import type { Code, SoakOptions } from "../options";

/** Everything the later phases share. */
export interface Soak {
  opts: SoakOptions;
  log: Log;
  /** Names this run's users and idempotency keys apart from any other run's. */
  runId: string;
  tmp: string;
  random: () => number;
  adminToken: string;
  target: Target;
  server: DevServer;
  serverLog: ServerLog;
  api: ApiClient;
  /** Filled by the load phase; the target verifies each delivery's signature with its user's secret. */
  users: CreatedUser[];
  /** What the server runs; `uncommittedChanges` is null when unknown (the live tree). */
  code: { from: Code; live: boolean; commit: string | null; uncommittedChanges: string[] | null };
  serverStartS: number;
}

/** What must be stopped on every way out, set as soon as it exists. */
export interface Held {
  server?: DevServer;
  target?: Target;
}

export async function start(opts: SoakOptions, tmp: string, log: Log, held: Held): Promise<Soak> {
  const apiPort = opts.port ?? (await freePortFrom(8900));
  const inspectorPort = await freePortFrom(apiPort + 1, [apiPort]);
  const targetPort = await freePortFrom(inspectorPort + 1, [apiPort, inspectorPort]);
  const adminToken = `soak-admin-${randomUUID()}`;
  const varsFile = path.join(tmp, "soak.vars");
  // Passed to wrangler as --env-file (scripts/dev.mjs --vars-file): these override [vars] in wrangler.toml.
  writeFileSync(
    varsFile,
    [
      `ADMIN_TOKEN=${adminToken}`,
      `CURSOR_SECRET=${randomUUID()}`,
      "ALLOW_PRIVATE_TARGETS=true",
      `DISPATCH_DEADLINE_SECONDS=${opts.dispatchDeadline}`,
      `LEASE_GRACE_SECONDS=${opts.leaseGrace}`,
      `INDEX_FLUSH_DELAY_MS=${opts.indexFlushMs}`,
      "",
    ].join("\n"),
  );
  log(
    `seed ${opts.seed}; ${opts.jobs} jobs, ${opts.users} users, ${opts.kills} kills, ${opts.duration} s window; ` +
      `ports api ${apiPort} inspector ${inspectorPort} target ${targetPort}; state in ${tmp}`,
  );

  const users: CreatedUser[] = [];
  // /ok 200 at once (or after --ok-ms), /fail 500 always, /hang 200 only after the job's timeout (so the
  // executor gives up).
  const target = await startTarget({
    port: targetPort,
    answer: byRoute({
      "/ok": { status: 200, afterMs: opts.okMs },
      "/fail": { status: 500 },
      "/hang": { status: 200, afterMs: opts.hangMs },
    }),
    secretFor: (d) => users[userOf(d.body) ?? -1]?.signing_secret,
  });
  held.target = target;

  const live = opts.code === "live";
  const root = live ? projectRoot : path.join(tmp, "tree");
  const snapshot = live ? null : snapshotProject(root, opts.code === "head" ? "head" : "tree");
  log(
    snapshot
      ? `running a snapshot (${opts.code === "head" ? "HEAD" : "working tree"}: commit ${snapshot.commit?.slice(0, 12)}, ` +
          `${snapshot.uncommittedChanges?.length ?? "?"} uncommitted changes)`
      : "running the live working tree (wrangler reloads on every source change)",
  );
  const server = new DevServer({
    root,
    port: apiPort,
    inspectorPort,
    persistTo: path.join(tmp, "state"),
    varsFile,
    logFile: path.join(tmp, "server.log"),
  });
  held.server = server;
  const serverLog = new ServerLog(server);
  const startedAt = Date.now();
  await server.start();
  await server.ready(180_000);
  const serverStartS = Number(((Date.now() - startedAt) / 1000).toFixed(1));
  log(`server ready on ${server.baseUrl} after ${serverStartS} s`);

  return {
    opts,
    log,
    runId: randomUUID().slice(0, 8),
    tmp,
    random: seededRandom(opts.seed),
    adminToken,
    target,
    server,
    serverLog,
    api: new ApiClient(server.baseUrl, { timeoutMs: 15_000 }),
    users,
    code: {
      from: opts.code,
      live,
      commit: snapshot ? snapshot.commit : headCommit(),
      uncommittedChanges: snapshot?.uncommittedChanges ?? null,
    },
    serverStartS,
  };
}

/** The user a delivery's payload names (`{"u": <index>, …}`), if it is one of ours. */
function userOf(body: string): number | null {
  try {
    const u = (JSON.parse(body) as { u?: unknown }).u;
    return typeof u === "number" ? u : null;
  } catch {
    return null;
  }
}
