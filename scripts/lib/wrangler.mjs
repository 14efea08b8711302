// Running the project's own wrangler from scripts: with a Node it accepts and with the project root as cwd,
// whatever Node and directory the script itself was started from.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// WRANGLER_JS_FOR_TESTS: a stand-in script (test/node/deploy-script.test.ts drives scripts/deploy.mjs
// against a fake account with it); unset, the project's wrangler.
const WRANGLER =
  process.env.WRANGLER_JS_FOR_TESTS ??
  path.join(projectRoot, "node_modules", "wrangler", "bin", "wrangler.js");
// The `node` devDependency: the Node that npm scripts run under, and the fallback for an older system Node.
const PINNED_NODE = path.join(projectRoot, "node_modules", "node", "bin", "node");
const MIN_NODE = [22, 12];

function recentEnough(version) {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/** A Node binary wrangler accepts: the one running this script if recent enough, else the pinned one. */
export function nodeForWrangler() {
  if (recentEnough(process.versions.node)) return process.execPath;
  if (existsSync(PINNED_NODE)) return PINNED_NODE;
  throw new Error(
    `wrangler needs Node >= ${MIN_NODE.join(".")} (this is ${process.versions.node}) and ` +
      `${path.relative(process.cwd(), PINNED_NODE)} is missing: run \`npm install\` first`,
  );
}

let current = null;
let forwarding = false;

/** SIGINT/SIGTERM/SIGHUP go to the running wrangler, which shuts down workerd; we exit when it does. */
function forwardSignals() {
  if (forwarding) return;
  forwarding = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (current) current.kill(signal);
      else process.exit(128 + constants.signals[signal]);
    });
  }
}

/**
 * Runs `wrangler <args>` from the project root, forwarding termination signals. Its output goes to
 * this process's, unless `capture` (the output is returned instead, stdout and stderr together) or
 * `onStdout` (each chunk of stdout goes to it; stderr is inherited). Resolves with `{ code, output }`:
 * the exit status a shell would report (128 + signal number when killed by a signal).
 */
export function runWrangler(args, { env = {}, capture = false, onStdout } = {}) {
  forwardSignals();
  return new Promise((resolve, reject) => {
    const piped = capture || onStdout !== undefined;
    const child = spawn(nodeForWrangler(), [WRANGLER, ...args], {
      cwd: projectRoot,
      stdio: ["inherit", piped ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
      env: { ...process.env, ...env },
    });
    current = child;
    let output = "";
    if (capture) {
      child.stdout.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr.on("data", (chunk) => {
        output += chunk;
      });
    } else if (onStdout) child.stdout.on("data", onStdout);
    child.once("error", (err) => {
      current = null;
      reject(err);
    });
    child.once("close", (code, signal) => {
      current = null;
      resolve({ code: code ?? 128 + (constants.signals[signal] ?? 0), output });
    });
  });
}
