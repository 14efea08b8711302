import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeRunSummary } from "../../../tools/harness/run-summary";
import type { ServerSession } from "../../../tools/harness/session";

const served = {
  commit: "d5a3995f00ba",
  src_from: null,
  uncommitted_changes_in_served_files: 0,
  src_digest: "ab",
};
const session = { source: () => served } as unknown as ServerSession;

describe("a bench run's summary file", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("holds the machine, the command, what was served and the start, then the run's own fields, where --out says", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "run-summary-"));
    const out = path.join(dir, "nested", "run.json");
    const lines: string[] = [];
    const json = writeRunSummary({
      name: "requests",
      argv: ["--requests", "200"],
      session,
      startedAt: Date.parse("2026-12-05T10:00:00.000Z"),
      out,
      fields: { clients: 16, results: [{ kind: "health" }] },
      log: (line: string) => lines.push(line) > 0,
    });
    const written = JSON.parse(await readFile(out, "utf8"));
    expect(written).toEqual(JSON.parse(json));
    expect(Object.keys(written)).toEqual([
      "machine",
      "command",
      "source",
      "started_at",
      "clients",
      "results",
    ]);
    expect(written.command).toBe("npm run bench -- requests --requests 200");
    expect(written.source).toEqual(served);
    expect(written.started_at).toBe("2026-12-05T10:00:00.000Z");
    expect(written.machine.nproc).toBeGreaterThan(0);
    expect(lines).toEqual([`requests: written to ${path.relative(process.cwd(), out)}`]);
  });

  it("writes nothing and logs nothing when neither --out nor --save was given", () => {
    const lines: string[] = [];
    const json = writeRunSummary({
      name: "watch",
      argv: [],
      session,
      startedAt: 0,
      fields: {},
      log: (line: string) => lines.push(line) > 0,
    });
    expect(JSON.parse(json).command).toBe("npm run bench -- watch");
    expect(lines).toEqual([]);
  });
});
