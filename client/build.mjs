#!/usr/bin/env node
// Builds dist/, what the package ships (`npm run client:build` at the repository root; npm pack runs it
// as `prepack`): tsc's ESM JavaScript and declarations for src/ (tsconfig.build.json), and the generated
// src/schema.d.ts copied beside them, since tsc emits nothing for a declaration file and the emitted
// index.d.ts and types.d.ts import it as ./schema.js. dist/ is emptied first, so a file removed from
// src/ leaves none behind. TypeScript is the repository's (resolved from here, up to its node_modules).
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const here = import.meta.dirname;
const dist = path.join(here, "dist");
const tsc = path.join(
  path.dirname(createRequire(import.meta.url).resolve("typescript/package.json")),
  "bin/tsc",
);

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", path.join(here, "tsconfig.build.json")], { stdio: "inherit" });
copyFileSync(path.join(here, "src/schema.d.ts"), path.join(dist, "schema.d.ts"));
