#!/usr/bin/env node
// `npm run deploy`: the whole scheduler onto your Cloudflare account, after `npx wrangler login` (or with
// CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in the environment, as in CI). docs/deploy.md walks it.
//
//   npm run deploy [-- --dry-run] [-- --skip-build] [-- <more wrangler deploy args>]
//
// 1. Builds the static files (dashboard, Swagger UI) into dist/site.
// 2. Applies pending D1 migrations to every index database that exists already (before the new code
//    runs against them; migrations are additive).
// 3. Generates the secrets a first deploy lacks (ADMIN_TOKEN, CURSOR_SECRET) and uploads them with the
//    version; the admin token is printed once.
// 4. `wrangler deploy --minify`: wrangler creates every D1 database, queue and R2 bucket of wrangler.toml
//    that does not exist yet (automatic provisioning, by the names given there) and links it.
// 5. Applies the migrations to the index databases step 4 created.
// A second deploy creates nothing and changes no resource: the databases are found, the migrations are
// applied already, the secrets are set.
//
// --skip-build: step 1 is left out (dist/site as it stands; the tests' deploys run so).
// --dry-run: steps 1 and 4 offline (wrangler deploy --dry-run: no account, no network), the bundle in
// dist/worker, and its size against the budget (BUNDLE_BUDGET_GZIP_KIB); exits 1 over budget.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { buildDashboard, copySwaggerUi, ensureAssetsDirectory } from "./lib/site.mjs";
import { projectRoot, runWrangler } from "./lib/wrangler.mjs";

/** The most the Worker's script may weigh gzipped (what Cloudflare limits and every cold start loads). */
export const BUNDLE_BUDGET_GZIP_KIB = 350;
const OUTDIR = path.join(projectRoot, "dist/worker");
/** Secrets the Worker needs (src/config.ts); generated on a first deploy when missing. */
const SECRETS = ["ADMIN_TOKEN", "CURSOR_SECRET"];

// Our one flag; everything else goes to wrangler deploy as given (e.g. --name, --env, --var).
const argv = process.argv.slice(2).filter((a) => a !== "--");
if (argv.includes("--help") || argv.includes("-h")) {
  console.log("usage: npm run deploy [-- --dry-run] [-- --skip-build] [-- <more wrangler deploy args>]");
  process.exit(0);
}
const dryRunOnly = argv.includes("--dry-run");
const skipBuild = argv.includes("--skip-build");
const extra = argv.filter((a) => a !== "--dry-run" && a !== "--skip-build");

function fail(message, output = "") {
  if (output) process.stderr.write(output.endsWith("\n") ? output : `${output}\n`);
  console.error(`deploy: ${message}`);
  process.exit(1);
}

async function wrangler(args, what) {
  const { code, output } = await runWrangler(args, { env: { CI: "true" }, capture: true });
  if (code !== 0) fail(`${what} failed (wrangler ${args.join(" ")}, exit ${code})`, output);
  return output;
}

/** The first JSON value in wrangler's output (it may print a banner line before it). */
function jsonIn(output) {
  const start = output.search(/^[[{]/m);
  if (start < 0) throw new Error(`no JSON in: ${output.slice(0, 200)}`);
  return JSON.parse(output.slice(start));
}

async function build() {
  ensureAssetsDirectory();
  if (skipBuild) return console.log("deploy: --skip-build: static files in dist/site as they are");
  copySwaggerUi();
  console.log(
    `deploy: static files built (dashboard in ${await buildDashboard()} ms, Swagger UI) in dist/site`,
  );
}

const kib = (bytes) => (bytes / 1024).toFixed(1);

/** Sizes of the bundle wrangler wrote to OUTDIR: every module, raw and gzipped; the source map apart. */
function reportSize() {
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(OUTDIR, { recursive: true })) {
    const full = path.join(OUTDIR, file);
    if (!statSync(full).isFile() || file.endsWith(".map") || file.endsWith(".md")) continue;
    const body = readFileSync(full);
    raw += body.length;
    gzip += gzipSync(body).length;
  }
  const within = gzip <= BUNDLE_BUDGET_GZIP_KIB * 1024;
  console.log(
    `deploy: Worker script ${kib(raw)} KiB raw, ${kib(gzip)} KiB gzip ` +
      `(budget ${BUNDLE_BUDGET_GZIP_KIB} KiB gzip: ${within ? "within" : "OVER"})`,
  );
  return within;
}

async function dryRun() {
  await build();
  rmSync(OUTDIR, { recursive: true, force: true });
  await wrangler(["deploy", "--dry-run", "--minify", "--outdir", OUTDIR, ...extra], "the dry run");
  console.log(`deploy: dry run: bundle in ${path.relative(projectRoot, OUTDIR)}, nothing uploaded`);
  if (!reportSize()) fail(`the Worker script is over its budget of ${BUNDLE_BUDGET_GZIP_KIB} KiB gzip`);
}

async function indexDatabases() {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: path.join(projectRoot, "wrangler.toml") });
  return config.d1_databases.map((d) => ({ binding: d.binding, name: d.database_name }));
}

async function migrate(databases, when) {
  for (const { binding, name } of databases) {
    await wrangler(["d1", "migrations", "apply", binding, "--remote"], `migrating ${name}`);
    console.log(`deploy: ${name} (${binding}): migrations applied ${when}`);
  }
}

/** Secrets set on the Worker already; none when it has never been deployed. */
async function secretsSet() {
  const { code, output } = await runWrangler(["secret", "list", "--format", "json"], {
    env: { CI: "true" },
    capture: true,
  });
  if (code !== 0) {
    // The Worker does not exist yet (first deploy): wrangler reports it as an error, code 10007. Any
    // other failure stops the deploy: new secrets must never replace the ones a Worker has.
    if (/\[code: 10007\]|does not exist on your account/i.test(output)) return new Set();
    fail("listing the Worker's secrets failed", output);
  }
  return new Set(jsonIn(output).map((s) => s.name));
}

async function deploy() {
  await build();
  const databases = await indexDatabases();
  const existing = new Set(
    jsonIn(
      await wrangler(
        ["d1", "list", "--json"],
        "listing D1 databases (are you logged in? npx wrangler login)",
      ),
    ).map((d) => d.name),
  );
  await migrate(
    databases.filter((d) => existing.has(d.name)),
    "before the deploy",
  );

  const set = await secretsSet();
  const missing = Object.fromEntries(
    SECRETS.filter((name) => !set.has(name)).map((name) => [name, randomBytes(32).toString("base64url")]),
  );
  const args = ["deploy", "--minify", ...extra];
  let secretsDir = null;
  if (Object.keys(missing).length > 0) {
    secretsDir = mkdtempSync(path.join(tmpdir(), "scheduler-secrets-"));
    const file = path.join(secretsDir, "secrets.json");
    writeFileSync(file, JSON.stringify(missing), { mode: 0o600 });
    args.push("--secrets-file", file);
  }
  try {
    const { code } = await runWrangler(args);
    if (code !== 0) fail(`wrangler deploy failed (exit ${code})`);
  } finally {
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  }
  await migrate(
    databases.filter((d) => !existing.has(d.name)),
    "(created by this deploy)",
  );
  if (missing.ADMIN_TOKEN) {
    console.log(
      `deploy: generated ADMIN_TOKEN (shown once; keep it, or set your own with npx wrangler secret put ADMIN_TOKEN):\n  ${missing.ADMIN_TOKEN}`,
    );
  }
  if (missing.CURSOR_SECRET)
    console.log("deploy: generated CURSOR_SECRET (signs listing cursors; never shown)");
  console.log("deploy: done");
}

await (dryRunOnly ? dryRun() : deploy());
