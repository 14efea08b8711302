#!/usr/bin/env node
// `node scripts/side-install.mjs <folder>...`: installs each tool folder's own dependencies when they are
// missing or stale (scripts/lib/side-install.mjs). npm run typecheck uses it for the BullMQ peer, whose
// code is type-checked with the rest of the tools.
import { ensureSideInstall } from "./lib/side-install.mjs";

for (const folder of process.argv.slice(2)) ensureSideInstall(folder);
