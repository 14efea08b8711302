import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Env } from "../../src/env";

it("starts a shard and runs its migrations", async () => {
  const e = env as unknown as Env;
  const stub = e.TASK_SHARD.get(e.TASK_SHARD.idFromName("u:0"));
  expect(await stub.ping()).toBe(0);
});
