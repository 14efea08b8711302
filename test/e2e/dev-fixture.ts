// One end-to-end setup for a describe block: a fresh state directory, a vars file with a random admin
// token (dev.mjs --vars-file, passed on as wrangler's --env-file, so the developer's .dev.vars is
// neither needed nor touched), a webhook target and `npm run dev`'s server; all removed afterwards.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { DevServer, type DevServerOptions } from "../../tools/harness/dev-server";
import { startTarget, type Target, type TargetOptions } from "../../tools/harness/target";
import { freePort } from "../../tools/harness/util";

export interface DevFixture {
  readonly adminToken: string;
  /** The running server and target; throws if the setup failed. */
  server(): DevServer;
  target(): Target;
}

/** Registers beforeAll/afterAll in the calling describe block. */
export function devFixture(
  name: string,
  targetOptions: TargetOptions = {},
  serverOptions: Pick<DevServerOptions, "dashboard"> = {},
): DevFixture {
  const adminToken = `e2e-admin-${randomUUID()}`;
  let tmp: string | undefined;
  let server: DevServer | undefined;
  let target: Target | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), `scheduler-e2e-${name}-`));
    const varsFile = path.join(tmp, "e2e.vars");
    await writeFile(
      varsFile,
      [`ADMIN_TOKEN=${adminToken}`, "ALLOW_PRIVATE_TARGETS=true", `CURSOR_SECRET=${randomUUID()}`, ""].join(
        "\n",
      ),
    );
    target = await startTarget(targetOptions);
    server = new DevServer({
      ...serverOptions,
      port: await freePort(),
      persistTo: path.join(tmp, "state"),
      varsFile,
    });
    await server.start();
    await server.ready(90_000);
  });

  afterAll(async () => {
    await server?.stop();
    await target?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  return {
    adminToken,
    server() {
      if (!server) throw new Error("setup failed: no server");
      return server;
    },
    target() {
      if (!target) throw new Error("setup failed: no target");
      return target;
    },
  };
}
