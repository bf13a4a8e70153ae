// The playground page (dist/playground.js under its real HTML and CSP) in Chromium, wired to a real
// PlaygroundSession on the embedded example's ONNX export: the prompt is prefilled, Generate streams
// the greedy answer into column 0, then its speed and the rule reward appear; the second column
// runs the same model side by side. Skipped without /usr/bin/chromium or the Python exporter.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { exportOnnx } from '../../src/core/onnx/exportOnnx';
import { encodePrompt, generate } from '../../src/core/onnx/generate';
import { loadOnnxCausalLM } from '../../src/core/onnx/model';
import { PlaygroundSession } from '../../src/sessions/playgroundSession';
import { RewardEngine } from '../../src/core/rewards/engine';
import { rulesFromSpecs } from '../../src/core/rewards/load';
import { installLayout } from '../../src/core/training';
import { playgroundHtml } from '../../webview/playground/html';
import { tempDir } from '../helpers';
import { CHROMIUM, launchChromium } from './browser';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const DIST = path.join(ROOT, 'dist');

function missing(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `no ${CHROMIUM}`;
  for (const f of ['playground.js', 'onnx-worker.js', 'reward-eval-worker.js']) if (!fs.existsSync(path.join(DIST, f))) return `dist/${f} is missing: node esbuild.mjs`;
  if (!fs.existsSync(PY) || !fs.existsSync(path.join(EX, 'model', 'config.json'))) return '.venv or examples/arithmetic/model is missing';
  const r = spawnSync(PY, ['-c', 'import onnx, onnxruntime'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : '.venv lacks onnx/onnxruntime';
}

test('the page streams a greedy answer from the session, shows tokens/s and the rule reward, and runs two columns', { skip: missing(), timeout: 300_000 }, async () => {
  const tmp = tempDir('playground-page');
  const dir = path.join(tmp, 'onnx');
  await exportOnnx({ python: PY, layout: installLayout(ROOT), checkpoint: path.join(EX, 'model'), out: dir });
  const engine = new RewardEngine(rulesFromSpecs([{ name: 'correct', kind: 'answer_match', extract: 'full' }], EX), { workers: 1, workerScript: path.join(DIST, 'reward-eval-worker.js') });
  const browser = await launchChromium();
  let page: Page | undefined;
  const session = new PlaygroundSession({
    title: 'arithmetic <b>x</b>', prompt: '30+12=', device: 'cpu', workerScript: path.join(DIST, 'onnx-worker.js'),
    choices: [{ id: 'a', label: 'step 3', dir }, { id: 'b', label: 'initial policy', dir }], selected: ['a', 'b'],
    rewards: { engine, describe: 'correct' }, labelOf: (p) => (p === '30+12=' ? '42' : undefined),
    settings: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 64, greedy: false }, settingsSource: "from the run's rollout settings (test)",
  }, (m) => void page?.evaluate((msg) => window.postMessage(msg, '*'), m));
  try {
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (c) => { if (c.type() === 'error') errors.push(c.text()); });
    await page.exposeFunction('playgroundHost', (m: unknown) => session.handle(m));
    await page.route('http://playground.test/**', (r) => r.fulfill({ path: path.join(DIST, 'playground.js'), contentType: 'text/javascript' }));
    await page.route('http://playground.test/', (r) => r.fulfill({ contentType: 'text/html',
      body: playgroundHtml({ title: 'arithmetic', nonce: 'bm9uY2U', cspSource: 'http://playground.test', script: 'http://playground.test/playground.js' }) }));
    await page.goto('http://playground.test/');
    await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>("#prompt")?.value === '30+12=', undefined, { timeout: 60_000 });
    assert.equal(await page.textContent('#title'), 'arithmetic <b>x</b>', 'the title is text');
    assert.equal(await page.inputValue('[data-column="1"] .model'), 'b');
    // the settings say where they came from; an edit says so and offers a reset that puts them back
    assert.equal(await page.textContent('#settings-source'), "sampling from the run's rollout settings (test)");
    assert.equal(await page.inputValue('#temperature'), '1');
    assert.equal(await page.isVisible('#reset-settings'), false);
    await page.fill('#temperature', '0.3');
    assert.match((await page.textContent('#settings-source')) ?? '', /^sampling edited; started from the run's rollout settings/);
    await page.click('#reset-settings');
    assert.equal(await page.inputValue('#temperature'), '1');
    assert.equal(await page.textContent('#settings-source'), "sampling from the run's rollout settings (test)");
    await page.check('#greedy');
    await page.click('#generate');
    await page.waitForFunction(() => document.querySelectorAll('[data-column][data-done]').length === 2, undefined, { timeout: 120_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('[data-column] .reward')].every((r) => /^reward /.test(r.textContent ?? '')), undefined, { timeout: 60_000 });
    const model = await loadOnnxCausalLM(dir, { device: 'cpu' });
    const reference = await generate(model, encodePrompt(model, '30+12='), { maxNewTokens: 64, greedy: true });
    await model.session.release();
    const [expected] = await engine.evaluate([{ prompt: '30+12=', response: reference.text, label: '42' }]);
    for (const c of [0, 1]) {
      assert.equal(await page.textContent(`[data-column="${c}"] .output`), reference.text);
      // a rate from 8 decode tokens on, else "n tokens in X ms" (webview/playground/protocol.ts decodeRate)
      assert.match((await page.textContent(`[data-column="${c}"] .tps`)) ?? '', /^([\d.]+ tokens\/s|\d+ tokens? in \d+ ms)$/);
      assert.match((await page.textContent(`[data-column="${c}"] .ttft`)) ?? '', /^first token [\d.]+ ms$/);
      assert.equal(await page.textContent(`[data-column="${c}"] .reward`), `reward ${expected.reward.toFixed(3)} (correct ${expected.breakdown.correct.toFixed(3)})`);
    }
    assert.equal(await page.isDisabled('#generate'), false, 'Generate is enabled again');
    if (process.env.RLHF_PLAYGROUND_SCREENSHOT) await page.screenshot({ path: process.env.RLHF_PLAYGROUND_SCREENSHOT });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await session.dispose();
    await engine.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
