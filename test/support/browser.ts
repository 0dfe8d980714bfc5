// Headless Chromium for tests that look at pages as a researcher does: the report's
// index.html, the Temporal UI and the MLflow UI. Debian's chromium package, driven by
// puppeteer-core; a missing browser is installed (scripts/setup-chromium.sh) or named in
// the error, never a reason to skip.
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { REPO_ROOT } from './processes.js';
import { waitFor } from './temporal-server.js';

/** What screenshots are taken at: the size of the README's pictures. */
export const VIEWPORT = { width: 1280, height: 800 };

/** Where tests leave screenshots (gitignored): CI keeps them beside the log, a developer looks at them. */
export const SCREENSHOT_DIR = process.env.MIRL_TEST_OUTPUT
  ? path.resolve(process.env.MIRL_TEST_OUTPUT)
  : path.join(REPO_ROOT, 'test-output', 'browser');

const onPath = (name: string): string | undefined =>
  spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim() || undefined;

/** The Chromium binary: MIRL_CHROMIUM, else `chromium` on PATH, installed first when this machine can install it. */
export function chromiumExecutable(): string {
  const named = process.env.MIRL_CHROMIUM;
  if (named) {
    if (spawnSync('test', ['-x', named]).status !== 0)
      throw new Error(`MIRL_CHROMIUM=${named} is not an executable file`);
    return named;
  }
  const found = onPath('chromium');
  if (found) return found;
  const setup = spawnSync('bash', ['scripts/setup-chromium.sh'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const installed = onPath('chromium');
  if (setup.status !== 0 || !installed) {
    throw new Error(
      "the browser test needs Chromium: `bash scripts/setup-chromium.sh` installs Debian's chromium package (as root), or set MIRL_CHROMIUM to a Chromium binary",
    );
  }
  return installed;
}

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumExecutable(),
    // Root in a container: no user namespaces for the sandbox, a small /dev/shm, no GPU.
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    defaultViewport: VIEWPORT,
  });
}

/**
 * Records what went wrong on a page from now on: console errors, uncaught exceptions,
 * requests that failed and responses with an error status. A figure whose file is
 * missing shows up here as a failed request, whatever element loads it.
 */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location().url ?? 'no url'})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err instanceof Error ? err.message : String(err)}`));
  page.on('requestfailed', (r) =>
    problems.push(`request failed: ${r.url().slice(0, 200)} (${r.failure()?.errorText ?? 'unknown'})`),
  );
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url().slice(0, 200)}`);
  });
  return problems;
}

/**
 * Figures that loaded but show nothing: an image that did not decode (a bad data URI
 * raises no error, its naturalWidth is 0), or an inline SVG or embedded object drawn
 * at zero size.
 */
export function brokenFigures(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const broken: string[] = [];
    for (const img of Array.from(document.images)) {
      if (!img.complete || img.naturalWidth === 0) broken.push(`img ${img.alt || img.src.slice(0, 80)}`);
    }
    for (const el of Array.from(document.querySelectorAll('body > svg, figure svg, object'))) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0)
        broken.push(`${el.tagName.toLowerCase()} ${el.id || el.getAttribute('data') || ''}`);
    }
    return broken;
  });
}

/** The visible text of the page and of every frame in it (the Temporal UI renders markdown in iframes). */
async function pageText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) => f.evaluate(() => document.body?.innerText ?? '').catch(() => '')),
  );
  return texts.join('\n');
}

/**
 * Waits until the page shows every one of `texts`. Single-page apps (the MLflow and
 * Temporal UIs) fill in after load, and slowly on a busy machine; on timeout the error
 * names what is missing and what the page showed instead.
 */
export async function waitForTexts(page: Page, texts: string[], timeoutMs: number): Promise<void> {
  await waitFor(
    `${page.url()} to show ${texts.join(', ')}`,
    async () => {
      const shown = await pageText(page);
      const missing = texts.filter((t) => !shown.includes(t));
      if (missing.length) throw new Error(`${missing.join(', ')} not shown; the page shows:\n${shown.slice(0, 3000)}`);
      return true;
    },
    timeoutMs,
    500,
  );
}

/** Saves what the page shows now, at the viewport's size, as SCREENSHOT_DIR/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png` });
  return file;
}
