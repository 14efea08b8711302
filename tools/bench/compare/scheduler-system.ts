// This project as the comparison runs it: a private `wrangler dev` started the way `npm run dev` starts
// it (scripts/dev.mjs, from a frozen copy of the project), on its own port, state directory and vars
// file (ALLOW_PRIVATE_TARGETS=true for the local target, a random admin token). Nothing is tuned: the
// vars are .dev.vars.example's, the rest is wrangler.toml's.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ApiClient } from "../../harness/client";
import { DevServer } from "../../harness/dev-server";
import { snapshotProject } from "../../harness/project";
import { freePortFrom, type Log } from "../../harness/util";
import type { SystemUnderTest } from "./system";

/** wrangler's own calls home, which fail on a machine without internet access: not the scheduler's. */
const OFFLINE = /ENOTFOUND workers\.cloudflare\.com/;

export async function startScheduler(o: { firstPort: number; keepState: boolean }, log: Log) {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "scheduler-compare-"));
  const adminToken = `compare-admin-${randomUUID()}`;
  const varsFile = path.join(tmp, "compare.vars");
  await writeFile(
    varsFile,
    [`ADMIN_TOKEN=${adminToken}`, `CURSOR_SECRET=${randomUUID()}`, "ALLOW_PRIVATE_TARGETS=true", ""].join(
      "\n",
    ),
  );
  const snapshot = snapshotProject(path.join(tmp, "project"));
  const port = await freePortFrom(o.firstPort);
  const inspectorPort = await freePortFrom(port + 1, [port]);
  const logFile = path.join(tmp, "wrangler.log");
  log(`scheduler: wrangler dev on 127.0.0.1:${port} (src digest ${snapshot.srcDigest}, state ${tmp})`);
  const server = new DevServer({
    root: snapshot.root,
    port,
    inspectorPort,
    persistTo: path.join(tmp, "state"),
    varsFile,
    logFile,
    keepLines: 50_000,
  });
  const stop = async () => {
    await server.stop();
    if (!o.keepState) await rm(tmp, { recursive: true, force: true });
  };
  try {
    const started = Date.now();
    await server.start();
    await server.ready();
    log(`scheduler: ready in ${Date.now() - started} ms`);
  } catch (err) {
    await stop();
    throw err;
  }
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
      src_digest: snapshot.srcDigest,
      uncommitted_changes_in_served_files: snapshot.uncommittedChanges?.length ?? null,
      reloads: server.reloads,
      started_as: "node scripts/dev.mjs (npm run dev) from a copy of the project",
      vars: "ALLOW_PRIVATE_TARGETS=true, random ADMIN_TOKEN and CURSOR_SECRET; wrangler.toml otherwise",
      consumer_concurrency:
        "per dispatch queue one local batch of up to 25 messages at a time (max_batch_size = 25); a shard uses one queue",
      log: o.keepState ? logFile : null,
    }),
    errorsSince(from) {
      const lines = server
        .lines(from)
        .filter(
          (l) => /error|failed|exception/i.test(l.text) && !/QUEUE/.test(l.text) && !OFFLINE.test(l.text),
        );
      return { count: lines.length, first: lines.slice(0, 5).map((l) => l.text.slice(0, 300)) };
    },
    stop,
  };
  return system;
}
