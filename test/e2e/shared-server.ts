// The e2e project's global setup: one `npm run dev` server (a server session on the working tree, a
// fresh state folder) for every end-to-end file that does not stop or crash its server; each file
// makes its own users and its own webhook target, so none sees another's jobs. Starting a server
// costs half a minute of CPU (wrangler applies the D1 migrations, then bundles and starts workerd), so
// it starts once, in the background while the other projects' files run: the setup only picks the
// port and hands the address on (devFixture waits until it answers).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ServerSession } from "../../tools/harness/session";
import { freePort } from "../../tools/harness/util";

export interface SharedServer {
  baseUrl: string;
  adminToken: string;
  /** The server's output, for the error that explains a server that never answered. */
  logFile: string;
  /** Written with the error when the server could not start. */
  failedFile: string;
  /** Milliseconds to wait for it, from the start of the run. */
  readyTimeoutMs: number;
}

declare module "vitest" {
  export interface ProvidedContext {
    e2eServer: SharedServer;
  }
}

const READY_TIMEOUT_MS = 300_000;

export default async function setup(project: TestProject) {
  const port = await freePort();
  const session = new ServerSession({ name: "e2e-shared", code: "live", port, logFile: true });
  const failedFile = path.join(session.dir, "start-failed");
  // devFixture reports a failure (with the log's tail) in every file that needed the server.
  const starting = session
    .start(READY_TIMEOUT_MS)
    .catch((err: unknown) => writeFile(failedFile, String(err)));
  project.provide("e2eServer", {
    baseUrl: `http://127.0.0.1:${port}`,
    adminToken: session.adminToken,
    logFile: session.logFile ?? "",
    failedFile,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return async () => {
    await starting;
    await session.close();
  };
}
