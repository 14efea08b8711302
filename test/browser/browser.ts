// Debian's Chromium (/usr/bin/chromium, installed by .ci/run when missing) driven by playwright-core:
// no browser download, the flags this machine needs (no network beyond loopback), a fresh profile per
// launch, and screenshots written to test-artifacts/ for whoever reads a CI run.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { projectRoot } from "../../tools/harness/project";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = path.join(projectRoot, "test-artifacts");

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does when it is missing)`);
  }
  await mkdir(ARTIFACTS, { recursive: true });
  // playwright gives each non-persistent launch a new, empty --user-data-dir of its own.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** A full-page screenshot, test-artifacts/<name>.png. */
export async function snap(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
