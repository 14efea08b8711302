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
  /** `git status --porcelain` lines of the served files that differ from the commit (none for "head"). */
  uncommittedChanges: string[] | null;
  /** sha256 (12 hex digits) of the copied src/, to tell served versions apart. */
  srcDigest: string;
}

/**
 * Copies the parts of the project the server runs from into `dest` (node_modules linked), so that
 * `wrangler dev`, which watches its sources and reloads on every change, serves one fixed version of
 * the code for a whole run however the working tree changes meanwhile. `from`: "tree" copies the
 * working tree, "head" the committed tree of HEAD (git archive reads the repository, it changes nothing).
 */
export function snapshotProject(dest: string, from: "tree" | "head" = "tree"): Snapshot {
  mkdirSync(dest, { recursive: true });
  const commit = headCommit();
  if (from === "head") {
    if (!commit) throw new Error("a snapshot of HEAD needs a git checkout");
    const tar = git(["archive", "--format=tar", commit, "--", ...SERVED], 256 * 1024 * 1024);
    if (!tar) throw new Error("git archive failed");
    execFileSync("tar", ["-x", "-C", dest], { input: tar });
  } else {
    for (const entry of SERVED) {
      const src = path.join(projectRoot, entry);
      if (existsSync(src)) cpSync(src, path.join(dest, entry), { recursive: true });
    }
  }
  symlinkSync(path.join(projectRoot, "node_modules"), path.join(dest, "node_modules"), "dir");
  return {
    root: dest,
    commit,
    uncommittedChanges: from === "head" ? [] : uncommittedChanges(SERVED),
    srcDigest: digest(path.join(dest, "src")),
  };
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
