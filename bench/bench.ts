// npm run bench — not a test: prints numbers and their ratio to the goals in docs/benchmarks.md.
//   1. EventTail + RunModel ingest of a 1,000,000-event events.jsonl: events/s and memory.
//   2. Dashboard drawing: 11 uPlot charts x 100,000 points each in Debian's Chromium.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunWatcher } from '../src/core/runWatcher';

const GOAL_EVENTS_PER_S = 250_000;
const GOAL_DRAW_MS = 1000;

function writeEvents(file: string, n: number): number {
  const fd = fs.openSync(file, 'w');
  const keys = ['reward_mean', 'reward_std', 'kl', 'policy_loss', 'entropy', 'clip_frac', 'response_length_mean', 'response_length_max',
    'total_length_mean', 'lr', 'grad_norm', 'rollout_s', 'train_s', 'tokens_per_s', 'peak_memory_mb'];
  let buf = '';
  for (let i = 1; i <= n; i++) {
    const values: Record<string, number> = {};
    for (const k of keys) values[k] = Math.sin(i / 1000 + k.length) + Math.random() * 1e-3;
    buf += JSON.stringify({ v: 1, type: 'metrics', time: 1.7e9 + i, step: i, samples_seen: i * 256, total_steps: n, values }) + '\n';
    if (buf.length > 1 << 22) { fs.writeSync(fd, buf); buf = ''; }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

async function benchTail(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-bench-'));
  const N = 1_000_000;
  const size = writeEvents(path.join(dir, 'events.jsonl'), N);
  global.gc?.();
  const before = process.memoryUsage();
  const w = new RunWatcher(dir);
  const t0 = performance.now();
  w.poll();
  const ms = performance.now() - t0;
  global.gc?.();
  const after = process.memoryUsage();
  const rate = (N / ms) * 1000;
  console.log(`tailer: ${N.toLocaleString()} events (${(size / 2 ** 20).toFixed(0)} MiB) in ${(ms / 1000).toFixed(2)} s = ${Math.round(rate).toLocaleString()} events/s`
    + ` (${(size / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s); ratio to goal ${GOAL_EVENTS_PER_S.toLocaleString()}/s: ${(rate / GOAL_EVENTS_PER_S).toFixed(2)}`);
  console.log(`tailer memory: heap +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(0)} MiB, rss +${((after.rss - before.rss) / 2 ** 20).toFixed(0)} MiB`
    + ` for ${w.model.metrics.length.toLocaleString()} rows x ${Object.keys(w.model.metrics.values).length} metrics (file ${(size / 2 ** 20).toFixed(0)} MiB)`);
  if (w.model.metrics.length !== N) throw new Error(`ingested ${w.model.metrics.length} of ${N}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function benchDraw(): Promise<void> {
  if (!fs.existsSync('/usr/bin/chromium')) { console.log('dashboard draw: skipped (no /usr/bin/chromium)'); return; }
  const { chromium } = await import('playwright-core');
  const uplot = fs.readFileSync(path.resolve('node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8');
  const css = fs.readFileSync(path.resolve('node_modules/uplot/dist/uPlot.min.css'), 'utf8');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.setContent(`<html><head><style>${css}</style></head><body><div id="g"></div><script>${uplot}</script></body></html>`);
  const result = await page.evaluate(async () => {
    const frame = () => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
    const N = 100_000, CHARTS = 11;
    const xs = new Float64Array(N), ys = new Float64Array(N), raw = new Float64Array(N);
    for (let i = 0; i < N; i++) { xs[i] = i + 1; raw[i] = Math.sin(i / 500) + Math.random() * 0.2; ys[i] = i ? ys[i - 1] * 0.9 + raw[i] * 0.1 : raw[i]; }
    const t0 = performance.now();
    const U = (window as unknown as { uPlot: new (o: object, d: unknown, el: HTMLElement) => { setData(d: unknown): void } }).uPlot;
    const plots = [];
    for (let c = 0; c < CHARTS; c++) {
      const el = document.createElement('div'); document.getElementById('g')!.appendChild(el);
      plots.push(new U({ width: 480, height: 170, scales: { x: { time: false } }, series: [{}, { stroke: 'blue' }, { stroke: 'gray' }] }, [xs, ys, raw], el));
    }
    await frame();
    const first = performance.now() - t0;
    // a live update: one more point on every chart
    const t1 = performance.now();
    for (const p of plots) p.setData([xs, ys, raw]);
    await frame();
    return { first, update: performance.now() - t1, points: N * 2 * CHARTS };
  });
  await browser.close();
  console.log(`dashboard draw: 11 charts x 100,000 points x 2 series = ${result.points.toLocaleString()} points; first draw ${result.first.toFixed(0)} ms, `
    + `full redraw ${result.update.toFixed(0)} ms; ratio to goal ${GOAL_DRAW_MS} ms: ${(GOAL_DRAW_MS / result.first).toFixed(2)}`);
}

(async () => {
  await benchTail();
  await benchDraw();
})().catch((e) => { console.error(e); process.exit(1); });
