// Dashboard webview: uPlot charts of the paper's Figure 1 panels and more, live.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import uPlot from 'uplot';
import { isHostToWebview, type HostToWebview, type RunInfo, type SamplesEvent, type SeriesChunk, type WebviewToHost } from '../src/core/protocol';
import { ema } from './smoothing';

declare function acquireVsCodeApi(): { postMessage(m: WebviewToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

interface ViewState { runId: string | null; x: 'step' | 'samples'; smoothing: number }
const saved = (vscode.getState() as ViewState | undefined) ?? { runId: null, x: 'step', smoothing: 0.6 };
const view: ViewState = { ...saved, runId: document.body.dataset.runId ?? saved.runId };
vscode.setState(view);

interface Panel { key: string; title: string; keys: string[]; eval?: boolean; log?: boolean }
const PANELS: Panel[] = [
  { key: 'reward', title: 'Reward', keys: ['reward_mean'] },
  { key: 'kl', title: 'KL', keys: ['kl'] },
  { key: 'policy_loss', title: 'Policy loss', keys: ['policy_loss'] },
  { key: 'response_length', title: 'Response length', keys: ['response_length_mean'] },
  { key: 'lr', title: 'Actor learning rate', keys: ['lr'] },
  { key: 'total_length', title: 'Total length', keys: ['total_length_mean'] },
  { key: 'entropy', title: 'Entropy', keys: ['entropy'] },
  { key: 'clip_frac', title: 'Clip fraction', keys: ['clip_frac'] },
  { key: 'grad_norm', title: 'Grad norm (pre-clip)', keys: ['grad_norm'] },
  { key: 'throughput', title: 'Throughput (tokens/s)', keys: ['tokens_per_s'] },
  { key: 'eval', title: 'Held-out eval', keys: ['eval_pass@1', 'eval_greedy_accuracy', 'eval_reward_mean'], eval: true },
];

// ---- data --------------------------------------------------------------------------------
let run: RunInfo | null = null;
let readOnly = false;
const data = { step: [] as number[], samples: [] as number[], values: {} as Record<string, (number | null)[]> };
const evals = { step: [] as number[], values: {} as Record<string, (number | null)[]> };

function appendChunk(target: { step: number[]; samples?: number[]; values: Record<string, (number | null)[]> }, c: SeriesChunk): void {
  const n = target.step.length;
  for (const s of c.step) target.step.push(s);
  if (target.samples) for (const s of c.samples) target.samples.push(s);
  for (const [k, col] of Object.entries(c.values)) {
    let dst = target.values[k];
    if (!dst) dst = target.values[k] = new Array<number | null>(n).fill(null);
    for (const v of col) dst.push(v);
  }
  for (const col of Object.values(target.values)) while (col.length < target.step.length) col.push(null);
}

// ---- theme -------------------------------------------------------------------------------
const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const COLORS = () => [css('--vscode-charts-blue', '#3794ff'), css('--vscode-charts-orange', '#d18616'), css('--vscode-charts-green', '#89d185'), css('--vscode-charts-purple', '#b180d7')];

// ---- layout ------------------------------------------------------------------------------
const app = document.getElementById('app')!;
app.innerHTML = `
<header>
  <div class="title"><span id="run-id"></span> <vscode-badge id="state"></vscode-badge> <span id="progress" class="muted"></span></div>
  <div class="controls">
    <label>x axis <vscode-single-select id="xaxis"><vscode-option value="step">step</vscode-option><vscode-option value="samples">samples</vscode-option></vscode-single-select></label>
    <label>smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01"> <span id="smoothing-value"></span></label>
    <vscode-button id="log" secondary>Trainer log</vscode-button>
    <vscode-button id="stop">Stop</vscode-button>
  </div>
</header>
<div id="error" class="error" hidden></div>
<section id="charts" class="grid"></section>
<h3>Latest samples <span id="samples-step" class="muted"></span></h3>
<table id="samples"><thead><tr><th>prompt</th><th>response</th><th>label</th><th>reward</th></tr></thead><tbody></tbody></table>`;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const charts = new Map<string, { plot: uPlot; panel: Panel; el: HTMLElement }>();

function buildCharts(): void {
  for (const c of charts.values()) c.plot.destroy();
  charts.clear();
  const grid = $('charts');
  grid.innerHTML = '';
  const colors = COLORS();
  const fg = css('--vscode-foreground', '#ccc');
  const gridColor = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  for (const panel of PANELS) {
    const el = document.createElement('div');
    el.className = 'chart';
    el.dataset.panel = panel.key;
    el.innerHTML = `<div class="chart-title">${panel.title}<span class="last" data-last="${panel.key}"></span></div>`;
    grid.appendChild(el);
    const width = Math.max(260, el.clientWidth - 8);
    const series: uPlot.Series[] = [{ label: panel.eval ? 'step' : view.x }];
    panel.keys.forEach((k, i) => series.push({ label: k, stroke: colors[i % colors.length], width: 1.5, spanGaps: true, points: { show: panel.eval } }));
    if (!panel.eval) series.push({ label: 'raw', stroke: colors[0] + '55', width: 1, spanGaps: true });
    const axis = { stroke: fg, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const opts: uPlot.Options = {
      width, height: 170, series, legend: { live: true },
      scales: { x: { time: false }, y: { range: yRange } }, axes: [axis, { ...axis, size: 64, values: (_u: uPlot, splits: number[]) => splits.map(tick) }], cursor: { drag: { x: true, y: false } },
    };
    const plot = new uPlot(opts, [[]] as unknown as uPlot.AlignedData, el);
    charts.set(panel.key, { plot, panel, el });
  }
  redraw();
}

function redraw(): void {
  const xs = view.x === 'samples' ? data.samples : data.step;
  for (const { plot, panel, el } of charts.values()) {
    let aligned: (number | null)[][];
    if (panel.eval) {
      aligned = [evals.step, ...panel.keys.map((k) => evals.values[k] ?? new Array(evals.step.length).fill(null))];
    } else {
      const raw = data.values[panel.keys[0]] ?? new Array(xs.length).fill(null);
      aligned = [xs, ...panel.keys.map((k) => ema(data.values[k] ?? new Array(xs.length).fill(null), view.smoothing)), raw];
    }
    plot.setData(aligned as unknown as uPlot.AlignedData);
    const col = panel.eval ? evals.values[panel.keys[0]] : data.values[panel.keys[0]];
    const last = col && col.length ? col[col.length - 1] : null;
    const lastEl = el.querySelector<HTMLElement>('[data-last]');
    if (lastEl) lastEl.textContent = last === null || last === undefined ? '' : ` ${fmt(last)}`;
    el.dataset.points = String(panel.eval ? evals.step.length : xs.length);
  }
}

/** A flat series (clip fraction 0 for 100 steps) gets a small band around it, not uPlot's 0..100. */
function yRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [0, 1];
  if (min === max) { const pad = Math.abs(min) * 0.1 || 0.01; return [min - pad, max + pad]; }
  const pad = (max - min) * 0.05;
  return [min - pad, max + pad];
}

/** Axis ticks: short, and never '0 0 0' for a learning rate of 5e-6. */
function tick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-2 || a >= 1e5) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(a >= 100 ? 1 : 4);
}

function renderRun(): void {
  if (!run) return;
  $('run-id').textContent = run.id;
  $('state').textContent = run.state;
  $('state').dataset.state = run.state;
  const total = run.totalSteps ? `/${run.totalSteps}` : '';
  $('progress').textContent = `step ${run.step}${total}${run.device ? ` · ${run.device}` : ''}`;
  const stop = $('stop') as HTMLElement & { disabled: boolean };
  stop.disabled = readOnly || !run.live;
  stop.title = readOnly ? 'Read-only: this workspace is not trusted' : run.live ? 'Finish the step, checkpoint and stop' : 'The run is not running';
  const err = $('error');
  err.hidden = !run.error;
  err.textContent = run.error ? `Run failed: ${run.error}` : '';
}

function renderSamples(s: SamplesEvent | null): void {
  if (!s) return;
  $('samples-step').textContent = `(step ${s.step})`;
  const body = document.querySelector('#samples tbody')!;
  body.replaceChildren(...s.items.slice(0, 16).map((it) => {
    const tr = document.createElement('tr');
    const cells = [it.prompt, it.response, it.label === undefined || it.label === null ? '' : String(it.label), fmt(it.reward)];
    for (const text of cells) { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); }
    if (it.reward_errors) tr.title = Object.entries(it.reward_errors).map(([k, v]) => `${k}: ${v}`).join('\n');
    tr.className = it.reward > 0 ? 'good' : '';
    return tr;
  }));
}

// ---- messages ----------------------------------------------------------------------------
function onMessage(msg: HostToWebview): void {
  if (msg.type === 'reset') {
    data.step = []; data.samples = []; data.values = {}; evals.step = []; evals.values = {};
    run = msg.run; readOnly = msg.readOnly;
    view.runId = msg.run.id; vscode.setState(view);
    appendChunk(data, msg.series);
    appendChunk(evals, msg.evals);
    renderRun(); renderSamples(msg.samples);
    if (!charts.size) buildCharts(); else redraw();
  } else {
    run = msg.run;
    appendChunk(data, msg.series);
    if (msg.evals) appendChunk(evals, msg.evals);
    if (msg.progress && run.step === 0) $('progress').textContent = `${msg.progress.phase} ${msg.progress.done}/${msg.progress.total} ${msg.progress.message ?? ''}`;
    else renderRun();
    renderSamples(msg.samples);
    redraw();
  }
  document.body.dataset.points = String(data.step.length);
}

window.addEventListener('message', (e) => {
  if (!isHostToWebview(e.data)) return; // validated: anything else is ignored
  onMessage(e.data);
});

// ---- controls ----------------------------------------------------------------------------
const slider = $('smoothing') as HTMLInputElement;
slider.value = String(view.smoothing);
$('smoothing-value').textContent = view.smoothing.toFixed(2);
slider.addEventListener('input', () => {
  view.smoothing = Number(slider.value); vscode.setState(view);
  $('smoothing-value').textContent = view.smoothing.toFixed(2);
  redraw();
});
const xsel = $('xaxis') as HTMLElement & { value: string };
xsel.value = view.x;
xsel.addEventListener('change', () => { view.x = xsel.value === 'samples' ? 'samples' : 'step'; vscode.setState(view); buildCharts(); });
$('stop').addEventListener('click', () => { if (run && !readOnly) vscode.postMessage({ type: 'stop', runId: run.id }); });
$('log').addEventListener('click', () => { if (run) vscode.postMessage({ type: 'openLog', runId: run.id }); });
let resizeTimer: number | undefined;
window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = window.setTimeout(() => {
  for (const { plot, el } of charts.values()) plot.setSize({ width: Math.max(260, el.clientWidth - 8), height: 170 });
}, 100); });

vscode.postMessage({ type: 'ready', runId: view.runId });
