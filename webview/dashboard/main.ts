// Dashboard webview: uPlot charts of the paper's Figure 1 panels and more, live. This file wires the
// host's messages and the controls to data.ts (what is shown) and render.ts (how), and keeps the
// view (x axis, smoothing, panels, log scales, zoom) in the webview state.
import { metricsCsv, runsCsv } from '../../src/core/csv';
import { assignColors, RUN_PALETTE } from '../../src/core/overlay';
import type { AlertEvent, RunInfo } from '../../src/core/protocol';
import { isHostToWebview, type ExportFormat, type HostToWebview, type WebviewToHost } from './protocol';
import { DashboardData, isXAxis, PANELS, type Panel } from '../../src/core/charts/data';
import { $, availablePanels, Charts, mountLayout, renderAlerts, renderLegend, renderPanelPicker, renderProgress, renderRun, renderSamples, type ChartRun, type ChartView } from './render';

declare function acquireVsCodeApi(): { postMessage(m: WebviewToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

/** What survives hiding and reloading the panel (getState/setState). */
interface ViewState extends ChartView {
  runId: string | null; smoothing: number;
  /** Runs drawn over this one (the host sends them again after a reload), their palette indices, and the ones hidden from the legend. */
  overlay: string[]; colors: Record<string, number>; hiddenRuns: string[];
}
const DEFAULTS: ViewState = { runId: null, x: 'step', smoothing: 0.6, order: PANELS.map((p) => p.key), hidden: [], log: [], zoom: null,
  overlay: [], colors: {}, hiddenRuns: [] };
/** The saved state over the defaults, field by field: a state saved by an older version lacks the newer fields. */
function restore(s: unknown): ViewState {
  const v = { ...DEFAULTS, ...(typeof s === 'object' && s !== null ? s : {}) };
  if (!isXAxis(v.x)) v.x = 'step';
  for (const k of ['order', 'hidden', 'log', 'overlay', 'hiddenRuns'] as const) if (!Array.isArray(v[k])) v[k] = [];
  if (typeof v.colors !== 'object' || v.colors === null) v.colors = {};
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
/** The runs drawn over this one, in the order they were added, and every run's legend label and alerts. */
const overlays = new Map<string, DashboardData>();
let labels: Record<string, string> = {};
const alerts = new Map<string, AlertEvent[]>();
/** What the host last said about each overlaid run (its own is `run`): whether it is live. */
const infos = new Map<string, RunInfo>();
const isLive = (id: string): boolean => (id === run?.id ? run.live : infos.get(id)?.live) ?? false;

/** The runs the charts draw: this one first, then the overlaid ones; hidden ones left out. */
function chartRuns(): ChartRun[] {
  const all: [string, DashboardData][] = [[run?.id ?? '', data], ...overlays];
  const overlay = all.length > 1;
  return all.filter(([id]) => !(overlay && view.hiddenRuns.includes(id)))
    .map(([id, d]) => ({ id, data: d, label: labels[id] ?? id, color: overlay ? RUN_PALETTE[view.colors[id] % RUN_PALETTE.length] : null,
      get live() { return isLive(id); }, external: (id === run?.id ? run.framework : infos.get(id)?.framework) !== undefined }));
}

/** The overlay changed (runs added, removed, shown or hidden): colours, legend, charts and alerts follow. */
function overlayChanged(): void {
  const ids = [run?.id ?? '', ...overlays.keys()];
  view.overlay = [...overlays.keys()];
  view.colors = assignColors(view.colors, ids);
  view.hiddenRuns = view.hiddenRuns.filter((id) => ids.includes(id));
  save();
  renderLegend(ids.map((id) => ({ id, label: labels[id] ?? id, color: RUN_PALETTE[view.colors[id] % RUN_PALETTE.length], hidden: view.hiddenRuns.includes(id), removable: id !== run?.id })), {
    toggle(id) { view.hiddenRuns = view.hiddenRuns.includes(id) ? view.hiddenRuns.filter((h) => h !== id) : [...view.hiddenRuns, id]; overlayChanged(); },
    remove(id) { vscode.postMessage({ type: 'removeRun', runId: id }); },
  });
  showAlerts();
  rebuild();
}

function showAlerts(): void {
  const overlay = overlays.size > 0;
  renderAlerts([...alerts].filter(([id]) => !view.hiddenRuns.includes(id) || !overlay)
    .flatMap(([runId, list]) => list.map((alert) => ({ runId, who: overlay ? `${labels[runId] ?? runId}: ` : '', alert }))), openSamples);
}

function openSamples(runId: string, step: number, truncatedOnly?: boolean): void {
  vscode.postMessage({ type: 'openSamples', runId, step: Math.max(0, Math.round(step)), ...(truncatedOnly ? { truncatedOnly } : {}) });
}

const charts = new Charts({
  zoom(range) { view.zoom = range; save(); charts.draw(); },
  pick: openSamples,
  toggleLog(key) { view.log = view.log.includes(key) ? view.log.filter((k) => k !== key) : [...view.log, key]; save(); rebuild(); },
  exportPanel(key, format) {
    const body = format === 'png' ? charts.panelPng(key) : charts.panelSvg(key);
    if (body) send(format, `${run?.id ?? 'run'}-${key}.${format}`, body);
  },
});

mountLayout($('app'));
function rebuild(): void {
  const runs = chartRuns();
  charts.build(view, view.smoothing > 0, runs);
  charts.draw();
  pickPanels(availablePanels(runs));
}
function pickPanels(available?: Panel[]): void {
  renderPanelPicker(view, (order, hidden) => { view.order = order; view.hidden = hidden; save(); rebuild(); }, available);
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
    alerts.set(run.id, msg.alerts ?? []);
    renderRun(run, readOnly); renderSamples(msg.samples);
    showAlerts();
    if (charts.built && !charts.panelsChanged()) charts.draw(); else rebuild();
  } else if (msg.type === 'overlay') {
    labels = msg.labels;
    overlays.clear();
    for (const id of [...alerts.keys()]) if (id !== run?.id) alerts.delete(id);
    for (const r of msg.runs) {
      if (r.run.id === run?.id) continue;
      const d = new DashboardData();
      d.setSmoothing(view.smoothing);
      d.reset(r.series, r.evals);
      overlays.set(r.run.id, d);
      infos.set(r.run.id, r.run);
    }
    overlayChanged();
  } else {
    const own = msg.runId === run?.id;
    const target = own ? data : overlays.get(msg.runId);
    if (!target) return; // a run no longer overlaid
    if (msg.alerts?.length) { alerts.set(msg.runId, [...(alerts.get(msg.runId) ?? []), ...msg.alerts]); showAlerts(); }
    const changed = target.append(msg.series, msg.evals);
    if (!own) infos.set(msg.runId, msg.run);
    if (own) {
      run = msg.run;
      if (msg.progress && run.step === 0) renderProgress(msg.progress);
      else renderRun(run, readOnly);
      renderSamples(msg.samples);
    }
    // the zoom holds; only charts with new values redraw (a run's first reward-model metrics bring their panels)
    if (charts.panelsChanged()) rebuild(); else charts.draw({ ...changed, runId: msg.runId });
  }
  document.body.dataset.points = String(data.metrics.length);
  document.body.dataset.runs = String(1 + overlays.size);
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
  for (const d of [data, ...overlays.values()]) d.setSmoothing(view.smoothing);
  showSmoothing();
  if (wasOn !== view.smoothing > 0) rebuild(); else charts.draw(); // the raw line comes and goes with smoothing
});
const xsel = $<HTMLElement & { value: string }>('xaxis');
xsel.value = view.x;
xsel.addEventListener('change', () => {
  view.x = isXAxis(xsel.value) ? xsel.value : 'step';
  view.zoom = null; // a range of steps means nothing in tokens
  save(); rebuild();
});
$('export-png').addEventListener('click', () => send('png', `${run?.id ?? 'run'}-dashboard.png`, charts.dashboardPng()));
// with overlaid runs: every run shown (not hidden in the legend), each row under its run's id
$('export-csv').addEventListener('click', () => send('csv', `${run?.id ?? 'run'}-${overlays.size ? 'overlay-' : ''}metrics.csv`,
  overlays.size ? runsCsv(chartRuns().map((r) => ({ run: r.id, cols: r.data.metrics }))) : metricsCsv(data.metrics)));
$('stop').addEventListener('click', () => { if (run && !readOnly) vscode.postMessage({ type: 'stop', runId: run.id }); });
$('log').addEventListener('click', () => { if (run) vscode.postMessage({ type: 'openLog', runId: run.id }); });
let resizeTimer: number | undefined;
window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = window.setTimeout(() => charts.resize(), 100); });
$('add-run').addEventListener('click', () => vscode.postMessage({ type: 'addRun' }));
$('config-diff').addEventListener('click', () => vscode.postMessage({ type: 'configDiff' }));

vscode.postMessage({ type: 'ready', runId: view.runId, overlay: view.overlay });
