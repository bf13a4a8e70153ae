// npm run bench — not a test: prints numbers and their ratio to the goals in docs/benchmarks.md.
//   1. EventTail + RunModel ingest of a 1,000,000-event events.jsonl: events/s and memory.
//   2. Dashboard data: the webview's copy of those columns (reset) and the 11 panels' plotted columns.
//   3. Dashboard drawing: 11 uPlot charts x 100,000 points each in Debian's Chromium.
//   4. The dashboard's own charts (M4-downsampled) in Chromium: first draw and a zoom at 1M and 10M
//      points per series, and one live update (a row appended) at 100k and 1M rows.
//   5. 8 overlaid runs on the same charts: first draw and one live update, at 100k and 1M rows a run.
//   `node out/bench/bench.js --screenshot FILE.png`: two overlaid runs with an alert, as a PNG to look at;
//   with `--hover`, a third run (a continuation) and the pointer on a chart: the hover read-out of each run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { RewardEngine } from '../src/core/rewards/engine';
import { rulesFromSpecs } from '../src/core/rewards/load';
import type { RunModel } from '../src/core/run/runModel';
import { RunWatcher } from '../src/core/run/runWatcher';
import { DashboardData, PANELS } from '../src/core/charts/data';
import { EVENTS_FILE } from '../src/core/run/names';

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
  const size = writeEvents(path.join(dir, EVENTS_FILE), N);
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
 * A plain Chromium page with the dashboard's own modules bundled (render.ts, data.ts, main's legend
 * and alerts: not a copy) and its CSS; `window.RLHF` holds them and a run generator.
 */
async function dashboardPage(): Promise<{ open(): Promise<import('playwright-core').Page>; close(): Promise<void> } | null> {
  if (!fs.existsSync('/usr/bin/chromium')) return null;
  const esbuild = await import('esbuild');
  const bundle = await esbuild.build({ stdin: { resolveDir: process.cwd(), loader: 'ts', contents:
    `import { Charts, mountLayout, renderAlerts, renderLegend } from './webview/dashboard/render'; import { DashboardData, PANELS } from './src/core/charts/data';
     import { RUN_PALETTE } from './src/core/overlay';
     /** Rows [from, from + n) of a run of N steps logging 4 of the 11 panels' metrics; variant shifts its curves. */
     const chunk = (from: number, n: number, N: number, variant = 0) => {
       const step: number[] = [], samples: number[] = [], time: number[] = [];
       const values: Record<string, number[]> = { reward_mean: [], kl: [], response_length_mean: [], lr: [] };
       for (let i = from; i < from + n; i++) {
         step.push(i + 1); samples.push((i + 1) * 64); time.push(i * 0.5);
         values.reward_mean.push(Math.tanh(i / N * (5 - variant)) * (1 - variant * 0.08) + Math.sin(i * 12.9898 + variant) * 0.2 + (i === N >> 1 ? 5 : 0));
         values.kl.push((0.001 + (i % 1000) * 1e-6) * (1 + variant)); values.response_length_mean.push(20 + i / N * 30 * (1 + variant * 0.5)); values.lr.push(2e-4);
       }
       return { step, samples, time, values };
     };
     (window as any).RLHF = { Charts, mountLayout, renderAlerts, renderLegend, DashboardData, PANELS, RUN_PALETTE, chunk };` },
  bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'error' });
  const script = bundle.outputFiles[0].text;
  const css = fs.readFileSync(path.resolve('node_modules/uplot/dist/uPlot.min.css'), 'utf8') + fs.readFileSync(path.resolve('media/dashboard.css'), 'utf8');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--js-flags=--max-old-space-size=16000'] });
  return {
    async open() {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.setContent(`<html><head><style>${css}</style></head><body><div id="app"></div><script>${script}</script></body></html>`);
      return page;
    },
    close: () => browser.close(),
  };
}

/** What the page's `window.RLHF` holds (typed loosely: the bench drives it, the webview's tests type it). */
type PageApi = {
  Charts: new (e: object) => { build(v: object, s: boolean, runs: object[]): void; draw(c?: object): void };
  mountLayout: (el: HTMLElement) => void; PANELS: { key: string }[]; RUN_PALETTE: string[];
  renderLegend: (runs: object[], on: object) => void; renderAlerts: (a: object[], open: () => void) => void;
  DashboardData: new () => { setSmoothing(w: number): void; reset(s: object, e: object): void; append(s: object, e: null): object };
  chunk: (from: number, n: number, N: number, variant?: number) => object;
};

/**
 * The dashboard's Charts and DashboardData in Chromium: a run of `rows` steps logging 4 of the 11
 * panels' metrics, all 11 panels shown; then `runs` such runs overlaid.
 */
async function benchCharts(): Promise<void> {
  const browser = await dashboardPage();
  if (!browser) { console.log('dashboard charts: skipped (no /usr/bin/chromium)'); return; }
  const only = process.env.BENCH_ROWS?.split(',').map(Number); // e.g. BENCH_ROWS=1000000: those sizes alone
  for (const [rows, runs] of [[100_000, 1], [1_000_000, 1], [10_000_000, 1], [100_000, 8], [1_000_000, 8]]) {
    if (only && !only.includes(rows)) continue;
    const page = await browser.open();
    const r = await page.evaluate(async ([N, RUNS]) => {
      const { Charts, mountLayout, DashboardData, PANELS, RUN_PALETTE, chunk } = (window as unknown as { RLHF: PageApi }).RLHF;
      // uPlot draws its canvas in a microtask after setData: a macrotask later the chart is drawn
      const frame = () => new Promise<void>((res) => setTimeout(res, 0));
      mountLayout(document.getElementById('app')!);
      const all = Array.from({ length: RUNS }, () => { const d = new DashboardData(); d.setSmoothing(0.6); return d; });
      const t0 = performance.now();
      all.forEach((d, k) => d.reset(chunk(0, N, N, k / RUNS), { step: [], samples: [], time: [], values: {} }));
      const reset = performance.now() - t0;
      const view = { x: 'step', order: PANELS.map((p) => p.key), hidden: [] as string[], log: [] as string[], zoom: null as [number, number] | null };
      const charts = new Charts({ zoom() {}, toggleLog() {}, exportPanel() {} });
      // live, as a run being trained: the x range ends a little past the data, so appends rarely move it
      const shown = all.map((data, k) => ({ id: `run${k}`, label: `run${k}`, data, color: RUNS > 1 ? RUN_PALETTE[k % RUN_PALETTE.length] : null, live: true }));
      const t1 = performance.now();
      charts.build(view, true, shown); charts.draw(); await frame();
      const first = performance.now() - t1;
      const t2 = performance.now();
      view.zoom = [N * 0.4, N * 0.6]; charts.draw(); await frame();
      const zoom = performance.now() - t2;
      view.zoom = null; charts.draw(); await frame();
      const updates: number[] = [], syncs: number[] = [];
      for (let k = 0; k < 20; k++) {
        const tail = chunk(N + k, 1, N);
        const t = performance.now();
        charts.draw({ ...all[0].append(tail, null), runId: 'run0' });
        syncs.push(performance.now() - t); // appended, downsampled and handed to uPlot; the canvas is drawn after
        await frame();
        updates.push(performance.now() - t);
      }
      updates.sort((a, b) => a - b); syncs.sort((a, b) => a - b);
      const spikes = Array.from(document.querySelectorAll<HTMLElement>('[data-panel]')).map((el) => Number(el.dataset.drawn ?? 0));
      return { reset, first, zoom, update: updates[updates.length >> 1], sync: syncs[syncs.length >> 1], drawn: Math.max(...spikes) };
    }, [rows, runs]);
    await page.close();
    const what = runs > 1 ? `${runs} overlaid runs x ${rows.toLocaleString()} points per series` : `${rows.toLocaleString()} points per series`;
    console.log(`dashboard charts, ${what} (4 metrics, 11 panels, EMA 0.6): webview reset ${r.reset.toFixed(0)} ms; `
      + `first draw ${r.first.toFixed(0)} ms; zoom to 20% ${r.zoom.toFixed(0)} ms; one live update (1 row) ${r.update.toFixed(1)} ms median of 20 (${r.sync.toFixed(1)} ms before the canvas draw); `
      + `at most ${r.drawn.toLocaleString()} points drawn per chart`);
  }
  await browser.close();
}

/** Two overlaid runs (different estimators), a length-hacking alert, the legend: a PNG to look at. */
async function screenshot(file: string, hover = false): Promise<void> {
  const browser = await dashboardPage();
  if (!browser) throw new Error('no /usr/bin/chromium');
  const page = await browser.open();
  await page.evaluate(async (hover) => {
    const { Charts, mountLayout, renderLegend, renderAlerts, DashboardData, PANELS, RUN_PALETTE, chunk } = (window as unknown as { RLHF: PageApi }).RLHF;
    document.body.style.background = '#1e1e1e'; document.body.style.color = '#ccc';
    mountLayout(document.getElementById('app')!);
    const N = 2000;
    // --hover: a third run, a continuation of the first from step 1200 that goes on past the others
    const runs: [string, string, number, number, number][] = [['grpo', 'estimator=grpo kl=0.001', 0, 0, N], ['rpp', 'estimator=reinforce_pp kl=0.001', 0.5, 0, N],
      ...(hover ? [['grpo-2', 'estimator=grpo kl=0.001, continued from grpo@1200', 0.25, 1200, 1300] as [string, string, number, number, number]] : [])];
    const shown = runs.map(([id, label, v, from, n], k) => {
      const d = new DashboardData(); d.setSmoothing(0.6); d.reset(chunk(from, n, N, v), { step: [], samples: [], time: [], values: {} });
      return { id, label, data: d, color: RUN_PALETTE[k] };
    });
    renderLegend(shown.map((r) => ({ id: r.id, label: r.label, color: r.color, hidden: false, removable: r.id !== 'grpo' })), { toggle() {}, remove() {} });
    renderAlerts([{ runId: 'rpp', who: 'estimator=reinforce_pp kl=0.001: ', alert: { v: 1, time: 0, type: 'alert', kind: 'length_hacking', step: 1500, message: 'response length +80% while reward is flat', steps: [900, 1500] } }], () => {});
    const charts = new Charts({ zoom() {}, toggleLog() {}, exportPanel() {} });
    charts.build({ x: 'step', order: PANELS.map((p) => p.key), hidden: [], log: [], zoom: null }, true, shown);
    charts.draw();
    await new Promise((r) => setTimeout(r, 50));
  }, hover);
  if (hover) {
    // the pointer on the reward chart at about step 1600: every chart's read-out shows each run's values there
    const box = await page.locator('.chart[data-panel="reward"] .u-over').boundingBox();
    if (box) await page.mouse.move(box.x + box.width * 0.64, box.y + box.height / 2);
    await page.waitForTimeout(100);
    console.log(`hover: ${await page.locator('.chart[data-panel="reward"] .hover').getAttribute('title')}`);
  }
  await page.screenshot({ path: file, fullPage: false });
  await browser.close();
  console.log(`screenshot: ${file}`);
}

(async () => {
  if (process.argv.includes('--charts')) { await benchCharts(); return; } // node out/bench/bench.js --charts: these alone
  const shot = process.argv.indexOf('--screenshot');
  if (shot > 0) { await screenshot(path.resolve(process.argv[shot + 1] ?? 'dashboard.png'), process.argv.includes('--hover')); return; }
  benchDashboardData(benchTail());
  await benchCharts();
  await benchDraw();
  await benchRules();
  await benchWorkerRoundTrip();
})().catch((e) => { console.error(e); process.exit(1); });
