// Tools with dependencies of their own, kept out of the project's npm install (README.md, "What npm
// install brings"): drizzle-kit (tools/drizzle, for npm run db:generate) and the BullMQ peer of the
// comparison bench (tools/bench/peer). Each folder has its package.json and package-lock.json; the
// command that needs it installs it on first use (npm ci), and again when its lock file changes.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "./wrangler.mjs";

/** Installs `folder` (relative to the project root) unless its node_modules matches its lock file. */
export function ensureSideInstall(folder) {
  const dir = path.join(projectRoot, folder);
  const lock = path.join(dir, "package-lock.json");
  const installed = path.join(dir, "node_modules", ".package-lock.json");
  if (existsSync(installed) && sameLock(lock, installed)) return;
  console.error(`installing ${folder}'s own dependencies (npm ci --prefix ${folder})`);
  const npm = process.env.npm_execpath;
  const [command, args] = npm
    ? [process.execPath, [npm, "ci", "--no-audit", "--no-fund"]]
    : ["npm", ["ci", "--no-audit", "--no-fund"]];
  const done = spawnSync(command, args, { cwd: dir, stdio: ["ignore", "inherit", "inherit"] });
  if (done.status !== 0) throw new Error(`npm ci in ${folder} failed (exit ${done.status})`);
}

/** npm writes node_modules/.package-lock.json with the lock's packages as installed (optional ones it
 * skipped on this platform left out). */
function sameLock(lockFile, installedFile) {
  try {
    const want = JSON.parse(readFileSync(lockFile, "utf8")).packages ?? {};
    const have = JSON.parse(readFileSync(installedFile, "utf8")).packages ?? {};
    // An optional package for another platform (npm skips it) is installed as far as it can be.
    const skipped = (k) => want[k]?.optional === true && have[k] === undefined;
    return Object.keys(want).every((k) => k === "" || have[k]?.version === want[k]?.version || skipped(k));
  } catch {
    return false;
  }
}
