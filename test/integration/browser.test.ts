// What a researcher sees, in a real browser: a finished smoke sweep (sweeps/smoke.yaml,
// profile quick) run on the whole local stack, then its report opened from disk and the
// two UIs that mirl links to, each checked for what it must show and photographed under
// test-output/browser/ (the README's pictures in docs/screenshots/ come from there).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import type { SweepSnapshot } from '../../client/sweeps.js';
import { runsViewUrl } from '../../tracking/ui-links.js';
import { brokenFigures, launchChromium, screenshot, waitForTexts, watchPage } from '../support/browser.js';
import { mirl, runsOf, startStack, untilClosed, type Stack } from '../support/stack.js';

/** SPAs on a 2-core machine shared with training: their first render can take a while. */
const UI_TIMEOUT_MS = 90_000;

let stack: Stack;
let browser: Browser;
let sweep: { sweepId: string; ui: string };
let closed: SweepSnapshot;

before(async () => {
  // Chromium starts while the servers do; a stack that started stays stoppable in after().
  const [started, chromium] = await Promise.allSettled([startStack('browser', { temporalUi: true }), launchChromium()]);
  if (started.status === 'fulfilled') stack = started.value;
  if (chromium.status === 'fulfilled') browser = chromium.value;
  if (started.status === 'rejected') throw started.reason;
  if (chromium.status === 'rejected') throw chromium.reason;
  // The link `mirl sweep launch` prints, pointed at this server's UI rather than gRPC port + 1000.
  stack.env.TEMPORAL_UI_URL = `http://127.0.0.1:${stack.temporal.uiPort}`;
  await stack.pool.start('worker');
  const launched = mirl(stack, ['sweep', 'launch', 'sweeps/smoke.yaml', '--profile', 'quick', '--json']);
  assert.equal(launched.status, 0, launched.stderr);
  sweep = JSON.parse(launched.stdout) as { sweepId: string; ui: string };
  closed = await untilClosed(stack, sweep.sweepId);
  assert.equal(closed.status, 'COMPLETED');
  assert.deepEqual(closed.progress.counts, { pending: 0, running: 0, done: 2, failed: 0, cancelled: 0, pruned: 0 });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Opens `url` in a fresh page, runs `check` on it, and photographs it as `name` whether or not the check passed. */
async function visit(
  name: string,
  url: string,
  check: (page: Page, problems: string[]) => Promise<void>,
): Promise<void> {
  const page = await browser.newPage();
  const problems = watchPage(page);
  try {
    await page.goto(url, { waitUntil: 'load', timeout: UI_TIMEOUT_MS });
    await check(page, problems);
  } finally {
    await screenshot(page, name).catch((err) => process.stderr.write(`no screenshot of ${name}: ${String(err)}\n`));
    await page.close();
  }
}

test('the report opens in Chromium without an error, every figure drawn', async () => {
  const out = path.join(stack.dir, 'report');
  const r = mirl(stack, ['report', sweep.sweepId, '--out', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const { figures } = JSON.parse(r.stdout) as { figures: string[] };
  assert.ok(figures.length > 0, 'a finished smoke sweep has figures to draw');
  await visit('report', pathToFileURL(path.join(out, 'index.html')).href, async (page, problems) => {
    assert.equal(await page.title(), `mirl report: ${sweep.sweepId}`);
    assert.deepEqual(
      await page.$$eval('figure', (fs) => fs.map((f) => f.id)),
      figures,
      'one figure per metric the CLI reported',
    );
    assert.deepEqual(await brokenFigures(page), []);
    assert.deepEqual(problems, []);
  });
});

test('the Temporal UI link that `mirl sweep launch` prints lists the sweep and its trial workflows', async () => {
  assert.ok(sweep.ui.startsWith(stack.env.TEMPORAL_UI_URL!), sweep.ui);
  const trialIds = closed.progress.trials.map((t) => t.trialId);
  assert.equal(trialIds.length, 2);
  await visit('temporal-sweep', sweep.ui, (page) => waitForTexts(page, [sweep.sweepId, ...trialIds], UI_TIMEOUT_MS));
});

test("the Temporal UI shows the sweep's summary, details and current progress on its workflow page", async () => {
  const description = await stack.temporal.client.workflow.getHandle(sweep.sweepId).describe();
  const summary = await description.staticSummary();
  assert.equal(summary, 'smoke (smoke, profile quick): 2 trials');
  const digest = /spec digest `([0-9a-f]+)`/.exec((await description.staticDetails()) ?? '')?.[1];
  assert.ok(digest, 'the details name the spec digest');
  const url = `${stack.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${encodeURIComponent(sweep.sweepId)}/${description.runId}/user-metadata`;
  // Current details come live from the sweep's progress query, answered by the worker.
  await visit('temporal-sweep-metadata', url, (page) =>
    waitForTexts(page, [sweep.sweepId, summary, `spec digest ${digest}`, '2 done'], UI_TIMEOUT_MS),
  );
});

/**
 * MLflow folds a parent run's children under a "+" in its name cell, and opens its
 * assistant over half the table; a researcher closes one and unfolds the other. The
 * selectors are MLflow's own component ids, stable for the version pinned in
 * scripts/setup-python.sh.
 */
async function unfoldRuns(page: Page): Promise<void> {
  const assistant = await page
    .waitForSelector('button[data-component-id="mlflow.assistant.chat_panel.close"]', { timeout: 5_000 })
    .catch(() => null);
  await assistant?.click();
  await page.click('button[data-component-id*="runnamecellrenderer"]');
  // Neither the focused cell's outline nor a hover button belongs in the screenshot.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.mouse.move(0, 0);
}

test('the MLflow runs view of the sweep lists its parent run and, unfolded, its trial runs', async () => {
  const { parent, children } = await runsOf(stack, sweep.sweepId, 'smoke');
  assert.equal(children.length, 2);
  const url = runsViewUrl(stack.mlflowServer.uri, parent.info.experimentId, sweep.sweepId);
  await visit('mlflow-runs', url, async (page) => {
    await waitForTexts(page, [parent.info.runName, '3 matching runs'], UI_TIMEOUT_MS);
    await unfoldRuns(page);
    await waitForTexts(
      page,
      children.map((r) => r.info.runName),
      UI_TIMEOUT_MS,
    );
  });
});
