// DevServer's process handling, on a stand-in for scripts/dev.mjs (the real one is exercised by
// test/e2e and the soak): a process that serves /v1/health and keeps a child of its own, as wrangler
// keeps workerd.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DevServer } from "../../../tools/harness/dev-server";
import { freePort, poll } from "../../../tools/harness/util";

const FAKE_DEV = `
import { spawn } from "node:child_process";
import { createServer } from "node:http";
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
if (process.env.FAKE_DEV_FAIL) {
  console.error("fake dev: cannot start");
  process.exit(3);
}
const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
console.log(JSON.stringify({ event: "fake_started", child: child.pid, args: process.argv.slice(2) }));
createServer((req, res) => res.writeHead(req.url === "/v1/health" ? 200 : 404).end()).listen(port, "127.0.0.1");
`;

/** Alive and not a zombie, from /proc (an orphaned zombie may wait for a reaper that never comes). */
function alive(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, "utf8").then(
    (stat) => stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z",
    () => false,
  );
}

describe("DevServer", () => {
  let root: string;
  let server: DevServer | undefined;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "harness-dev-"));
    await mkdir(path.join(root, "scripts"));
    await writeFile(path.join(root, "scripts/dev.mjs"), FAKE_DEV);
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    delete process.env.FAKE_DEV_FAIL;
    await rm(root, { recursive: true, force: true });
  });

  const make = async (options: { dashboard?: boolean } = {}) =>
    new DevServer({
      ...options,
      root,
      port: await freePort(),
      persistTo: path.join(root, "state"),
      varsFile: path.join(root, "dev.vars"),
      logFile: path.join(root, "server.log"),
    });
  /** The stand-in's child (its workerd), from the line it printed at this start. */
  const childOf = async (s: DevServer, start: number) => {
    const line = await poll(
      "the stand-in's first line",
      async () => s.lines().find((l) => l.start === start && l.text.includes("fake_started")),
      (l) => l !== undefined,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    return JSON.parse(line?.text ?? "{}") as { child: number; args: string[] };
  };

  it("starts dev.mjs with its own port, state, vars file and inspector port, and waits for health", async () => {
    server = await make();
    await server.start();
    await server.ready(20_000);
    const { args } = await childOf(server, 1);
    expect(args.slice(0, 6)).toEqual([
      "--port",
      String(new URL(server.baseUrl).port),
      "--persist-to",
      path.join(root, "state"),
      "--vars-file",
      path.join(root, "dev.vars"),
    ]);
    // No dashboard build unless asked for.
    expect(args.slice(6, 9)).toEqual(["--skip-dashboard", "--", "--inspector-port"]);
    expect(Number(args[9])).toBeGreaterThan(0);
    // The port it picked is the one it tells (the profile connects to it).
    expect(server.inspectorPort).toBe(Number(args[9]));
    expect((await fetch(`${server.baseUrl}/v1/health`)).status).toBe(200);
  });

  it("lets dev.mjs build the dashboard when asked to", async () => {
    server = await make({ dashboard: true });
    await server.start();
    await server.ready(20_000);
    const { args } = await childOf(server, 1);
    expect(args).not.toContain("--skip-dashboard");
    expect(args.slice(6, 8)).toEqual(["--", "--inspector-port"]);
  });

  it("crash kills the whole group, and a restart serves again", async () => {
    server = await make();
    await server.start();
    await server.ready(20_000);
    const { child } = await childOf(server, 1);
    expect(await alive(child)).toBe(true);

    await server.crash();
    expect(server.running).toBe(false);
    expect(await alive(child)).toBe(false);
    await expect(fetch(`${server.baseUrl}/v1/health`)).rejects.toThrow();

    await server.start();
    await server.ready(20_000);
    expect(server.starts).toBe(2);
    const second = await childOf(server, 2);
    expect(second.child).not.toBe(child);
    await server.stop();
    expect(await alive(second.child)).toBe(false);
    const log = await readFile(path.join(root, "server.log"), "utf8");
    expect(log).toMatch(
      /=== server start #1 .*\n(.*\n)*.*=== SIGKILL to the process group ===\n(.*\n)*.*=== server start #2/,
    );
    expect(log).toContain("[#2] {");
  });

  it("fails early, with the output's tail, when dev.mjs exits instead of serving", async () => {
    process.env.FAKE_DEV_FAIL = "1";
    server = await make();
    await server.start();
    const started = Date.now();
    await expect(server.ready(20_000)).rejects.toThrow(/exited \(code 3.*\n(.*\n)*fake dev: cannot start/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
