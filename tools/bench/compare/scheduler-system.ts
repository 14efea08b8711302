// This project as the comparison runs it: a private `wrangler dev` started the way `npm run dev` starts
// it (scripts/dev.mjs, from a frozen copy of the project), on its own port, state directory and vars
// file (ALLOW_PRIVATE_TARGETS=true for the local target, a random admin token). Nothing is tuned: the
// vars are .dev.vars.example's, the rest is wrangler.toml's. It is served quiet (`npm run dev -- --quiet`)
// unless asked otherwise: wrangler's line per request served costs its proxy and its node ~1.2 ms of
// CPU a request on the same two cores, and BullMQ's server logs no line per request either
// (docs/benchmarks.md, "Peer comparison").
import { isErrorEvent } from "../../../src/log";
import { ApiClient } from "../../harness/client";
import { parseEvent } from "../../harness/log-events";
import { ServerSession } from "../../harness/session";
import type { Log } from "../../harness/util";
import type { SystemUnderTest } from "./system";

/** wrangler's own calls home, which fail on a machine without internet access: not the scheduler's. */
const OFFLINE = /ENOTFOUND workers\.cloudflare\.com/;

/**
 * A server line that tells of trouble: an event logged at the error level (an event's fields, such as
 * attempts_reported's `"failed": 0`, are not read as words), or another line naming an error or an
 * exception (a stack trace), but not Miniflare's queue lines nor wrangler's calls home.
 */
export function isTroubleLine(text: string): boolean {
  const event = parseEvent(text);
  if (event) return isErrorEvent(event.event);
  return /error|failed|exception/i.test(text) && !/QUEUE/.test(text) && !OFFLINE.test(text);
}

export async function startScheduler(o: { firstPort: number; keepState: boolean; quiet: boolean }, log: Log) {
  const session = new ServerSession({
    name: "compare",
    firstPort: o.firstPort,
    logFile: true,
    keepLines: 50_000,
    keepState: o.keepState,
    quiet: o.quiet,
  });
  const stop = () => session.close();
  try {
    log(`scheduler: starting wrangler dev (state ${session.dir})`);
    const readyMs = await session.start();
    log(
      `scheduler: ready on ${session.server.baseUrl} in ${readyMs} ms (src digest ${session.snapshot?.srcDigest})`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const { server, adminToken } = session;
  const port = session.port;
  const api = new ApiClient(server.baseUrl);
  let tenants = 0;
  const system: SystemUnderTest = {
    name: "scheduler",
    call: (method, route, token, body) => api.request(method, route, { token, body }),
    async tenant(keys) {
      const user = await api.createUser(adminToken, `compare-${++tenants}`);
      return api.keys(adminToken, user, keys);
    },
    describe: () => ({
      port,
      src_digest: session.source().src_digest,
      uncommitted_changes_in_served_files: session.source().uncommitted_changes_in_served_files,
      reloads: server.reloads,
      started_as: o.quiet
        ? "node scripts/dev.mjs --quiet (npm run dev -- --quiet: warnings and errors only, no line per request) from a copy of the project"
        : "node scripts/dev.mjs (npm run dev, wrangler's full log) from a copy of the project",
      vars: "ALLOW_PRIVATE_TARGETS=true, random ADMIN_TOKEN and CURSOR_SECRET; wrangler.toml otherwise",
      consumer_concurrency:
        "per dispatch queue one local batch of up to 25 messages at a time (max_batch_size = 25); a shard uses one queue",
      log: o.keepState ? session.logFile : null,
    }),
    errorsSince(from) {
      const lines = server.lines(from).filter((l) => isTroubleLine(l.text));
      return { count: lines.length, first: lines.slice(0, 5).map((l) => l.text.slice(0, 300)) };
    },
    processGroups: () => (server.processGroup === null ? [] : [server.processGroup]),
    stop,
  };
  return system;
}
