// From a position in wrangler's bundle (.wrangler/tmp/dev-*/index.js, one script of ~1 MB) back to the
// file it came from, so that the profile's frames name `src/shard/sql/claim.ts:42` or
// `node_modules/drizzle-orm/…` instead of `index.js:36617`. Two sources, both written by esbuild:
// - the source map, for the original file and line;
// - the module comments (`// src/shard/tick.ts`, `// ../node_modules/drizzle-orm/sql/sql.js`) that
//   open each module's code in the bundle, for the module a line belongs to. They decide the area when
//   the map cannot: drizzle-orm's own maps name `../src/sql/sql.ts`, which esbuild composes into
//   `node_modules/src/sql/sql.ts`, outside any package.
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CallFrame,
  type CpuProfile,
  type Locate,
  type Location,
  packageOf,
  rawLocation,
} from "./summary";

/**
 * A path as the summary shows it: from its last `node_modules/` on for a package's file, relative to
 * `root` (the served project) when inside it, else absolute.
 */
export function displayPath(absolute: string, root: string): string {
  const at = absolute.lastIndexOf("/node_modules/");
  if (at >= 0) return absolute.slice(at + 1);
  const relative = path.relative(root, absolute);
  return relative.startsWith("..") || path.isAbsolute(relative) ? absolute : relative;
}

/** Where each module's code starts in the bundle (0-based lines, ascending) and its path. */
export interface BundleModules {
  lines: number[];
  paths: string[];
}

/** esbuild's module comment: `// <path of a module>` alone on a line (not `// @__NO_SIDE_EFFECTS__`). */
const MODULE_COMMENT = /^\/\/ (\S+\.(?:[cm]?[jt]sx?|json)|[\w-]+:\S+)$/;

/** The module comments of `bundle` (its text); their paths are relative to `root`, wrangler's folder. */
export function bundleModules(bundle: string, root: string): BundleModules {
  const out: BundleModules = { lines: [], paths: [] };
  const lines = bundle.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const match = MODULE_COMMENT.exec(lines[i] ?? "");
    if (!match?.[1]) continue;
    const file = match[1];
    out.lines.push(i);
    out.paths.push(file.includes(":") ? file : displayPath(path.resolve(root, file), root));
  }
  return out;
}

/** The module whose code line `line` (0-based) is in: the last comment at or before it. */
export function moduleAt(modules: BundleModules, line: number): string | null {
  let lo = 0;
  let hi = modules.lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((modules.lines[mid] ?? 0) <= line) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? null : (modules.paths[found] ?? null);
}

/**
 * Locates frames of script `scriptId` (the bundle) through the source map `payload` (whose sources are
 * relative to `mapDir`) and the bundle's `modules`; any other frame by its own URL. A package's file
 * that its map names outside the package is put back inside it (`node_modules/drizzle-orm/src/sql/sql.ts`).
 * A position without a mapping stays in the bundle, with the module it is in.
 */
export function sourceMapLocator(
  scriptId: string,
  payload: ConstructorParameters<typeof SourceMap>[0],
  mapDir: string,
  root: string,
  modules: BundleModules = { lines: [], paths: [] },
): Locate {
  const map = new SourceMap(payload);
  const names = new Map<string, string>();
  const name = (source: string) => {
    let out = names.get(source);
    if (out === undefined) {
      const absolute = source.startsWith("file://")
        ? fileURLToPath(source)
        : path.resolve(mapDir, payload.sourceRoot ?? "", source);
      out = displayPath(absolute, root);
      names.set(source, out);
    }
    return out;
  };
  return (frame: CallFrame): Location | null => {
    if (frame.scriptId !== scriptId || frame.lineNumber < 0) return rawLocation(frame);
    const module = moduleAt(modules, frame.lineNumber) ?? undefined;
    const entry = map.findEntry(frame.lineNumber, Math.max(0, frame.columnNumber));
    if (!("originalSource" in entry) || !entry.originalSource) {
      const raw = rawLocation(frame);
      return raw && module ? { ...raw, module } : raw;
    }
    let file = name(entry.originalSource);
    const pkg = module ? packageOf(module) : null;
    if (pkg && packageOf(file) !== pkg) file = `node_modules/${pkg}/${file.replace(/^.*node_modules\//, "")}`;
    return { file, line: entry.originalLine + 1, ...(module ? { module } : {}) };
  };
}

/**
 * The bundle a `Debugger.scriptParsed` event names, read from disk (it lives as long as the server):
 * its locator, or null when it has no source map on disk. `root` is the folder wrangler ran in.
 */
export function bundleLocator(
  script: { scriptId: string; url: string; sourceMapURL?: string },
  root: string,
): Locate | null {
  if (!script.url.startsWith("file:") || !script.sourceMapURL) return null;
  const mapUrl = new URL(script.sourceMapURL, script.url);
  if (mapUrl.protocol !== "file:") return null;
  const mapFile = fileURLToPath(mapUrl);
  const payload = JSON.parse(readFileSync(mapFile, "utf8"));
  const modules = bundleModules(readFileSync(fileURLToPath(script.url), "utf8"), root);
  return sourceMapLocator(script.scriptId, payload, path.dirname(mapFile), root, modules);
}

/**
 * The profile with each frame of the bundle pointing at its source (`src/shard/sql/claim.ts`, line −1
 * as V8 counts), so that DevTools shows where a function is once the bundle is gone (wrangler deletes
 * it when it stops). Per-line ticks, which count bundle lines, are dropped from those frames.
 */
export function relocateProfile(profile: CpuProfile, locate: Locate): CpuProfile {
  return {
    ...profile,
    nodes: profile.nodes.map((node) => {
      const frame = node.callFrame;
      const loc = frame.url ? locate(frame) : null;
      if (!loc || (loc.file === frame.url && loc.line === frame.lineNumber + 1)) return node;
      const { positionTicks: _bundleLines, ...rest } = node;
      return { ...rest, callFrame: { ...frame, url: loc.file, lineNumber: loc.line - 1, columnNumber: 0 } };
    }),
  };
}
