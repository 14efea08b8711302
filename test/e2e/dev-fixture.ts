// One end-to-end setup for a describe block: a server session (tools/harness/session.ts: a fresh state
// folder, a vars file with a random admin token, passed on as wrangler's --env-file, so the developer's
// .dev.vars is neither needed nor touched), a webhook target and `npm run dev`'s server on the working
// tree; all removed afterwards.
import { afterAll, beforeAll } from "vitest";
import type { DevServer, DevServerOptions } from "../../tools/harness/dev-server";
import { ServerSession } from "../../tools/harness/session";
import type { Target, TargetOptions } from "../../tools/harness/target";

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
  let session: ServerSession | undefined;
  const started = () => {
    if (!session) throw new Error("setup failed: no server session");
    return session;
  };

  beforeAll(async () => {
    session = new ServerSession({
      name: `e2e-${name}`,
      code: "live",
      target: targetOptions,
      ...serverOptions,
    });
    await session.start(90_000);
  });

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
