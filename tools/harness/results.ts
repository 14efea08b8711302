// Result files that docs cite are committed as `<date>-<commit>-<what>.json`: the run's UTC date, the
// short commit of the code it measured (`+dirty` when the served files had uncommitted changes) and
// what it measured, so a cited figure names the code it came from and sorts by date. They live under
// docs/results/<kind>/, beside the documents that cite them.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "./project";

/** The folders under docs/results: one per kind of measurement. */
export type ResultKind = "bench" | "soak" | "profile";

/** docs/results/bench, …/soak or …/profile: where `--save` writes and the docs cite from. */
export function resultsDirectory(kind: ResultKind): string {
  return path.join(projectRoot, "docs/results", kind);
}

/** Lower-case words joined by dashes or dots: `pool-index-flush-60s`, `full-180s-deadline30`. */
const WHAT = /^[a-z0-9]+(?:[-.][a-z0-9]+)*$/;

export function checkWhat(what: string): string {
  if (!WHAT.test(what)) throw new Error(`a result's name is lower-case words joined by "-", not ${what}`);
  return what;
}

export interface ResultName {
  /** When the run started (epoch ms). */
  startedAt: number;
  /** The commit the measured code came from; null outside a repository. */
  commit: string | null;
  /** The served files differed from the commit. */
  dirty: boolean;
  what: string;
}

/** `<date>-<commit>-<what>.<ext>`; the extension is `json` unless told (`cpuprofile.gz`). */
export function resultFileName({ startedAt, commit, dirty, what }: ResultName, ext = "json"): string {
  const date = new Date(startedAt).toISOString().slice(0, 10);
  const code = `${commit ? commit.slice(0, 7) : "nogit"}${dirty ? "+dirty" : ""}`;
  return `${date}-${code}-${checkWhat(what)}.${ext}`;
}

/** Writes `json` (text) to `dir/<date>-<commit>-<what>.json`; returns the path. */
export function saveResult(dir: string, name: ResultName, json: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, resultFileName(name));
  writeFileSync(file, json.endsWith("\n") ? json : `${json}\n`);
  return file;
}

/**
 * Writes a run's JSON where its command line asked: `out` (--out FILE) and `save` (--save WHAT, under
 * docs/results/<kind>/); returns the files written, relative to the working directory.
 */
export function writeResult(
  json: string,
  where: { kind: ResultKind; out?: string | undefined; save?: ResultName | undefined },
): string[] {
  const text = json.endsWith("\n") ? json : `${json}\n`;
  const written: string[] = [];
  if (where.out) {
    const file = path.resolve(where.out);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(file);
  }
  if (where.save) written.push(saveResult(resultsDirectory(where.kind), where.save, text));
  return written.map((f) => path.relative(process.cwd(), f));
}
