// The end-to-end setups, for a describe block. devFixture: the e2e project's shared `npm run dev`
// server (test/e2e/shared-server.ts starts it once per run; this waits until it answers) and a webhook
// target of the file's own. ownDevFixture: a server of the file's own, for a test that crashes and
// restarts it or needs the dashboard built: a server session (tools/harness/session.ts: a fresh state
// folder, a vars file with a random admin token, passed on as wrangler's --env-file, so the developer's
// .dev.vars is neither needed nor touched) on the working tree, with its target. Everything started is
// stopped and removed afterwards.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, inject } from "vitest";
import type { DevServer, DevServerOptions } from "../../tools/harness/dev-server";
import { ServerSession } from "../../tools/harness/session";
import { startTarget, type Target, type TargetOptions } from "../../tools/harness/target";
import { sleep } from "../../tools/harness/util";
import type { SharedServer } from "./shared-server";

export interface DevFixture<S extends Pick<DevServer, "baseUrl"> = Pick<DevServer, "baseUrl">> {
  readonly adminToken: string;
  /** The running server and target; throws if the setup failed. */
  server(): S;
  target(): Target;
}

/** The shared server and a target of this file's own; registers beforeAll/afterAll. */
export function devFixture(targetOptions: TargetOptions = {}): DevFixture {
  const shared = inject("e2eServer");
  let target: Target | undefined;

  beforeAll(async () => {
    target = await startTarget(targetOptions);
    await sharedServerReady(shared);
  }, shared.readyTimeoutMs + 10_000);

  afterAll(async () => {
    await target?.close();
  });

  return {
    adminToken: shared.adminToken,
    server: () => ({ baseUrl: shared.baseUrl }),
    target() {
      if (!target) throw new Error("setup failed: no target");
      return target;
    },
  };
}

/** Waits until the shared server answers; fails at once, with its output, if it could not start. */
async function sharedServerReady(shared: SharedServer): Promise<void> {
  const deadline = Date.now() + shared.readyTimeoutMs;
  const failure = async (why: string) => {
    const log = await readFile(shared.logFile, "utf8").catch(() => "");
    const tail = log.split("\n").slice(-40).join("\n");
    return new Error(`the shared server on ${shared.baseUrl} ${why}\n--- its output (tail) ---\n${tail}`);
  };
  for (;;) {
    const failed = await readFile(shared.failedFile, "utf8").catch(() => null);
    if (failed !== null) throw await failure(`did not start: ${failed}`);
    const status = await fetch(`${shared.baseUrl}/v1/health`, { signal: AbortSignal.timeout(2_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      })
      .catch(() => null);
    if (status === 200) return;
    if (Date.now() > deadline) throw await failure(`did not answer within ${shared.readyTimeoutMs} ms`);
    await sleep(250);
  }
}

/** A server and target of this file's own; registers beforeAll/afterAll. */
export function ownDevFixture(
  name: string,
  targetOptions: TargetOptions = {},
  serverOptions: Pick<DevServerOptions, "dashboard"> & {
    /** How long the server may take to answer (default 90 s); the hook waits 30 s more. */
    readyTimeoutMs?: number;
  } = {},
): DevFixture<DevServer> {
  let session: ServerSession | undefined;
  const { readyTimeoutMs = 90_000, ...devOptions } = serverOptions;
  const started = () => {
    if (!session) throw new Error("setup failed: no server session");
    return session;
  };

  beforeAll(async () => {
    session = new ServerSession({
      name: `e2e-${name}`,
      code: "live",
      target: targetOptions,
      ...devOptions,
    });
    await session.start(readyTimeoutMs);
  }, readyTimeoutMs + 30_000);

  afterAll(async () => {
    await session?.close();
  });

  return {
    get adminToken() {
      return started().adminToken;
    },
    server: () => started().server,
    target: () => started().target,
  };
}
