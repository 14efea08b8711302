// The client as a package, the way a project outside this repository gets it: `npm pack ./client` (the
// client's prepack builds dist/) into a temporary folder; the tarball holds dist/, the README and
// package.json, and nothing else. A plain Node project (its own package.json, "type": "module") installs
// the tarball with npm, typechecks a TypeScript consumer with the root's tsc under module and
// moduleResolution nodenext, and runs a plain .mjs consumer with the pinned Node 22 against the e2e
// run's shared `npm run dev` server (test/e2e/dev-fixture.ts). The consumers are in package-consumer/.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../../tools/harness/project";
import { devFixture } from "../../e2e/dev-fixture";

const CLIENT = path.join(projectRoot, "client");
const BIN = path.join(projectRoot, "node_modules/.bin");
/** The packed tarball's bound: about 15 kB today, mostly the generated schema.d.ts (before `files`, 4.6 MB). */
const MAX_TARBALL_BYTES = 40_000;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws (the caller asserts on the exit code and the output). */
function run(command: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

/** Runs a command that must succeed; its stdout. */
async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const ran = await run(command, args, cwd);
  if (ran.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${cwd}) exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`,
    );
  }
  return ran.stdout;
}

const readJson = async <T>(file: string) => JSON.parse(await readFile(file, "utf8")) as T;

/** What dist/ must hold: a .js and a .d.ts for every source module, and the generated schema.d.ts. */
async function expectedFiles(): Promise<string[]> {
  const modules = (await readdir(path.join(CLIENT, "src")))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => f.slice(0, -".ts".length));
  const dist = modules.flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`]);
  return ["README.md", "package.json", "dist/schema.d.ts", ...dist].sort();
}

describe("@edge-scheduler/client packed, then installed in a plain Node project", () => {
  const fixture = devFixture();
  let work = "";
  let tarball = "";
  let consumer = "";
  let installed = "";

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "client-package-"));
    const packed = JSON.parse(
      await ok("npm", ["pack", "./client", "--json", "--pack-destination", work], projectRoot),
    ) as { filename: string }[];
    tarball = path.join(work, packed[0]?.filename ?? "");

    consumer = path.join(work, "consumer");
    await mkdir(consumer);
    const manifest = { name: "client-package-consumer", private: true, type: "module" };
    await writeFile(path.join(consumer, "package.json"), JSON.stringify(manifest));
    const compilerOptions = {
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      strict: true,
      noEmit: true,
      // Also the package's own declarations (and what they import), not just the consumer's file.
      skipLibCheck: false,
    };
    await writeFile(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: ["check.ts"] }),
    );
    await cp(path.join(import.meta.dirname, "package-consumer"), consumer, { recursive: true });
    await ok("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], consumer);
    installed = path.join(consumer, "node_modules/@edge-scheduler/client");
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("packs only dist/ (JavaScript, declarations, the generated schema.d.ts), the README and package.json, small", async () => {
    const entries = (await ok("tar", ["-tzf", tarball], work)).split("\n").filter(Boolean);
    expect(entries.every((e) => e.startsWith("package/"))).toBe(true);
    const files = entries.map((e) => e.slice("package/".length)).sort();
    expect(files).toEqual(await expectedFiles());
    const { size } = await stat(tarball);
    expect(size).toBeGreaterThan(1_000);
    expect(size).toBeLessThan(MAX_TARBALL_BYTES);
  });

  it("installs with its exactly pinned dependencies and the generated types as committed", async () => {
    const { dependencies } = await readJson<{ dependencies: Record<string, string> }>(
      path.join(installed, "package.json"),
    );
    expect(Object.keys(dependencies).sort()).toEqual(["openapi-fetch", "standardwebhooks"]);
    for (const [name, version] of Object.entries(dependencies)) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      const got = await readJson<{ version: string }>(
        path.join(consumer, "node_modules", name, "package.json"),
      );
      expect(got.version, name).toBe(version);
    }
    expect(await readFile(path.join(installed, "dist/schema.d.ts"), "utf8")).toBe(
      await readFile(path.join(CLIENT, "src/schema.d.ts"), "utf8"),
    );
  });

  it("typechecks a strict TypeScript consumer under nodenext against the installed declarations", async () => {
    const tsc = await run(path.join(BIN, "tsc"), ["-p", "tsconfig.json", "--listFiles"], consumer);
    const errors = tsc.stdout.split("\n").filter((line) => line.includes(" error TS"));
    expect(tsc.code, `${errors.join("\n")}\n${tsc.stderr}`).toBe(0);
    // It read the installed package's declarations, not the repository's sources.
    const read = tsc.stdout.split("\n").map((line) => path.resolve(consumer, line.trim()));
    for (const file of ["dist/index.d.ts", "dist/client.d.ts", "dist/schema.d.ts"]) {
      expect(read).toContain(path.join(installed, file));
    }
    expect(read.filter((file) => file.startsWith(`${CLIENT}/`))).toEqual([]);
  });

  it("runs a plain .mjs consumer on Node 22 against npm run dev: a job submitted, its webhook verified, succeeded", async () => {
    const { baseUrl } = fixture.server();
    const script = await run(path.join(BIN, "node"), ["run.mjs", baseUrl, fixture.adminToken], consumer);
    expect(script.code, script.stderr).toBe(0);
    const out = JSON.parse(script.stdout.trim().split("\n").at(-1) ?? "null");

    const { devDependencies } = await readJson<{ devDependencies: { node: string } }>(
      path.join(projectRoot, "package.json"),
    );
    expect(out.node).toBe(`v${devDependencies.node}`);
    expect(out.client).toBe(pathToFileURL(path.join(installed, "dist/index.js")).href);
    // Due at once: it went out with its submit.
    expect(out.job).toEqual({ id: expect.stringMatching(/^job_/), status: "queued" });
    expect(out.received).toEqual([
      { verified: true, body: { from: "the packed client" }, delivery: { jobId: out.job.id, occurrence: 0 } },
    ]);
    expect(out.done).toEqual({ id: out.job.id, status: "succeeded" });
    expect(out.refused).toEqual({ schedulerError: true, status: 409, code: "conflict" });

    // The server agrees, asked without the client.
    const res = await fetch(`${baseUrl}/v1/jobs/${out.job.id}`, {
      headers: { authorization: `Bearer ${out.apiKey}` },
    });
    expect(res.status).toBe(200);
    const job = (await res.json()) as { status: string; attempts: { status: string }[] };
    expect(job.status).toBe("succeeded");
    expect(job.attempts.map((a) => a.status)).toEqual(["succeeded"]);
  });
});
