#!/usr/bin/env node
// `npm run db:generate`: after a change to src/shard/schema.ts or src/index-store/schema.ts, writes the
// new migration (migrations/shard, migrations/index) with drizzle-kit. drizzle-kit (and the drizzle-orm
// it loads) live in tools/drizzle, installed here on first use: 50 MB that every other command does
// without (README.md, "What npm install brings").
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureSideInstall } from "./lib/side-install.mjs";
import { projectRoot } from "./lib/wrangler.mjs";

ensureSideInstall("tools/drizzle");
const bin = path.join(projectRoot, "tools/drizzle/node_modules/drizzle-kit/bin.cjs");
for (const config of ["drizzle.d1.config.ts", "drizzle.shard.config.ts"]) {
  const done = spawnSync(process.execPath, [bin, "generate", "--config", config], {
    cwd: projectRoot,
    stdio: "inherit",
  });
  if (done.status !== 0) process.exit(done.status ?? 1);
}
