// The project the harnesses serve: where it is, which commit it is at, and frozen copies of it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";

export const projectRoot = path.resolve(import.meta.dirname, "../..");

/** A read-only git command in the project; null when it fails (no git, no repository). */
function git(args: string[], maxBuffer?: number): Buffer | null {
  try {
    return execFileSync("git", args, { cwd: projectRoot, stdio: ["ignore", "pipe", "ignore"], maxBuffer });
  } catch {
    return null;
  }
}

/** The commit checked out (full hash), or null outside a repository. */
export function headCommit(): string | null {
  return git(["rev-parse", "HEAD"])?.toString("utf8").trim() ?? null;
}

/**
 * `rev` (a commit, tag or branch) as the full hash of a commit; throws when the repository has none by
 * that name (or there is no repository).
 */
export function resolveCommit(rev: string): string {
  const hash = rev.startsWith("-") ? null : git(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  const out = hash?.toString("utf8").trim();
  if (!out) throw new Error(`no commit ${rev} in this repository`);
  return out;
}

/** The version of the project's wrangler. */
export function wranglerVersion(): string {
  const pkg = path.join(projectRoot, "node_modules/wrangler/package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

/** `git status --porcelain` lines of `paths` (changes not committed); null outside a repository. */
export function uncommittedChanges(paths: readonly string[]): string[] | null {
  const out = git(["status", "--porcelain", "--", ...paths])?.toString("utf8");
  return out === undefined ? null : out.split("\n").filter(Boolean);
}

/** What `npm run dev` needs from the tree; node_modules is linked, not copied. */
export const SERVED = ["src", "scripts", "migrations", "wrangler.toml", "package.json", "tsconfig.json"];

export interface Snapshot {
  root: string;
  /** The commit the copy was taken at (full hash), or null outside a repository. */
  commit: string | null;
  /** src/ came from this commit (full hash) instead; null when it came with the rest. */
  srcFrom: string | null;
  /**
   * `git status --porcelain` lines of the served files that differ from the commit (none for "head"),
   * src/ left out when it came from `srcFrom`.
   */
  uncommittedChanges: string[] | null;
  /** sha256 (12 hex digits) of the copied src/, to tell served versions apart. */
  srcDigest: string;
}

/**
 * Copies the parts of the project the server runs from into `dest` (node_modules linked), so that
 * `wrangler dev`, which watches its sources and reloads on every change, serves one fixed version of
 * the code for a whole run however the working tree changes meanwhile. `from`: "tree" copies the
 * working tree, "head" the committed tree of HEAD (git archive reads the repository, it changes nothing).
 * `srcFrom`: src/ as of that commit instead, the rest as `from` says (a before/after of a change to src/).
 */
export function snapshotProject(dest: string, from: "tree" | "head" = "tree", srcFrom?: string): Snapshot {
  mkdirSync(dest, { recursive: true });
  const commit = headCommit();
  const srcCommit = srcFrom === undefined ? null : resolveCommit(srcFrom);
  const rest = srcCommit ? SERVED.filter((entry) => entry !== "src") : SERVED;
  if (from === "head") {
    if (!commit) throw new Error("a snapshot of HEAD needs a git checkout");
    extract(commit, rest, dest);
  } else {
    for (const entry of rest) {
      const src = path.join(projectRoot, entry);
      if (existsSync(src)) cpSync(src, path.join(dest, entry), { recursive: true });
    }
  }
  if (srcCommit) extract(srcCommit, ["src"], dest);
  symlinkSync(path.join(projectRoot, "node_modules"), path.join(dest, "node_modules"), "dir");
  return {
    root: dest,
    commit,
    srcFrom: srcCommit,
    uncommittedChanges: from === "head" ? [] : uncommittedChanges(rest),
    srcDigest: digest(path.join(dest, "src")),
  };
}

/** Writes `paths` as `commit` has them under `dest` (git archive reads the repository, changes nothing). */
function extract(commit: string, paths: readonly string[], dest: string): void {
  const tar = git(["archive", "--format=tar", commit, "--", ...paths], 256 * 1024 * 1024);
  if (!tar) throw new Error(`git archive of ${paths.join(", ")} at ${commit.slice(0, 12)} failed`);
  execFileSync("tar", ["-x", "-C", dest], { input: tar });
}

function digest(dir: string): string {
  const hash = createHash("sha256");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
  for (const f of files) {
    const file = path.join(dir, f);
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch {
      continue; // a directory
    }
    hash.update(f).update("\0").update(content);
  }
  return hash.digest("hex").slice(0, 12);
}
