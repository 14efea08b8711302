// Phase 1, start: the server session (harness/session.ts: a temporary folder with the state, a vars
// file and the server log, a frozen copy of the code, the webhook target) and the server started as
// `npm run dev` starts it.
import { randomUUID } from "node:crypto";
import type { CreatedUser } from "../../harness/api-types";
import { ApiClient } from "../../harness/client";
import type { DevServer } from "../../harness/dev-server";
import { headCommit } from "../../harness/project";
import { type Code, ServerSession } from "../../harness/session";
import { byRoute, type Target } from "../../harness/target";
import type { Log } from "../../harness/util";
import { seededRandom } from "../lib/random";
import { ServerLog } from "../lib/server-log";
import type { SoakOptions } from "../options";

/** Everything the later phases share. */
export interface Soak {
  opts: SoakOptions;
  log: Log;
  /** Names this run's users and idempotency keys apart from any other run's. */
  runId: string;
  /** The session's folder: state, server log, and the raw records when the run is kept. */
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

/**
 * The soak's session, not started yet: its server variables, and a target that answers /ok 200 at once
 * (or after --ok-ms), /fail 500 always, /hang 200 only after the job's timeout (so the executor gives
 * up), verifying each delivery with the signing secret of the user it names (one of `users`).
 */
export function soakSession(opts: SoakOptions, users: CreatedUser[]): ServerSession {
  return new ServerSession({
    name: "soak",
    vars: [
      `DISPATCH_DEADLINE_SECONDS=${opts.dispatchDeadline}`,
      `LEASE_GRACE_SECONDS=${opts.leaseGrace}`,
      `INDEX_FLUSH_DELAY_MS=${opts.indexFlushMs}`,
    ],
    code: opts.code,
    ...(opts.port ? { port: opts.port } : { firstPort: 8900 }),
    logFile: true,
    target: {
      answer: byRoute({
        "/ok": { status: 200, afterMs: opts.okMs },
        "/fail": { status: 500 },
        "/hang": { status: 200, afterMs: opts.hangMs },
      }),
      secretFor: (d) => users[userOf(d.body) ?? -1]?.signing_secret,
    },
    keepState: opts.keepState,
  });
}

export async function start(
  opts: SoakOptions,
  session: ServerSession,
  users: CreatedUser[],
  log: Log,
): Promise<Soak> {
  log(
    `seed ${opts.seed}; ${opts.jobs} jobs, ${opts.users} users, ${opts.kills} kills, ${opts.duration} s window; ` +
      `state in ${session.dir}`,
  );
  const serverLog = new ServerLog(session);
  const serverStartS = Number(((await session.start(180_000)) / 1000).toFixed(1));
  const { server, target, snapshot } = session;
  log(
    snapshot
      ? `running a snapshot (${opts.code === "head" ? "HEAD" : "working tree"}: commit ${snapshot.commit?.slice(0, 12)}, ` +
          `${snapshot.uncommittedChanges?.length ?? "?"} uncommitted changes)`
      : "running the live working tree (wrangler reloads on every source change)",
  );
  log(`server ready on ${server.baseUrl} after ${serverStartS} s; target ${target.url("/")}`);

  return {
    opts,
    log,
    runId: randomUUID().slice(0, 8),
    tmp: session.dir,
    random: seededRandom(opts.seed),
    adminToken: session.adminToken,
    target,
    server,
    serverLog,
    api: new ApiClient(server.baseUrl, { timeoutMs: 15_000 }),
    users,
    code: {
      from: opts.code,
      live: snapshot === null,
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
