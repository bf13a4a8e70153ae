// Dashboard webview: uPlot charts of the paper's Figure 1 panels and more, live. This file wires the
// host's messages and the controls to data.ts (what is shown) and render.ts (how), and keeps the
// view (x axis, smoothing, panels, log scales, zoom) in the webview state.
import { metricsCsv } from '../src/core/csv';
import { isHostToWebview, type ExportFormat, type HostToWebview, type RunInfo, type WebviewToHost } from '../src/core/protocol';
import { DashboardData, isXAxis, PANELS } from './data';
import { $, Charts, mountLayout, renderPanelPicker, renderProgress, renderRun, renderSamples, type ChartView } from './render';

declare function acquireVsCodeApi(): { postMessage(m: WebviewToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

/** What survives hiding and reloading the panel (getState/setState). */
interface ViewState extends ChartView { runId: string | null; smoothing: number }
const DEFAULTS: ViewState = { runId: null, x: 'step', smoothing: 0.6, order: PANELS.map((p) => p.key), hidden: [], log: [], zoom: null };
/** The saved state over the defaults, field by field: a state saved by an older version lacks the newer fields. */
function restore(s: unknown): ViewState {
  const v = { ...DEFAULTS, ...(typeof s === 'object' && s !== null ? s : {}) };
  if (!isXAxis(v.x)) v.x = 'step';
  for (const k of ['order', 'hidden', 'log'] as const) if (!Array.isArray(v[k])) v[k] = [];
  return v;
}
const view: ViewState = restore(vscode.getState());
view.runId = document.body.dataset.runId ?? view.runId;
const save = (): void => vscode.setState(view);
save();

const data = new DashboardData();
data.setSmoothing(view.smoothing);
let run: RunInfo | null = null;
let readOnly = false;

const charts = new Charts({
  zoom(range) { view.zoom = range; save(); charts.draw(data); },
  toggleLog(key) { view.log = view.log.includes(key) ? view.log.filter((k) => k !== key) : [...view.log, key]; save(); rebuild(); },
  exportPanel(key, format) {
    const body = format === 'png' ? charts.panelPng(key) : charts.panelSvg(key);
    if (body) send(format, `${run?.id ?? 'run'}-${key}.${format}`, body);
  },
});

mountLayout($('app'));
function rebuild(): void { charts.build(view, view.smoothing > 0); charts.draw(data); }
function pickPanels(): void {
  renderPanelPicker(view, (order, hidden) => { view.order = order; view.hidden = hidden; save(); pickPanels(); rebuild(); });
}
pickPanels();

/** Exports go to the host, which saves them (the webview cannot write files). */
function send(format: ExportFormat, name: string, body: string): void {
  vscode.postMessage({ type: 'export', format, name: name.replace(/[^\w. -]/g, '_'), data: body });
}

function onMessage(msg: HostToWebview): void {
  if (msg.type === 'reset') {
    if (run && run.id !== msg.run.id) view.zoom = null; // another run: its own x range
    run = msg.run; readOnly = msg.readOnly;
    view.runId = msg.run.id; save();
    data.reset(msg.series, msg.evals);
    renderRun(run, readOnly); renderSamples(msg.samples);
    if (charts.built) charts.draw(data); else rebuild();
  } else {
    run = msg.run;
    const changed = data.append(msg.series, msg.evals);
    if (msg.progress && run.step === 0) renderProgress(msg.progress);
    else renderRun(run, readOnly);
    renderSamples(msg.samples);
    charts.draw(data, changed); // the zoom holds; only charts with new values redraw
  }
  document.body.dataset.points = String(data.metrics.length);
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (!isHostToWebview(e.data)) return; // validated: anything else is ignored
  onMessage(e.data);
});

// ---- controls ----------------------------------------------------------------------------
const slider = $<HTMLInputElement>('smoothing');
const showSmoothing = (): void => { $('smoothing-value').textContent = view.smoothing.toFixed(2); };
slider.value = String(view.smoothing);
showSmoothing();
slider.addEventListener('input', () => {
  const wasOn = view.smoothing > 0;
  view.smoothing = Number(slider.value); save();
  data.setSmoothing(view.smoothing);
  showSmoothing();
  if (wasOn !== view.smoothing > 0) rebuild(); else charts.draw(data); // the raw line comes and goes with smoothing
});
const xsel = $<HTMLElement & { value: string }>('xaxis');
xsel.value = view.x;
xsel.addEventListener('change', () => {
  view.x = isXAxis(xsel.value) ? xsel.value : 'step';
  view.zoom = null; // a range of steps means nothing in tokens
  save(); rebuild();
});
$('export-png').addEventListener('click', () => send('png', `${run?.id ?? 'run'}-dashboard.png`, charts.dashboardPng()));
$('export-csv').addEventListener('click', () => send('csv', `${run?.id ?? 'run'}-metrics.csv`, metricsCsv(data.metrics)));
$('stop').addEventListener('click', () => { if (run && !readOnly) vscode.postMessage({ type: 'stop', runId: run.id }); });
$('log').addEventListener('click', () => { if (run) vscode.postMessage({ type: 'openLog', runId: run.id }); });
let resizeTimer: number | undefined;
window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = window.setTimeout(() => charts.resize(data), 100); });

vscode.postMessage({ type: 'ready', runId: view.runId });
