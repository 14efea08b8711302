import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resultFileName, saveResult } from "../../../tools/harness/results";

const startedAt = Date.parse("2026-11-26T23:59:59.000Z");

describe("result file names", () => {
  it("are <date>-<commit>-<what>.json, with the UTC date and the short commit", () => {
    expect(
      resultFileName({ startedAt, commit: "d5a3995f00ba", dirty: false, what: "pool-index-flush-60s" }),
    ).toBe("2026-11-26-d5a3995-pool-index-flush-60s.json");
  });

  it("take another extension when told (a profile beside its summary)", () => {
    expect(
      resultFileName({ startedAt, commit: "d5a3995f00ba", dirty: false, what: "herd" }, "cpuprofile.gz"),
    ).toBe("2026-11-26-d5a3995-herd.cpuprofile.gz");
  });

  it("say when the measured code had uncommitted changes or no commit", () => {
    expect(resultFileName({ startedAt, commit: "54a981f1bcb2", dirty: true, what: "ci" })).toBe(
      "2026-11-26-54a981f+dirty-ci.json",
    );
    expect(resultFileName({ startedAt, commit: null, dirty: false, what: "ci" })).toBe(
      "2026-11-26-nogit-ci.json",
    );
  });

  it("refuse a name that is not lower-case words", () => {
    for (const what of ["", "Full", "a b", "../x", "x/y", "-x", "x-"]) {
      expect(() => resultFileName({ startedAt, commit: "abc1234", dirty: false, what }), what).toThrow(
        /lower-case words/,
      );
    }
  });

  describe("saveResult", () => {
    let dir: string | undefined;
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("writes the JSON under that name, ending in a newline", async () => {
      dir = await mkdtemp(path.join(tmpdir(), "harness-results-"));
      const file = saveResult(
        path.join(dir, "results"),
        { startedAt, commit: "abc1234", dirty: false, what: "x" },
        "{}",
      );
      expect(path.basename(file)).toBe("2026-11-26-abc1234-x.json");
      expect(await readFile(file, "utf8")).toBe("{}\n");
    });
  });
});
