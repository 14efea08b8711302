#!/usr/bin/env node
// `npm run build:dashboard`: the web dashboard into dist/site/dashboard (what [assets] serves). npm run
// dev does this itself before wrangler starts; npm run deploy runs it before wrangler deploy.
import { buildDashboard, ensureAssetsDirectory } from "./lib/dashboard.mjs";

ensureAssetsDirectory();
console.log(`dashboard built in ${await buildDashboard()} ms (dist/site/dashboard)`);
