// The dashboard's DOM: header, one uPlot chart per panel, the latest samples table. It draws what
// data.ts holds and formats numbers with the core's formatters; main.ts wires it to the host.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import uPlot from 'uplot';
import { formatNumber, formatTicks } from '../src/core/format';
import type { ProgressInfo, RunInfo, SamplesEvent } from '../src/core/protocol';
import { PANELS, type DashboardData, type Panel, type XAxis } from './data';
import { yAxisWidth, yRange } from './scale';

const CHART_HEIGHT = 170;
const MIN_CHART_WIDTH = 260;

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export function mountLayout(app: HTMLElement): void {
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
}

// ---- theme -------------------------------------------------------------------------------
const css = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const colors = (): string[] => [css('--vscode-charts-blue', '#3794ff'), css('--vscode-charts-orange', '#d18616'),
  css('--vscode-charts-green', '#89d185'), css('--vscode-charts-purple', '#b180d7')];

// ---- charts ------------------------------------------------------------------------------
interface Chart { plot: uPlot; panel: Panel; el: HTMLElement }
const chartWidth = (el: HTMLElement): number => Math.max(MIN_CHART_WIDTH, el.clientWidth - 8);

function chartOptions(panel: Panel, x: XAxis, width: number): uPlot.Options {
  const palette = colors();
  const fg = css('--vscode-foreground', '#ccc');
  const gridColor = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const series: uPlot.Series[] = [{ label: panel.eval ? 'step' : x }];
  panel.keys.forEach((k, i) => series.push({ label: k, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, points: { show: panel.eval } }));
  if (!panel.eval) series.push({ label: 'raw', stroke: palette[0] + '55', width: 1, spanGaps: true });
  const axis = { stroke: fg, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
  return {
    width, height: CHART_HEIGHT, series, legend: { live: true },
    scales: { x: { time: false }, y: { range: (_u, min, max) => yRange(min, max) } },
    axes: [axis, { ...axis, size: (_u, values) => yAxisWidth(values), values: (_u, splits) => formatTicks(splits) }],
    cursor: { drag: { x: true, y: false } },
  };
}

export class Charts {
  private charts: Chart[] = [];

  /** (Re)creates every panel's chart in #charts, e.g. when the x axis changes. */
  build(x: XAxis): void {
    for (const c of this.charts) c.plot.destroy();
    const grid = $('charts');
    grid.innerHTML = '';
    this.charts = PANELS.map((panel) => {
      const el = document.createElement('div');
      el.className = 'chart';
      el.dataset.panel = panel.key;
      el.innerHTML = `<div class="chart-title">${panel.title}<span class="last" data-last="${panel.key}"></span></div>`;
      grid.appendChild(el);
      const plot = new uPlot(chartOptions(panel, x, chartWidth(el)), [[]] as unknown as uPlot.AlignedData, el);
      return { plot, panel, el };
    });
  }

  get built(): boolean { return this.charts.length > 0; }

  /** Plots the data; `data-points` on each chart is what the e2e test watches grow. */
  draw(data: DashboardData, x: XAxis, smoothing: number): void {
    for (const { plot, panel, el } of this.charts) {
      plot.setData(data.aligned(panel, x, smoothing) as unknown as uPlot.AlignedData);
      const last = data.last(panel);
      const lastEl = el.querySelector<HTMLElement>('[data-last]');
      if (lastEl) lastEl.textContent = last === null ? '' : ` ${formatNumber(last)}`;
      el.dataset.points = String(data.points(panel));
    }
  }

  resize(): void {
    for (const { plot, el } of this.charts) plot.setSize({ width: chartWidth(el), height: CHART_HEIGHT });
  }
}

// ---- header and samples ------------------------------------------------------------------
export function renderRun(run: RunInfo, readOnly: boolean): void {
  $('run-id').textContent = run.id;
  $('state').textContent = run.state;
  $('state').dataset.state = run.state;
  const total = run.totalSteps ? `/${run.totalSteps}` : '';
  $('progress').textContent = `step ${run.step}${total}${run.device ? ` · ${run.device}` : ''}`;
  const stop = $<HTMLElement & { disabled: boolean }>('stop');
  stop.disabled = readOnly || !run.live;
  stop.title = readOnly ? 'Read-only: this workspace is not trusted' : run.live ? 'Finish the step, checkpoint and stop' : 'The run is not running';
  const err = $('error');
  err.hidden = !run.error;
  err.textContent = run.error ? `Run failed: ${run.error}` : '';
}

/** While the trainer loads (step 0), the header says what it is doing instead of the step. */
export function renderProgress(p: ProgressInfo): void {
  $('progress').textContent = `${p.phase} ${p.done}/${p.total} ${p.message ?? ''}`;
}

/** A sample's label as the trainer recorded it: strings as they are, anything else as JSON. */
const labelText = (label: unknown): string =>
  label === undefined || label === null ? '' : typeof label === 'string' ? label : JSON.stringify(label);

export function renderSamples(s: SamplesEvent | null): void {
  if (!s) return;
  $('samples-step').textContent = `(step ${s.step})`;
  const body = document.querySelector('#samples tbody')!;
  body.replaceChildren(...s.items.slice(0, 16).map((it) => {
    const tr = document.createElement('tr');
    for (const text of [it.prompt, it.response, labelText(it.label), formatNumber(it.reward)]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    if (it.reward_errors) tr.title = Object.entries(it.reward_errors).map(([k, v]) => `${k}: ${v}`).join('\n');
    tr.className = it.reward > 0 ? 'good' : '';
    return tr;
  }));
}
