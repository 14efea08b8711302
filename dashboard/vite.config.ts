// The dashboard's build: Preact (JSX compiled by Vite's own oxc transform, no plugin needed) into
// dist/site/dashboard, the folder wrangler.toml's [assets] serves at /dashboard/.
import path from "node:path";
import { defineConfig } from "vite";

const root = import.meta.dirname;

export default defineConfig({
  root,
  base: "/dashboard/",
  // The app has no public/ folder; this keeps Vite from looking for one in the project root.
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: path.join(root, "../dist/site/dashboard"),
    emptyOutDir: true,
    // Small enough that a source map would be most of the download; the sources are in the repository.
    sourcemap: false,
  },
  logLevel: "warn",
});
