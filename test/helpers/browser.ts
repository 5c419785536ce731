/**
 * Debian's Chromium driven by playwright-core: pages opened from disk, or from a server of the test's own
 * on 127.0.0.1 (the studio), with every other request refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.log("browser tests skipped: install Debian's chromium (apt-get install chromium) to run them");

/** Where tests keep screenshots and pages for a person to look at (not committed). */
export const ARTIFACTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/**
 * Opens `file` (a path, or an http://127.0.0.1 address of a local server) offline and hands the page to
 * `check`; returns the requests that tried to leave the disk (or that server) and the console errors,
 * warnings and page errors seen.
 */
export async function openOffline(file: string, check: (page: Page) => Promise<void>, viewport = { width: 1280, height: 900 }): Promise<{ requests: string[]; errors: string[] }> {
  const local = file.startsWith('http://127.0.0.1:') ? new URL(file).origin : undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const requests: string[] = [];
  const errors: string[] = [];
  try {
    const page = await browser.newPage({ viewport });
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || (local && new URL(url).origin === local)) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(local ? file : pathToFileURL(file).href, { waitUntil: 'load' });
    await check(page);
  } finally {
    await browser.close();
  }
  return { requests, errors };
}

/** A full-page screenshot kept under test/artifacts. */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}
