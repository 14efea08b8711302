// Every clone is whole: no tracked file links to something outside the repository (the contract a
// user reads is docs/design.md, here), and every relative Markdown link resolves to a tracked file.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
  .split("\0")
  .filter((f) => f !== "");
const trackedSet = new Set(tracked);
const TEXT = /\.(?:md|ts|tsx|mjs|js|json|toml|sql|css|html|sh)$|^\.ci\/run$/;
/** Generated or recorded files: lock files and benchmark results name paths of the machine they ran on. */
const SKIP = /(?:^|\/)package-lock\.json$|^docs\/results\/|^migrations\/.*\/meta\//;
const texts = tracked.filter((f) => TEXT.test(f) && !SKIP.test(f));

/** Relative Markdown link targets of a Markdown file: `[text](target)`, without a URL scheme or anchor. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => (m[1] ?? "").split("#")[0] ?? "")
    .filter((t) => t !== "" && !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith("/"));
}

describe("links in the repository", () => {
  it("finds the files it checks (the list comes from git)", () => {
    expect(texts.length).toBeGreaterThan(300);
    expect(texts).toContain("README.md");
    expect(texts).toContain("docs/design.md");
  });

  it("names nothing in the workspace beside the repository (../shared and the like)", () => {
    const outside = texts.flatMap((file) => {
      const text = readFileSync(path.join(root, file), "utf8");
      return /(?:\.\.\/)+shared\//.test(text) ? [file] : [];
    });
    expect(outside).toEqual([]);
  });

  it("resolves every relative Markdown link to a tracked file or folder inside the repository", () => {
    const broken: string[] = [];
    for (const file of texts.filter((f) => f.endsWith(".md"))) {
      for (const target of relativeLinks(readFileSync(path.join(root, file), "utf8"))) {
        const resolved = path.relative(root, path.resolve(root, path.dirname(file), decodeURI(target)));
        const inside = !resolved.startsWith("..") && !path.isAbsolute(resolved);
        const exists = trackedSet.has(resolved) || tracked.some((t) => t.startsWith(`${resolved}/`));
        if (!inside || !exists) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
