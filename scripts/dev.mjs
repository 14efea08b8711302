#!/usr/bin/env node
// `npm run dev`: the whole scheduler on this machine. Creates .dev.vars from .dev.vars.example when
// missing, builds the web dashboard (served at /dashboard), applies pending D1 migrations locally,
// then serves `wrangler dev` on 127.0.0.1.
//
//   node scripts/dev.mjs [--port N] [--persist-to DIR] [--vars-file FILE]... [--skip-dashboard]
//                        [-- <more wrangler dev args>]
//
// PORT and PERSIST_TO in the environment do the same as the flags (the flags win). Defaults: port 8787,
// state under .wrangler/state. With --vars-file (passed to wrangler as --env-file), variables come from
// those files only: wrangler then ignores .dev.vars, so none is created (the e2e test runs this way
// without touching a developer's own). The flag is not called --env-file because Node itself looks for
// `--env-file <path>` anywhere on its command line and exits if the file is missing. --skip-dashboard
// neither builds nor serves the dashboard (/dashboard answers 404): test servers that do not use it
// start sooner, and parallel ones neither rebuild nor watch the same folder.
import { copyFileSync, existsSync, constants as fsConstants, mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildDashboard, ensureAssetsDirectory, noDashboardDirectory } from "./lib/dashboard.mjs";
import { projectRoot, runWrangler } from "./lib/wrangler.mjs";

const usage =
  "usage: node scripts/dev.mjs [--port N] [--persist-to DIR] [--vars-file FILE]... [--skip-dashboard] [-- wrangler dev args]";

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: "string" },
        "persist-to": { type: "string" },
        "vars-file": { type: "string", multiple: true },
        "skip-dashboard": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
  } catch (err) {
    fail(`${err.message}\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const port = values.port ?? process.env.PORT ?? "8787";
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) fail(`invalid port: ${port}`);
  // Relative paths are the caller's, but wrangler runs from the project root: resolve them here.
  const persistTo = path.resolve(
    values["persist-to"] ?? process.env.PERSIST_TO ?? path.join(projectRoot, ".wrangler/state"),
  );
  const envFiles = (values["vars-file"] ?? []).map((f) => path.resolve(f));
  for (const f of envFiles) if (!existsSync(f)) fail(`--vars-file ${f} does not exist`);
  return { port, persistTo, envFiles, skipDashboard: values["skip-dashboard"] === true, extra: positionals };
}

function fail(message) {
  console.error(`dev: ${message}`);
  process.exit(2);
}

/** Copies the example on first run; an existing .dev.vars is the developer's and is never touched. */
function ensureDevVars() {
  const devVars = path.join(projectRoot, ".dev.vars");
  if (existsSync(devVars)) return;
  try {
    copyFileSync(path.join(projectRoot, ".dev.vars.example"), devVars, fsConstants.COPYFILE_EXCL);
    console.log("dev: created .dev.vars from .dev.vars.example");
  } catch (err) {
    // Lost a race with another process creating it: theirs stands.
    if (err.code !== "EEXIST") throw err;
  }
}

const { port, persistTo, envFiles, skipDashboard, extra } = options();
if (envFiles.length === 0) ensureDevVars();

ensureAssetsDirectory();
if (skipDashboard) {
  // An empty folder of its own instead of dist/site, so a build running meanwhile (the browser test's)
  // never makes this server reload its assets.
  mkdirSync(noDashboardDirectory, { recursive: true });
  extra.unshift("--assets", noDashboardDirectory);
} else {
  console.log("dev: building the dashboard (dashboard/ → dist/site/dashboard)");
  try {
    console.log(`dev: dashboard built in ${await buildDashboard()} ms: http://127.0.0.1:${port}/dashboard/`);
  } catch (err) {
    console.error(`dev: building the dashboard failed: ${err.message ?? err}`);
    process.exit(1);
  }
}

// CI=true: wrangler asks for confirmation before applying migrations unless it thinks it is
// non-interactive; this script must never stop at a prompt.
// Every index database declared in wrangler.toml (users are spread over them; INDEX_DATABASES).
const INDEX_DATABASES = ["INDEX_DB", "INDEX_DB_1", "INDEX_DB_2", "INDEX_DB_3"];
console.log(`dev: applying D1 migrations (state in ${path.relative(projectRoot, persistTo) || "."})`);
// One after another: wrangler processes applying migrations under one --persist-to at once were seen
// to fail (exit 1) now and then.
for (const binding of INDEX_DATABASES) {
  const migrated = await runWrangler(
    ["d1", "migrations", "apply", binding, "--local", "--persist-to", persistTo],
    { env: { CI: "true" } },
  );
  if (migrated !== 0) {
    console.error(`dev: applying D1 migrations to ${binding} failed (exit ${migrated})`);
    process.exit(migrated);
  }
}

const devArgs = ["dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", persistTo];
for (const f of envFiles) devArgs.push("--env-file", f);
// Wrangler's local observability (traces and logs for its local explorer, on by default since 4.x)
// sends every invocation's events to a collector Worker on the same workerd thread: about a third of
// a single submit's CPU there (docs/performance.md, "Local dev: wrangler's observability collector").
// The scheduler logs its own events; X_LOCAL_OBSERVABILITY=true in the environment turns it back on.
const observability = process.env.X_LOCAL_OBSERVABILITY ?? "false";
process.exit(await runWrangler([...devArgs, ...extra], { env: { X_LOCAL_OBSERVABILITY: observability } }));
