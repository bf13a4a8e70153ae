// Dashboard webview: uPlot charts of the paper's Figure 1 panels and more, live. This file wires the
// host's messages and the controls to data.ts (what is shown) and render.ts (how).
import { isHostToWebview, type HostToWebview, type RunInfo, type WebviewToHost } from '../src/core/protocol';
import { DashboardData, type XAxis } from './data';
import { $, Charts, mountLayout, renderProgress, renderRun, renderSamples } from './render';

declare function acquireVsCodeApi(): { postMessage(m: WebviewToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

/** What survives hiding and reloading the panel (getState/setState). */
interface ViewState { runId: string | null; x: XAxis; smoothing: number }
const saved = (vscode.getState() as ViewState | undefined) ?? { runId: null, x: 'step', smoothing: 0.6 };
const view: ViewState = { ...saved, runId: document.body.dataset.runId ?? saved.runId };
vscode.setState(view);

const data = new DashboardData();
const charts = new Charts();
let run: RunInfo | null = null;
let readOnly = false;

mountLayout($('app'));
const redraw = (): void => charts.draw(data, view.x, view.smoothing);
function rebuild(): void { charts.build(view.x); redraw(); }

function onMessage(msg: HostToWebview): void {
  if (msg.type === 'reset') {
    run = msg.run; readOnly = msg.readOnly;
    view.runId = msg.run.id; vscode.setState(view);
    data.reset(msg.series, msg.evals);
    renderRun(run, readOnly); renderSamples(msg.samples);
    if (charts.built) redraw(); else rebuild();
  } else {
    run = msg.run;
    data.append(msg.series, msg.evals);
    if (msg.progress && run.step === 0) renderProgress(msg.progress);
    else renderRun(run, readOnly);
    renderSamples(msg.samples);
    redraw();
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
  view.smoothing = Number(slider.value); vscode.setState(view);
  showSmoothing();
  redraw();
});
const xsel = $<HTMLElement & { value: string }>('xaxis');
xsel.value = view.x;
xsel.addEventListener('change', () => { view.x = xsel.value === 'samples' ? 'samples' : 'step'; vscode.setState(view); rebuild(); });
$('stop').addEventListener('click', () => { if (run && !readOnly) vscode.postMessage({ type: 'stop', runId: run.id }); });
$('log').addEventListener('click', () => { if (run) vscode.postMessage({ type: 'openLog', runId: run.id }); });
let resizeTimer: number | undefined;
window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = window.setTimeout(() => charts.resize(), 100); });

vscode.postMessage({ type: 'ready', runId: view.runId });
