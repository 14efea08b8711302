// The profile's frames point into wrangler's bundle; the locator names the source file and line
// through the bundle's source map, and the package through esbuild's module comments.
import { describe, expect, it } from "vitest";
import {
  bundleModules,
  displayPath,
  moduleAt,
  relocateProfile,
  sourceMapLocator,
} from "../../../../tools/bench/profile/source-map";
import type { CallFrame } from "../../../../tools/bench/profile/summary";

const root = "/proj";
const mapDir = "/proj/.wrangler/tmp/dev-x";

// Line 0: a module comment; 1: our code; 2: a pure annotation; 3: drizzle-orm's module comment; 4: its code.
const bundle = [
  "// src/shard/sql/claim.ts",
  "function claimDue() {}",
  "// @__NO_SIDE_EFFECTS__",
  "// ../../work/node_modules/drizzle-orm/sql/sql.js",
  "function sql() {}",
].join("\n");

// Line 1 → src/shard/sql/claim.ts line 0; line 4 → drizzle's own "../src/sql.ts" (composed by esbuild
// into node_modules/src/sql.ts) line 4. Lines 0, 2 and 3 have no mapping of their own.
const payload = {
  version: 3,
  file: "index.js",
  sourceRoot: "",
  sourcesContent: [],
  sources: ["../../../src/shard/sql/claim.ts", "../../../node_modules/src/sql.ts"],
  names: [],
  mappings: ";AAAA;;;ACIA",
};

const at = (lineNumber: number, scriptId = "10", url = "index.js"): CallFrame => ({
  functionName: "f",
  scriptId,
  url,
  lineNumber,
  columnNumber: 2,
});

describe("bundleModules", () => {
  it("reads esbuild's module comments, not other comments, as paths from the project", () => {
    const modules = bundleModules(bundle, root);
    expect(modules.lines).toEqual([0, 3]);
    expect(modules.paths).toEqual(["src/shard/sql/claim.ts", "node_modules/drizzle-orm/sql/sql.js"]);
    expect(moduleAt(modules, 0)).toBe("src/shard/sql/claim.ts");
    expect(moduleAt(modules, 2)).toBe("src/shard/sql/claim.ts");
    expect(moduleAt(modules, 4)).toBe("node_modules/drizzle-orm/sql/sql.js");
    expect(moduleAt(bundleModules("x\n// src/a.ts\n", root), 0)).toBeNull();
  });

  it("shows paths from node_modules on, or from the project", () => {
    expect(displayPath("/work/main/node_modules/zod/v4/core/core.js", root)).toBe(
      "node_modules/zod/v4/core/core.js",
    );
    expect(displayPath("/proj/src/log.ts", root)).toBe("src/log.ts");
    expect(displayPath("/elsewhere/x.js", root)).toBe("/elsewhere/x.js");
  });
});

describe("sourceMapLocator", () => {
  const locate = sourceMapLocator("10", payload, mapDir, root, bundleModules(bundle, root));

  it("names our file and its 1-based line", () => {
    expect(locate(at(1))).toEqual({
      file: "src/shard/sql/claim.ts",
      line: 1,
      module: "src/shard/sql/claim.ts",
    });
  });

  it("puts a package's file that its own map names outside the package back inside it", () => {
    expect(locate(at(4))).toEqual({
      file: "node_modules/drizzle-orm/src/sql.ts",
      line: 5,
      module: "node_modules/drizzle-orm/sql/sql.js",
    });
  });

  it("keeps a position without a mapping in the bundle, with the module it is in", () => {
    expect(locate(at(0))).toEqual({ file: "index.js", line: 1, module: "src/shard/sql/claim.ts" });
  });

  it("locates another script's frames by their own URL", () => {
    expect(locate(at(7, "11", "cloudflare-internal:d1-api"))).toEqual({
      file: "cloudflare-internal:d1-api",
      line: 8,
    });
  });
});

describe("relocateProfile", () => {
  const locate = sourceMapLocator("10", payload, mapDir, root, bundleModules(bundle, root));

  it("points the bundle's frames at their sources, leaving the others and the samples as they were", () => {
    const profile = {
      startTime: 0,
      endTime: 10,
      samples: [1, 2],
      timeDeltas: [1, 1],
      nodes: [
        { id: 1, callFrame: { ...at(1), functionName: "claimDue" }, positionTicks: [{ line: 2, ticks: 3 }] },
        { id: 2, callFrame: { ...at(-1, "0", ""), functionName: "(program)" } },
        {
          id: 3,
          callFrame: at(7, "11", "cloudflare-internal:d1-api"),
          positionTicks: [{ line: 8, ticks: 1 }],
        },
      ],
    };
    const out = relocateProfile(profile, locate);
    expect(out.nodes[0]).toEqual({
      id: 1,
      callFrame: {
        functionName: "claimDue",
        scriptId: "10",
        url: "src/shard/sql/claim.ts",
        lineNumber: 0,
        columnNumber: 0,
      },
    });
    expect(out.nodes[1]).toBe(profile.nodes[1]);
    expect(out.nodes[2]).toBe(profile.nodes[2]);
    expect(out.samples).toEqual([1, 2]);
    expect(profile.nodes[0]?.callFrame.url).toBe("index.js");
  });
});
