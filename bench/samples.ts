// node esbuild.mjs --bench && node --expose-gc out/bench/samples.js [--shots RUN_DIR OUT_DIR]
// The sample browser on a generated 1,000,000-sample run: index build time and memory, then in
// Debian's Chromium the time to first paint of the browser and to apply a filter (goal: < 1 s each).
// With --shots it instead opens a real run's samples and saves screenshots of the list, a sample's
// per-token view and its group.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SampleIndex } from '../src/core/samples/index';
import { SamplesSession } from '../src/sessions/samplesSession';
import { samplesHtml } from '../webview/samples/html';
import { SAMPLES_FILE } from '../src/core/run/names';

const N = 1_000_000;
const GOAL_MS = 1000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** A run's samples.jsonl shaped like the trainer's: 8 samples a step, 2 prompts x 4, every 8th with per-token data. */
function generate(dir: string, n: number): string {
  const file = path.join(dir, SAMPLES_FILE);
  const fd = fs.openSync(file, 'w');
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    const step = Math.floor(i / 8) + 1, k = i % 8, a = (step * 7 + (k >> 2)) % 50, b = (step * 3) % 50;
    const ok = (i * 2654435761) % 3 !== 0;
    const rec: Record<string, unknown> = { step, index: k, prompt: `${a}+${b}=`, response: ok ? String(a + b) : `${a + b + 1} because I think so`, label: String(a + b),
      reward: ok ? 1 : 0, rewards: { correct: ok ? 1 : 0, format: 1 }, response_length: ok ? 3 : 9, truncated: k === 7 && step % 5 === 0 };
    if (k === 0) Object.assign(rec, { tokens: ['4', '2', '<eos>'], logprobs: [-0.2, -1.1, -0.01], ref_logprobs: [-0.3, -0.9, -0.01], kl: [0.1, -0.2, 0], advantages: [0.7, 0.7, 0.7] });
    buf.push(JSON.stringify(rec));
    if (buf.length === 10_000) { fs.writeSync(fd, buf.join('\n') + '\n'); buf = []; }
  }
  if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n');
  fs.closeSync(fd);
  return file;
}

async function openBrowser(runDir: string, opts: { width: number; height: number }, prebuild = false) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  const page = await browser.newPage({ viewport: opts });
  const session = new SamplesSession(runDir, (m) => { // as a JSON string: Playwright's own serialization of large nested arrays is far slower than a webview's structured clone
    void page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify(m)).catch(() => undefined); });
  if (prebuild) session.index.poll(); // the panel's index, built before the page asks (the page's ready then only reads new lines)
  await page.exposeFunction('samplesHost', (m: unknown) => { session.handle(m); });
  const html = samplesHtml({ runId: path.basename(runDir), nonce: 'bench', cspSource: 'http://samples.test', script: 'http://samples.test/samples.js' });
  const js = fs.readFileSync(path.resolve('dist/samples.js'), 'utf8');
  await page.route('http://samples.test/**', (route) => route.fulfill(route.request().url().endsWith('.js') ? { contentType: 'text/javascript', body: js } : { contentType: 'text/html', body: html }));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { browser, page, errors };
}

async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-samples-bench-'));
  const t0 = performance.now();
  const file = generate(dir, N);
  console.log(`samples: generated ${N.toLocaleString('en-US')} samples (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  gc();
  const heap0 = process.memoryUsage();
  const t1 = performance.now();
  const idx = new SampleIndex(dir);
  idx.poll();
  const build = performance.now() - t1;
  gc();
  const heap1 = process.memoryUsage();
  const used = heap1.heapUsed + heap1.arrayBuffers - heap0.heapUsed - heap0.arrayBuffers;
  console.log(`samples index: ${idx.size.toLocaleString('en-US')} samples in ${build.toFixed(0)} ms (${Math.round(idx.size / build * 1000).toLocaleString('en-US')}/s); `
    + `columns ${(idx.memoryBytes() / 2 ** 20).toFixed(1)} MiB allocated (${SampleIndex.BYTES_PER_SAMPLE} bytes/sample); heap+buffers grew ${(used / 2 ** 20).toFixed(1)} MiB = ${(used / idx.size).toFixed(1)} bytes/sample`);
  const time = (name: string, f: () => unknown) => { const t = performance.now(); f(); console.log(`samples query: ${name} ${(performance.now() - t).toFixed(0)} ms`); };
  time('step range (1,000 steps)', () => idx.query({ stepMin: 50_000, stepMax: 51_000 }));
  time('reward >= 0.5, sorted by reward', () => idx.query({ rewardMin: 0.5 }, { key: 'reward', desc: true }));
  time('text "because" over all', () => idx.query({ text: 'because' }));
  time('failing rule "correct", sorted by length', () => idx.query({ rule: 'correct' }, { key: 'length', desc: true }));
  if (!fs.existsSync('/usr/bin/chromium')) { console.log('samples browser: skipped (no /usr/bin/chromium)'); return; }
  const { browser, page, errors } = await openBrowser(dir, { width: 1400, height: 900 }, true);
  const t2 = performance.now();
  await page.goto('http://samples.test/index.html');
  await page.locator('#all-steps').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#rows .row[data-row]').length > 0, undefined, { polling: 'raf', timeout: 60_000 });
  const paint = performance.now() - t2;
  await page.check('#all-steps'); // all 1,000,000 in the list
  await page.waitForFunction(() => /^1,000,000 of/.test(document.getElementById('count')!.textContent ?? '') && document.querySelectorAll('#rows .row[data-row]').length > 0, undefined, { polling: 'raf', timeout: 60_000 });
  const t3 = performance.now();
  await page.selectOption('#rule', 'correct');
  await page.waitForFunction(() => !/^1,000,000 of/.test(document.getElementById('count')!.textContent ?? '') && document.querySelectorAll('#rows .row[data-row]').length > 0, undefined, { polling: 'raf', timeout: 60_000 });
  const filt = performance.now() - t3;
  const matched = await page.textContent('#count');
  const t4 = performance.now();
  await page.evaluate(() => { const l = document.getElementById('list')!; l.scrollTop = l.scrollHeight / 2; });
  await page.waitForFunction(() => { const r = document.querySelector('#rows .row[data-row]'); return !!r && Number((r as HTMLElement).dataset.pos) > 1000; }, undefined, { polling: 'raf', timeout: 60_000 });
  const jump = performance.now() - t4;
  const domRows = await page.locator('#rows .row').count();
  await browser.close();
  console.log(`samples browser (Chromium): first paint (index built) ${paint.toFixed(0)} ms (ratio to goal ${(GOAL_MS / paint).toFixed(2)}); filter "failing: correct" over 1,000,000 -> ${matched} in ${filt.toFixed(0)} ms `
    + `(ratio ${(GOAL_MS / filt).toFixed(2)}); scroll to the middle ${jump.toFixed(0)} ms; ${domRows} rows in the DOM${errors.length ? `; page errors: ${errors.join(' | ')}` : ''}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function shots(runDir: string, outDir: string): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const { browser, page, errors } = await openBrowser(runDir, { width: 1300, height: 1100 });
  await page.goto('http://samples.test/index.html');
  await page.waitForFunction(() => document.querySelectorAll('#rows .row[data-row]').length > 0, undefined, { timeout: 30_000 });
  await page.check('#all-steps');
  await page.waitForFunction(() => document.querySelectorAll('#rows .row[data-row]').length > 4, undefined, { timeout: 30_000 });
  await page.screenshot({ path: path.join(outDir, 'samples-list.png') });
  await page.click('#rows .row[data-row="0"]');
  await page.locator('#tokens .tokens span').first().waitFor({ timeout: 30_000 });
  await page.locator('#group .card').first().waitFor({ timeout: 30_000 });
  await page.click('#metric [data-metric="advantages"]');
  await page.hover('#tokens .tokens span >> nth=1');
  await page.screenshot({ path: path.join(outDir, 'samples-tokens.png'), fullPage: true });
  await browser.close();
  console.log(`screenshots in ${outDir}${errors.length ? `; page errors: ${errors.join(' | ')}` : ''}`);
}

const args = process.argv.slice(2);
(args[0] === '--shots' ? shots(args[1], args[2]) : bench()).catch((e) => { console.error(e); process.exit(1); });
