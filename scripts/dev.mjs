#!/usr/bin/env node
// `npm run dev`: the whole scheduler on this machine. Creates .dev.vars from .dev.vars.example when
// missing, builds the static files (the web dashboard at /dashboard, Swagger UI for /docs), applies
// pending D1 migrations locally, then serves `wrangler dev` on 127.0.0.1. It prints a short startup
// (what it did, then the URLs once the server answers); wrangler's own startup lines (its banner and
// bindings table) are shown only if it exits before it is ready, or with --verbose.
//
//   node scripts/dev.mjs [--port N] [--persist-to DIR] [--vars-file FILE]... [--skip-dashboard]
//                        [--quiet | --verbose] [-- <more wrangler dev args>]
//
// PORT and PERSIST_TO in the environment do the same as the flags (the flags win). Defaults: port 8787,
// state under .wrangler/state. With --vars-file (passed to wrangler as --env-file), variables come from
// those files only: wrangler then ignores .dev.vars, so none is created (the e2e test runs this way
// without touching a developer's own). The flag is not called --env-file because Node itself looks for
// `--env-file <path>` anywhere on its command line and exits if the file is missing. --skip-dashboard
// neither builds nor serves the dashboard (/dashboard answers 404): test servers that do not use it
// start sooner, and parallel ones neither rebuild nor watch the same folder.
//
// --quiet: warnings and errors only (wrangler's --log-level warn), for load on a small machine. wrangler
// logs every request it serves by a call from its proxy's workerd to its own node process, about 1.2 ms
// of CPU a request across the two (docs/performance.md, "Local dev: wrangler's request log"); its level
// is one switch for those lines and the Worker's console.log, so the scheduler's info events (JSON lines
// such as attempts_reported) go too, while its error events (console.error) still show. Without
// wrangler's "Ready on" line, the ready line is printed once /v1/health answers.
import { copyFileSync, existsSync, constants as fsConstants } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildDashboard, copySwaggerUi, ensureAssetsDirectory, noDashboardDirectory } from "./lib/site.mjs";
import { projectRoot, runWrangler } from "./lib/wrangler.mjs";

const usage =
  "usage: node scripts/dev.mjs [--port N] [--persist-to DIR] [--vars-file FILE]... [--skip-dashboard] [--quiet | --verbose] [-- wrangler dev args]";

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: "string" },
        "persist-to": { type: "string" },
        "vars-file": { type: "string", multiple: true },
        "skip-dashboard": { type: "boolean" },
        verbose: { type: "boolean" },
        quiet: { type: "boolean" },
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
  if (values.quiet && values.verbose) fail(`--quiet and --verbose ask for opposite things\n${usage}`);
  return {
    port,
    persistTo,
    envFiles,
    skipDashboard: values["skip-dashboard"] === true,
    verbose: values.verbose === true,
    quiet: values.quiet === true,
    extra: positionals,
  };
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

/**
 * Holds back wrangler's startup lines (banner, bindings table) until it says it is ready, then prints
 * the URLs instead and passes everything after through untouched (the scheduler's JSON log lines,
 * reloads). Warnings and errors pass through at once; if wrangler exits before it is ready, what was
 * held back is printed, so a failed start still says why.
 */
class StartupFilter {
  ready = false;
  partial = "";
  held = [];

  constructor(base) {
    this.base = base;
  }

  write(chunk) {
    if (this.ready) return process.stdout.write(chunk);
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    for (const [i, line] of lines.entries()) {
      if (/Ready on https?:\/\//.test(line)) {
        this.ready = true;
        announceReady(this.base);
        const rest = [...lines.slice(i + 1), this.partial].join("\n");
        if (rest !== "") process.stdout.write(rest);
        this.partial = "";
        return;
      }
      if (/\[(?:WARNING|ERROR)\]|^\s*[▲✘]/.test(line)) process.stdout.write(`${line}\n`);
      else this.held.push(line);
    }
  }

  exited() {
    if (!this.ready) process.stdout.write(`${[...this.held, this.partial].join("\n")}\n`);
  }
}

/** The line that says the server is up, with its URLs. */
function announceReady(base) {
  process.stdout.write(
    `dev: ready: API ${base}/v1 (health ${base}/v1/health), dashboard ${base}/dashboard/, ` +
      `API reference ${base}/docs\n`,
  );
}

/**
 * For --quiet, which hides wrangler's "Ready on" line: asks /v1/health every 250 ms until it answers,
 * then prints the ready line; stops asking once `stopped()` (wrangler exited first).
 */
async function announceWhenServing(base, stopped) {
  while (!stopped()) {
    const ok = await fetch(`${base}/v1/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) {
      announceReady(base);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const { port, persistTo, envFiles, skipDashboard, verbose, quiet, extra } = options();
if (envFiles.length === 0) ensureDevVars();

const base = `http://127.0.0.1:${port}`;
ensureAssetsDirectory();
if (skipDashboard) {
  // A folder of its own instead of dist/site (Swagger UI's files, no dashboard), so a build running
  // meanwhile (the browser test's) never makes this server reload its assets.
  ensureAssetsDirectory(noDashboardDirectory);
  copySwaggerUi(noDashboardDirectory);
  extra.unshift("--assets", noDashboardDirectory);
} else {
  copySwaggerUi();
  try {
    console.log(`dev: dashboard built in ${await buildDashboard()} ms (dashboard/ → dist/site/dashboard)`);
  } catch (err) {
    console.error(`dev: building the dashboard failed: ${err.message ?? err}`);
    process.exit(1);
  }
}

// CI=true: wrangler asks for confirmation before applying migrations unless it thinks it is
// non-interactive; this script must never stop at a prompt.
// Every index database declared in wrangler.toml (users are spread over them; INDEX_DATABASES).
const INDEX_DATABASES = ["INDEX_DB", "INDEX_DB_1", "INDEX_DB_2", "INDEX_DB_3"];
// One after another: wrangler processes applying migrations under one --persist-to at once were seen
// to fail (exit 1) now and then. Their tables of migrations are printed only when one fails.
for (const binding of INDEX_DATABASES) {
  const { code, output } = await runWrangler(
    ["d1", "migrations", "apply", binding, "--local", "--persist-to", persistTo],
    { env: { CI: "true" }, capture: !verbose },
  );
  if (code !== 0) {
    process.stderr.write(output);
    console.error(`dev: applying D1 migrations to ${binding} failed (exit ${code})`);
    process.exit(code);
  }
}
console.log(
  `dev: D1 migrations applied to ${INDEX_DATABASES.length} index databases (state in ${path.relative(projectRoot, persistTo) || "."})`,
);

const devArgs = ["dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", persistTo];
for (const f of envFiles) devArgs.push("--env-file", f);
if (quiet) devArgs.push("--log-level", "warn");
// Wrangler's local observability (traces and logs for its local explorer, on by default since 4.x)
// sends every invocation's events to a collector Worker on the same workerd thread: about a third of
// a single submit's CPU there (docs/performance.md, "Local dev: wrangler's observability collector").
// The scheduler logs its own events; X_LOCAL_OBSERVABILITY=true in the environment turns it back on.
const observability = process.env.X_LOCAL_OBSERVABILITY ?? "false";
console.log("dev: starting wrangler dev");
const startup = verbose || quiet ? null : new StartupFilter(base);
let exited = false;
const wrangler = runWrangler([...devArgs, ...extra], {
  env: { X_LOCAL_OBSERVABILITY: observability },
  onStdout: startup ? (chunk) => startup.write(chunk) : undefined,
});
if (quiet) void announceWhenServing(base, () => exited);
const { code } = await wrangler;
exited = true;
startup?.exited();
process.exit(code);
