#!/usr/bin/env node
// `npm run build:site`: the Worker's static files into dist/site (what [assets] serves): the web
// dashboard (dist/site/dashboard) and Swagger UI's files for /docs. npm run dev and npm run deploy do
// this themselves.
import { buildDashboard, copySwaggerUi, ensureAssetsDirectory } from "./lib/site.mjs";

ensureAssetsDirectory();
copySwaggerUi();
console.log(`site built in ${await buildDashboard()} ms (dist/site)`);
