// npm run bench — not a test: prints numbers and their ratio to the goals in docs/benchmarks.md.
//   1. EventTail + RunModel ingest of a 1,000,000-event events.jsonl: events/s and memory.
//   2. Dashboard data: the webview's copy of those columns (reset) and the 11 panels' plotted columns.
//   3. Dashboard drawing: 11 uPlot charts x 100,000 points each in Debian's Chromium.
//   4. The dashboard's own charts (M4-downsampled) in Chromium: first draw and a zoom at 1M and 10M
//      points per series, and one live update (a row appended) at 100k and 1M rows.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { RewardEngine } from '../src/core/rewards/engine';
import { rulesFromSpecs } from '../src/core/rewards/load';
import type { RunModel } from '../src/core/runModel';
import { RunWatcher } from '../src/core/runWatcher';
import { DashboardData, PANELS } from '../webview/data';

const GOAL_EVENTS_PER_S = 250_000;
const GOAL_DRAW_MS = 1000;
const GOAL_RULE_EVALS_PER_S = 50_000;
const DIST = path.resolve('dist');

const SIMPLE_RULES = [
  { name: 'correct', kind: 'answer_match', extract: 'last_number' },
  { kind: 'format', pattern: '-?\\d+' },
  { kind: 'length_penalty', max: 8 },
  { kind: 'not_contains', text: ['sorry', 'cannot'] },
];

function makeSamples(n: number) {
  return Array.from({ length: n }, (_, i) => ({ prompt: `${i % 50}+${(i * 7) % 50}=`, response: String((i % 50) + ((i * 7) % 50) + (i % 3 === 0 ? 1 : 0)), label: String((i % 50) + ((i * 7) % 50)) }));
}

async function benchRules(): Promise<void> {
  const engine = new RewardEngine(rulesFromSpecs(SIMPLE_RULES, process.cwd()), { workerScript: path.join(DIST, 'reward-eval-worker.js'), workers: 2 });
  await engine.ready();
  const samples = makeSamples(10_000);
  await engine.evaluate(samples.slice(0, 1000)); // warm both workers
  const runs: number[] = [];
  for (let k = 0; k < 5; k++) { const t0 = performance.now(); await engine.evaluate(samples); runs.push(performance.now() - t0); }
  await engine.close();
  const best = Math.min(...runs);
  const evals = samples.length * SIMPLE_RULES.length;
  const rate = (evals / best) * 1000;
  console.log(`rule engine: 10,000 samples x ${SIMPLE_RULES.length} simple rules in ${best.toFixed(1)} ms (best of 5, 2 workers) = ${Math.round(rate).toLocaleString()} rule evaluations/s; ratio to goal ${GOAL_RULE_EVALS_PER_S.toLocaleString()}/s: ${(rate / GOAL_RULE_EVALS_PER_S).toFixed(2)}`);
}

async function benchWorkerRoundTrip(): Promise<void> {
  const child = spawn(process.execPath, [path.join(DIST, 'reward-worker.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiters: ((m: { type: string }) => void)[] = [];
  child.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const m = JSON.parse(buf.slice(0, i)) as { type: string }; buf = buf.slice(i + 1); waiters.shift()?.(m); } });
  const ask = (m: object) => new Promise<{ type: string }>((r) => { waiters.push(r); child.stdin.write(JSON.stringify(m) + '\n'); });
  await ask({ v: 1, type: 'init', options: { rules: SIMPLE_RULES } });
  const items = makeSamples(256);
  for (let k = 0; k < 10; k++) await ask({ v: 1, type: 'score', id: k, items }); // warm
  const times: number[] = [];
  for (let k = 0; k < 50; k++) { const t0 = performance.now(); await ask({ v: 1, type: 'score', id: 100 + k, items }); times.push(performance.now() - t0); }
  child.stdin.end();
  times.sort((a, b) => a - b);
  const engine = new RewardEngine(rulesFromSpecs(SIMPLE_RULES, process.cwd()), { workerScript: path.join(DIST, 'reward-eval-worker.js'), workers: 2 });
  await engine.ready();
  for (let k = 0; k < 10; k++) await engine.evaluate(items);
  const inproc: number[] = [];
  for (let k = 0; k < 50; k++) { const t0 = performance.now(); await engine.evaluate(items); inproc.push(performance.now() - t0); }
  await engine.close();
  inproc.sort((a, b) => a - b);
  const med = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  console.log(`reward worker round trip, batch of 256 over stdio: median ${med(times).toFixed(2)} ms, p90 ${times[Math.floor(times.length * 0.9)].toFixed(2)} ms; `
    + `in-process engine ${med(inproc).toFixed(2)} ms; stdio overhead ${(med(times) - med(inproc)).toFixed(2)} ms per batch`);
}

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

function benchTail(): RunModel {
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
  return w.model;
}

/** What opening the dashboard on that run costs in the webview besides drawing: the reset and the smoothed columns. */
function benchDashboardData(model: RunModel): void {
  const series = model.metrics.slice(0);
  const evals = model.evals.slice(0);
  const data = new DashboardData();
  const t0 = performance.now();
  data.reset(series, evals);
  const reset = performance.now() - t0;
  const t1 = performance.now();
  data.setSmoothing(0.6);
  for (const panel of PANELS) data.columns(panel, 'step');
  const aligned = performance.now() - t1;
  console.log(`dashboard data: reset with ${data.metrics.length.toLocaleString()} rows x ${Object.keys(data.metrics.values).length} metrics in ${reset.toFixed(0)} ms; `
    + `plotted columns of ${PANELS.length} panels (smoothing 0.6) in ${aligned.toFixed(0)} ms`);
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

/**
 * The dashboard's Charts and DashboardData, bundled for a plain page (the webview's own modules,
 * not a copy): a run of `rows` steps logging 4 of the 11 panels' metrics, all 11 panels shown.
 */
async function benchCharts(): Promise<void> {
  if (!fs.existsSync('/usr/bin/chromium')) { console.log('dashboard charts: skipped (no /usr/bin/chromium)'); return; }
  const esbuild = await import('esbuild');
  const bundle = await esbuild.build({ stdin: { resolveDir: process.cwd(), loader: 'ts', contents:
    `import { Charts, mountLayout } from './webview/render'; import { DashboardData, PANELS } from './webview/data';
     (window as any).RLHF = { Charts, mountLayout, DashboardData, PANELS };` },
  bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'error' });
  const script = bundle.outputFiles[0].text;
  const css = fs.readFileSync(path.resolve('node_modules/uplot/dist/uPlot.min.css'), 'utf8') + fs.readFileSync(path.resolve('media/dashboard.css'), 'utf8');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--js-flags=--max-old-space-size=16000'] });
  for (const rows of [100_000, 1_000_000, 10_000_000]) {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.setContent(`<html><head><style>${css}</style></head><body><div id="app"></div><script>${script}</script></body></html>`);
    const r = await page.evaluate(async (N) => {
      type Api = { Charts: new (e: object) => { build(v: object, s: boolean): void; draw(d: unknown, c?: unknown): void };
        mountLayout: (el: HTMLElement) => void; DashboardData: new () => { setSmoothing(w: number): void; reset(s: object, e: object): void; append(s: object, e: null): unknown }; PANELS: { key: string }[] };
      const { Charts, mountLayout, DashboardData, PANELS } = (window as unknown as { RLHF: Api }).RLHF;
      // uPlot draws its canvas in a microtask after setData: a macrotask later the chart is drawn
      const frame = () => new Promise<void>((res) => setTimeout(res, 0));
      const chunk = (from: number, n: number) => {
        const step: number[] = [], samples: number[] = [], time: number[] = [];
        const values: Record<string, number[]> = { reward_mean: [], kl: [], response_length_mean: [], lr: [] };
        for (let i = from; i < from + n; i++) {
          step.push(i + 1); samples.push((i + 1) * 64); time.push(i * 0.5);
          values.reward_mean.push(Math.tanh(i / N * 5) + Math.sin(i * 12.9898) * 0.2 + (i === N >> 1 ? 5 : 0));
          values.kl.push(0.001 + (i % 1000) * 1e-6); values.response_length_mean.push(20 + i / N * 30); values.lr.push(2e-4);
        }
        return { step, samples, time, values };
      };
      mountLayout(document.getElementById('app')!);
      const data = new DashboardData();
      data.setSmoothing(0.6);
      const series = chunk(0, N);
      const t0 = performance.now();
      data.reset(series, { step: [], samples: [], time: [], values: {} });
      const reset = performance.now() - t0;
      const view = { x: 'step', order: PANELS.map((p) => p.key), hidden: [] as string[], log: [] as string[], zoom: null as [number, number] | null };
      const charts = new Charts({ zoom() {}, toggleLog() {}, exportPanel() {} });
      const t1 = performance.now();
      charts.build(view, true); charts.draw(data); await frame();
      const first = performance.now() - t1;
      const t2 = performance.now();
      view.zoom = [N * 0.4, N * 0.6]; charts.draw(data); await frame();
      const zoom = performance.now() - t2;
      view.zoom = null; charts.draw(data); await frame();
      const updates: number[] = [];
      for (let k = 0; k < 20; k++) {
        const tail = chunk(N + k, 1);
        const t = performance.now();
        charts.draw(data, data.append(tail, null)); await frame();
        updates.push(performance.now() - t);
      }
      updates.sort((a, b) => a - b);
      const spikes = Array.from(document.querySelectorAll<HTMLElement>('[data-panel]')).map((el) => Number(el.dataset.drawn ?? 0));
      return { reset, first, zoom, update: updates[updates.length >> 1], drawn: Math.max(...spikes) };
    }, rows);
    await page.close();
    console.log(`dashboard charts, ${rows.toLocaleString()} points per series (4 metrics, 11 panels, EMA 0.6): webview reset ${r.reset.toFixed(0)} ms; `
      + `first draw ${r.first.toFixed(0)} ms; zoom to 20% ${r.zoom.toFixed(0)} ms; one live update (1 row) ${r.update.toFixed(1)} ms median of 20; `
      + `at most ${r.drawn.toLocaleString()} points drawn per chart`);
  }
  await browser.close();
}

(async () => {
  if (process.argv.includes('--charts')) { await benchCharts(); return; } // node out/bench/bench.js --charts: these alone
  benchDashboardData(benchTail());
  await benchCharts();
  await benchDraw();
  await benchRules();
  await benchWorkerRoundTrip();
})().catch((e) => { console.error(e); process.exit(1); });
