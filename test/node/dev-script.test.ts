// `npm run dev` (scripts/dev.mjs) around a stand-in wrangler (fixtures/fake-wrangler-dev.mjs): by
// default wrangler logs at its own level and the script holds its startup lines back until "Ready on";
// with --quiet wrangler is asked for warnings and errors only (no line per request served), and the
// ready line comes once /v1/health answers, as wrangler's own "Ready on" no longer does.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort, poll } from "../../tools/harness/util";

const root = path.resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "dev-script-"));
const varsFile = path.join(dir, "vars");
writeFileSync(varsFile, "ADMIN_TOKEN=t\nCURSOR_SECRET=s\n");
let running: ChildProcess | undefined;

/** Starts dev.mjs with `flags` until it prints its ready line; its output and wrangler's arguments. */
async function dev(flags: string[]) {
  const port = await freePort();
  const calls = path.join(dir, `calls-${port}`);
  const args = [path.join(root, "scripts/dev.mjs"), "--port", String(port), "--skip-dashboard"];
  args.push("--persist-to", path.join(dir, "state"), "--vars-file", varsFile, ...flags);
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      WRANGLER_JS_FOR_TESTS: path.join(import.meta.dirname, "fixtures/fake-wrangler-dev.mjs"),
      FAKE_DEV_CALLS: calls,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running = child;
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  await poll(
    "the ready line",
    async () => output,
    (o) => o.includes("dev: ready:"),
    { timeoutMs: 30_000 },
  );
  const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
  expect(health.status).toBe(200);
  // The request just served has been logged, if it is to be, by the time a second one answers.
  await fetch(`http://127.0.0.1:${port}/v1/health`);
  const wranglerArgs = readFileSync(calls, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as string[]);
  return { output: () => output, wranglerArgs: wranglerArgs[0] ?? [], port };
}

afterEach(() => {
  running?.kill("SIGTERM");
  running = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run dev around a stand-in wrangler", { timeout: 60_000 }, () => {
  it("by default: wrangler's level, startup lines held back until Ready on, a line per request", async () => {
    const { output, wranglerArgs, port } = await dev([]);
    expect(wranglerArgs).not.toContain("--log-level");
    expect(wranglerArgs).toEqual(expect.arrayContaining(["dev", "--port", String(port)]));
    await poll(
      "the request line",
      async () => output(),
      (o) => o.includes("GET /v1/health 200"),
    );
    expect(output()).not.toContain("⛅️ wrangler (fake)");
    expect(output()).toContain("▲ [WARNING]");
  });

  it("--quiet: wrangler at warn, no line per request, the ready line once /v1/health answers", async () => {
    const { output, wranglerArgs } = await dev(["--quiet"]);
    expect(wranglerArgs.join(" ")).toContain("--log-level warn");
    expect(output()).toContain("▲ [WARNING]");
    expect(output()).not.toContain("GET /v1/health");
    expect(output().match(/dev: ready:/g)).toHaveLength(1);
  });

  it("refuses --quiet with --verbose, starting nothing", async () => {
    const child = spawn(process.execPath, [path.join(root, "scripts/dev.mjs"), "--quiet", "--verbose"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(err).toContain("--quiet and --verbose");
  });
});
