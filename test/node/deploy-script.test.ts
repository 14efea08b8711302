// `npm run deploy` (scripts/deploy.mjs) against a fake Cloudflare account (fixtures/fake-wrangler.mjs
// stands in for wrangler): a first deploy on an empty account creates the index databases and
// migrates them after the deploy, and uploads generated secrets with the version; a second deploy
// migrates before, uploads no secret and creates nothing. The real wrangler's provisioning itself is
// Cloudflare's; what is tested here is the order and the choices the script makes around it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "deploy-script-"));
const accountFile = path.join(dir, "account.json");
const BINDINGS = {
  INDEX_DB: "scheduler-index",
  INDEX_DB_1: "scheduler-index-1",
  INDEX_DB_2: "scheduler-index-2",
  INDEX_DB_3: "scheduler-index-3",
};

type Call =
  | { call: "d1 list" | "secret list" }
  | { call: "migrate"; binding: string; remote: boolean }
  | {
      call: "deploy";
      args: string[];
      secrets: Record<string, string>;
      mode: string | null;
      created: string[];
    };

/** Runs `npm run deploy` as a user does (the pinned Node runs npm scripts); returns its output and calls. */
function deploy(): { status: number | null; output: string; calls: Call[] } {
  rmSync(`${accountFile}.calls`, { force: true });
  // --skip-build: the dashboard's build would replace dist/site/dashboard under the other tests' servers.
  const run = spawnSync(process.execPath, [path.join(root, "scripts/deploy.mjs"), "--skip-build"], {
    cwd: root,
    encoding: "utf8",
    env: {
      ...process.env,
      WRANGLER_JS_FOR_TESTS: path.join(import.meta.dirname, "fixtures/fake-wrangler.mjs"),
      FAKE_ACCOUNT: accountFile,
    },
  });
  const callsFile = `${accountFile}.calls`;
  const calls = existsSync(callsFile)
    ? readFileSync(callsFile, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Call)
    : [];
  return { status: run.status, output: run.stdout + run.stderr, calls };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each run starts Node about ten times (the script, wrangler's config reader, the fake per call).
describe("npm run deploy against a fake account", { timeout: 60_000 }, () => {
  it("first deploy: creates and then migrates every index database, uploads generated secrets once", () => {
    writeFileSync(
      accountFile,
      JSON.stringify({ bindings: BINDINGS, databases: [], worker: false, secrets: [] }),
    );
    const { status, output, calls } = deploy();
    expect(status, output).toBe(0);
    const kinds = calls.map((c) => (c.call === "migrate" ? `migrate ${c.binding}` : c.call));
    // Nothing to migrate before (no database yet), all four after the deploy that created them.
    expect(kinds).toEqual([
      "d1 list",
      "secret list",
      "deploy",
      "migrate INDEX_DB",
      "migrate INDEX_DB_1",
      "migrate INDEX_DB_2",
      "migrate INDEX_DB_3",
    ]);
    const deployed = calls.find((c) => c.call === "deploy");
    if (deployed?.call !== "deploy") throw new Error("no deploy call");
    expect(deployed.args).toContain("--minify");
    expect(deployed.args, "our own flag is not passed on").not.toContain("--skip-build");
    expect(deployed.created.sort()).toEqual(Object.values(BINDINGS).sort());
    expect(Object.keys(deployed.secrets).sort()).toEqual(["ADMIN_TOKEN", "CURSOR_SECRET"]);
    expect(deployed.mode, "the secrets file is readable by its owner only").toBe("600");
    const { ADMIN_TOKEN, CURSOR_SECRET } = deployed.secrets;
    expect(ADMIN_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(CURSOR_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ADMIN_TOKEN).not.toBe(CURSOR_SECRET);
    expect(output, "the admin token is shown once").toContain(ADMIN_TOKEN);
    expect(output, "the cursor secret is never shown").not.toContain(CURSOR_SECRET);
    const secretsFile = deployed.args[deployed.args.indexOf("--secrets-file") + 1] ?? "";
    expect(existsSync(secretsFile), "the secrets file is removed").toBe(false);
  });

  it("second deploy: migrates before it, uploads no secret and creates nothing", () => {
    const { status, output, calls } = deploy();
    expect(status, output).toBe(0);
    const kinds = calls.map((c) => (c.call === "migrate" ? `migrate ${c.binding}` : c.call));
    expect(kinds).toEqual([
      "d1 list",
      "migrate INDEX_DB",
      "migrate INDEX_DB_1",
      "migrate INDEX_DB_2",
      "migrate INDEX_DB_3",
      "secret list",
      "deploy",
    ]);
    const deployed = calls.find((c) => c.call === "deploy");
    if (deployed?.call !== "deploy") throw new Error("no deploy call");
    expect(deployed.args).not.toContain("--secrets-file");
    expect(deployed.created).toEqual([]);
    expect(output).not.toContain("generated ADMIN_TOKEN");
  });

  it("stops before deploying when the secrets cannot be listed for another reason than a missing Worker", () => {
    writeFileSync(
      accountFile,
      JSON.stringify({
        bindings: BINDINGS,
        databases: Object.values(BINDINGS),
        worker: true,
        secrets: ["ADMIN_TOKEN", "CURSOR_SECRET"],
        secretListError: "✘ [ERROR] A request to the Cloudflare API failed. Account not found [code: 7003]",
      }),
    );
    const { status, output, calls } = deploy();
    expect(status).not.toBe(0);
    expect(output).toContain("listing the Worker's secrets failed");
    expect(
      calls.some((c) => c.call === "deploy"),
      "no new secrets replace the Worker's",
    ).toBe(false);
  });

  it("stops before deploying when the account cannot be listed (not logged in), saying what to do", () => {
    writeFileSync(accountFile, "{not json");
    const { status, output, calls } = deploy();
    expect(status).not.toBe(0);
    expect(output).toContain("npx wrangler login");
    expect(calls.some((c) => c.call === "deploy")).toBe(false);
  });
});
