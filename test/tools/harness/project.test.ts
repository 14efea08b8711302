// The frozen copies of the project a server session serves, src/ possibly from another commit.
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { headCommit, projectRoot, resolveCommit, snapshotProject } from "../../../tools/harness/project";

/** The files under src/ as `commit` has them. */
const committedSrc = (commit: string) =>
  execFileSync("git", ["ls-tree", "-r", "--name-only", commit, "--", "src"], {
    cwd: projectRoot,
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean)
    .sort();

describe("resolveCommit", () => {
  it("names a commit by its full hash", () => {
    const head = headCommit();
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(resolveCommit("HEAD")).toBe(head);
    expect(resolveCommit(head?.slice(0, 10) ?? "")).toBe(head);
  });

  it("refuses what is no commit, and anything git would read as an option", () => {
    for (const rev of ["no-such-commit-here", "HEAD:src", "--all", "-h", ""])
      expect(() => resolveCommit(rev), rev).toThrow(/no commit/);
  });
});

describe("snapshotProject", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "harness-project-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves src/ as of another commit, the rest from the tree", async () => {
    const head = headCommit() ?? "";
    const copy = snapshotProject(path.join(dir, "before"), "tree", "HEAD");
    expect(copy.srcFrom).toBe(head);
    const files = await readdir(path.join(copy.root, "src"), { recursive: true, withFileTypes: true });
    const copied = files
      .filter((f) => f.isFile())
      .map((f) => path.relative(copy.root, path.join(f.parentPath, f.name)))
      .sort();
    expect(copied).toEqual(committedSrc(head));
    // The working tree's changes to src/ are not served, so not counted either.
    expect(copy.uncommittedChanges?.filter((l) => / src\//.test(l))).toEqual([]);
    // The same src/ as the committed tree of HEAD.
    expect(copy.srcDigest).toBe(snapshotProject(path.join(dir, "head"), "head").srcDigest);
  });

  it("records no other commit when src/ comes with the rest", () => {
    expect(snapshotProject(path.join(dir, "head"), "head").srcFrom).toBeNull();
  });
});
