// The dashboard page (dist/webview.js under its real HTML and CSP) in Chromium, driven by the host's
// messages: two runs overlaid with a legend of their differing config keys, a click on a legend entry
// hides a run, a live append to the overlaid run is drawn, a chart click and an alert's link ask the
// host for the sample browser at a step, and the overlay survives in the page state.
// Skipped without /usr/bin/chromium or dist/webview.js (node esbuild.mjs).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { SeriesChunk } from '../../src/core/protocol';
import type { HostToWebview, WebviewToHost } from '../../webview/dashboard/protocol';
import { dashboardHtml } from '../../webview/dashboard/html';
import { CHROMIUM, launchChromium, type Browser } from './browser';

const ROOT = path.resolve(__dirname, '../..');
const BASE = 'https://webview.test';
const FILES: Record<string, string> = {
  '/webview.js': path.join(ROOT, 'dist', 'webview.js'), '/uPlot.min.css': path.join(ROOT, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'),
  '/dashboard.css': path.join(ROOT, 'media', 'dashboard.css'),
};

function missing(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `no ${CHROMIUM}`;
  return Object.values(FILES).find((f) => !fs.existsSync(f)) && 'dist/webview.js is missing: node esbuild.mjs';
}

const chunk = (n: number, reward: (i: number) => number): SeriesChunk => ({
  step: Array.from({ length: n }, (_, i) => i + 1), samples: Array.from({ length: n }, (_, i) => (i + 1) * 8), time: Array.from({ length: n }, (_, i) => i),
  values: { reward_mean: Array.from({ length: n }, (_, i) => reward(i)), kl: Array.from({ length: n }, () => 0.01) },
});
const EMPTY: SeriesChunk = { step: [], samples: [], time: [], values: {} };
const info = (id: string, live: boolean) => ({ id, name: id, state: live ? 'running' as const : 'completed' as const, step: 200, totalSteps: 400, live });

/** The dashboard page of run `a` in Chromium, with the VS Code webview API stubbed: what it posts is collected, its state kept. */
async function openDashboard(browser: Browser) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.route(`${BASE}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/') return route.fulfill({ contentType: 'text/html', body: dashboardHtml({ runId: 'a', nonce: 'n0nce', cspSource: BASE,
      uplotCss: `${BASE}/uPlot.min.css`, dashboardCss: `${BASE}/dashboard.css`, script: `${BASE}/webview.js` }) });
    const file = FILES[url.pathname];
    return file ? route.fulfill({ path: file }) : route.fulfill({ status: 404 });
  });
  await page.addInitScript(() => {
    const w = window as unknown as { sent: unknown[]; state: unknown; acquireVsCodeApi: unknown };
    w.sent = [];
    w.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => w.sent.push(m), getState: () => w.state, setState: (s: unknown) => { w.state = s; } });
  });
  await page.goto(`${BASE}/`);
  const post = (m: HostToWebview) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
  const sent = () => page.evaluate(() => (window as unknown as { sent: WebviewToHost[] }).sent);
  await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === 'ready'));
  return { page, post, sent };
}

test('overlay: legend by differing keys, hide by click, live append, chart click and alert link open samples at a step', { skip: missing(), timeout: 120_000 }, async () => {
  const browser = await launchChromium();
  try {
    const { page, post, sent } = await openDashboard(browser);
    await post({ type: 'reset', run: info('a', true), series: chunk(200, (i) => Math.tanh(i / 50)), evals: EMPTY, samples: null, readOnly: false,
      alerts: [{ v: 1, time: 1, type: 'alert', kind: 'length_hacking', step: 150, message: 'length up, reward flat', steps: [100, 150] }] });
    await post({ type: 'overlay', runs: [{ run: info('b', false), series: chunk(300, (i) => Math.tanh(i / 80) * 0.8), evals: EMPTY }],
      labels: { a: 'estimator=grpo', b: 'estimator=reinforce_pp' } });
    // a message the validator refuses (a run id that is a path) changes nothing
    await post({ type: 'overlay', runs: [{ run: info('../x', false), series: EMPTY, evals: EMPTY }], labels: {} });
    await page.waitForSelector('#legend [data-run="b"]');
    assert.deepEqual(await page.$$eval('#legend [data-run] .legend-run', (els) => els.map((e) => e.textContent)), ['estimator=grpo', 'estimator=reinforce_pp']);
    assert.equal(await page.$eval('[data-panel="reward"]', (e) => (e as HTMLElement).dataset.runs), '2');
    assert.equal(await page.$eval('[data-panel="reward"]', (e) => (e as HTMLElement).dataset.points), '500');

    await page.click('#legend [data-run="b"] .legend-run');
    assert.equal(await page.$eval('#legend [data-run="b"]', (e) => (e as HTMLElement).dataset.hidden), 'true');
    assert.equal(await page.$eval('[data-panel="reward"]', (e) => (e as HTMLElement).dataset.runs), '1');
    await page.click('#legend [data-run="b"] .legend-run');

    await post({ type: 'append', runId: 'b', series: { step: [301], samples: [2408], time: [300], values: { reward_mean: [0.9] } }, evals: null, samples: null, run: info('b', false), progress: null });
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-panel="reward"]')?.dataset.points === '501');

    // a click half way across the reward chart, near its top: run a's line (above b's), a's step there
    const over = (await page.$('[data-panel="reward"] .u-over'))!;
    const box = (await over.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + 6);
    await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === 'openSamples'));
    const click = (await sent()).find((m) => m.type === 'openSamples') as Extract<WebviewToHost, { type: 'openSamples' }>;
    assert.equal(click.runId, 'a');
    assert.ok(click.step > 120 && click.step < 200, `step ${click.step}`);
    // the left edge of a chart is the first step (the point at or before the pointer; a pixel is ~1.5 steps here)
    await page.mouse.click(box.x + 0.4, box.y + box.height / 2);
    await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === 'openSamples').length === 2);
    assert.equal((await sent()).filter((m) => m.type === 'openSamples').map((m) => (m as { step: number }).step)[1], 1);

    // a drag zooms every chart and opens nothing
    await page.mouse.move(box.x + 40, box.y + 50);
    await page.mouse.down();
    await page.mouse.move(box.x + 80, box.y + 50, { steps: 5 });
    await page.mouse.move(box.x + 120, box.y + 50, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => Array.isArray((window as unknown as { state: { zoom: unknown } }).state.zoom));
    // (no openSamples from it: the exact list of messages below would show one)
    await page.click('[data-alert="length_hacking"] [data-alert-samples]');
    await page.click('#config-diff');
    await page.click('#legend [data-remove-run="b"]');
    const rest = (await sent()).filter((m) => m.type !== 'ready').slice(2);
    assert.deepEqual(rest, [{ type: 'openSamples', runId: 'a', step: 150 }, { type: 'configDiff' }, { type: 'removeRun', runId: 'b' }]);
    const state = await page.evaluate(() => (window as unknown as { state: { overlay: string[]; colors: Record<string, number> } }).state);
    assert.deepEqual([state.overlay, state.colors], [['b'], { a: 0, b: 1 }]);
  } finally {
    await browser.close();
  }
});

test('a reward-model run: its rm_* panels appear when its first metrics arrive, the policy panels it never logs go, one step is drawn', { skip: missing(), timeout: 120_000 }, async () => {
  const browser = await launchChromium();
  try {
    const { page, post } = await openDashboard(browser);
    const panels = () => page.$$eval('[data-panel]', (els) => els.map((e) => (e as HTMLElement).dataset.panel));
    await post({ type: 'reset', run: info('a', true), series: EMPTY, evals: EMPTY, samples: null, readOnly: false });
    await page.waitForSelector('[data-panel="reward"]');
    assert.ok(!(await panels()).some((k) => k?.startsWith('rm_')), 'no reward-model panel before any rm_* metric');
    const values = { rm_loss: [0.69], rm_accuracy: [1], rm_margin: [0.004], rm_chosen: [-0.05], rm_rejected: [-0.054], lr: [9e-6], grad_norm: [0.4] };
    await post({ type: 'append', runId: 'a', series: { step: [1], samples: [1], time: [1], values }, evals: { step: [1], samples: [1], time: [1], values: { eval_rm_accuracy: [0.75] } },
      samples: null, run: info('a', true), progress: null });
    await page.waitForSelector('[data-panel="rm_accuracy"]');
    assert.deepEqual(await panels(), ['lr', 'grad_norm', 'rm_loss', 'rm_accuracy', 'rm_eval_accuracy', 'rm_margin', 'rm_rewards']);
    const acc = await page.$eval('[data-panel="rm_accuracy"]', (e) => ({ ...(e as HTMLElement).dataset }));
    assert.equal(acc.points, '1');
    // one step: an x range around it, not a 1e-9 wide one
    const [lo, hi] = (acc.xRange ?? '').split(',').map(Number);
    assert.ok(hi - lo >= 1 && lo <= 1 && hi >= 1, acc.xRange);
    assert.equal(await page.$eval('[data-panel="rm_eval_accuracy"]', (e) => (e as HTMLElement).dataset.points), '1');
    assert.match(await page.$eval('[data-panel="rm_accuracy"] [data-last]', (e) => e.textContent ?? ''), /1/);
    // the panel picker lists what is shown
    assert.ok((await page.$$eval('#panel-list li', (els) => els.map((e) => e.textContent ?? ''))).some((t) => t.includes('Pair accuracy')));
  } finally {
    await browser.close();
  }
});
