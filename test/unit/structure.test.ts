// Rules about src/ as a whole, read from its sources: no import cycles (type-only imports count: a
// type cycle still ties the modules' meaning together), a pure core, and one reader of variables.
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>("../../src/**/*.ts", {
  query: "?raw",
  import: "default",
  eager: true,
});
const files = new Map(Object.entries(sources).map(([path, text]) => [path.replace("../../", ""), text]));

/** Every module specifier a source names: static, type-only, re-exports, side effects, dynamic. */
function specifiers(text: string): string[] {
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gms),
    ...text.matchAll(/^\s*import\s*"([^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ];
  return found.map((m) => m[1] as string);
}

/** The src/ file a relative specifier names, or null for a package or a file outside src/. */
function resolve(from: string, specifier: string): string | null {
  if (!specifier.startsWith(".")) return null;
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  const base = parts.join("/");
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`])
    if (files.has(candidate)) return candidate;
  return null;
}

function importGraph(): Map<string, string[]> {
  return new Map(
    [...files].map(([file, text]) => [
      file,
      specifiers(text)
        .map((s) => resolve(file, s))
        .filter((f): f is string => f !== null),
    ]),
  );
}

/** Each cycle once, as the path that closes it (a → b → a). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

/**
 * The layers, lowest first: what a folder of src/ may not import. core is pure (it imports only core);
 * the Durable Object (shard) serves the API and the consumer, so it imports neither; the consumer is
 * not the API's client.
 */
const FORBIDDEN: Record<string, (target: string) => boolean> = {
  "src/core/": (target) => !target.startsWith("src/core/"),
  "src/shard/": (target) => target.startsWith("src/api/") || target.startsWith("src/consumer/"),
  "src/consumer/": (target) => target.startsWith("src/api/"),
};

/** Every import that crosses a layer the wrong way, as `from → to`. */
function layerBreaks(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([from, targets]) => {
    const rule = Object.entries(FORBIDDEN).find(([folder]) => from.startsWith(folder))?.[1];
    return rule ? targets.filter(rule).map((to) => `${from} → ${to}`) : [];
  });
}

describe("src/", () => {
  it("is read whole (the rules below are not vacuous)", () => {
    expect(files.size).toBeGreaterThan(40);
    const graph = importGraph();
    // The bindings are the ground floor: they import nothing of ours.
    expect(graph.get("src/env.ts")).toEqual([]);
    expect(graph.get("src/shard/address.ts")).toContain("src/shard/rpc.ts");
    expect(graph.get("src/index.ts")).toEqual(
      expect.arrayContaining(["src/api/app.ts", "src/consumer/consumer.ts", "src/shard/billing.ts"]),
    );
  });

  it("finds a cycle when there is one, type-only imports included", () => {
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", ["c"]],
          ["c", ["a"]],
          ["d", ["a"]],
        ]),
      ),
    ).toEqual([["a", "b", "c", "a"]]);
    expect(
      specifiers('import type {\n  A,\n  B,\n} from "./a";\nexport { c } from "./c";\nimport "./d";'),
    ).toEqual(["./a", "./c", "./d"]);
  });

  it("finds an import against the layers when there is one", () => {
    expect(
      layerBreaks(
        new Map([
          ["src/core/a.ts", ["src/core/b.ts", "src/executors/x.ts"]],
          ["src/shard/s.ts", ["src/core/a.ts", "src/api/j.ts", "src/consumer/c.ts"]],
          ["src/consumer/c.ts", ["src/shard/s.ts", "src/api/j.ts"]],
          ["src/api/j.ts", ["src/shard/s.ts", "src/consumer/c.ts"]],
        ]),
      ),
    ).toEqual([
      "src/core/a.ts → src/executors/x.ts",
      "src/shard/s.ts → src/api/j.ts",
      "src/shard/s.ts → src/consumer/c.ts",
      "src/consumer/c.ts → src/api/j.ts",
    ]);
  });

  it("keeps its layers: core imports only core, shard neither api nor consumer, consumer not api", () => {
    expect(layerBreaks(importGraph())).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles(importGraph())).toEqual([]);
  });

  it("keeps src/core pure: nothing from cloudflare:*", () => {
    for (const [file, text] of files) {
      if (!file.startsWith("src/core/")) continue;
      expect(
        specifiers(text).filter((s) => s.startsWith("cloudflare:")),
        file,
      ).toEqual([]);
    }
  });

  it("reads variables only through src/config.ts", () => {
    const bindings = new Set([
      "TASK_SHARD",
      "DISPATCH",
      "DISPATCH_1",
      "DISPATCH_2",
      "DISPATCH_3",
      "INDEX_DB",
      "INDEX_DB_1",
      "INDEX_DB_2",
      "INDEX_DB_3",
      "RESULTS",
      "ASSETS",
      "KEY_RATE_LIMITER",
    ]);
    for (const [file, text] of files) {
      const read = [...text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]);
      expect(
        read.filter((name) => !bindings.has(name as string)),
        file,
      ).toEqual([]);
    }
  });
});
