// The dashboard's DOM: header, one uPlot chart per chosen panel, the latest samples table. It draws
// what data.ts holds, downsampled (M4) to the chart's pixels for the shown x range, and formats
// numbers with the core's formatters; main.ts wires it to the host.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import uPlot from 'uplot';
import { downsample, extent, type Columns } from '../src/core/downsample';
import { formatNumber, formatTicks } from '../src/core/format';
import type { ProgressInfo, RunInfo, SamplesEvent } from '../src/core/protocol';
import { escapeHtml } from '../src/extension/dashboardHtml';
import { PANELS, X_AXES, xTitle, type Changed, type DashboardData, type Panel, type XAxis } from './data';
import { logTickLabels, yAxisWidth, yRange } from './scale';
import { chartSvg, type SvgSeries } from './svg';

const CHART_HEIGHT = 190;
const MIN_CHART_WIDTH = 260;
const SYNC_KEY = 'rlhf-x';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export function mountLayout(app: HTMLElement): void {
  const axes = X_AXES.map((a) => `<vscode-option value="${a.key}">${a.title}</vscode-option>`).join('');
  app.innerHTML = `
<header>
  <div class="title"><span id="run-id"></span> <vscode-badge id="state"></vscode-badge> <span id="progress" class="muted"></span></div>
  <div class="controls">
    <label>x axis <vscode-single-select id="xaxis">${axes}</vscode-single-select></label>
    <label>smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01"> <span id="smoothing-value"></span></label>
    <details id="panel-picker"><summary>Panels</summary><ul id="panel-list"></ul></details>
    <span class="tools">Export <button id="export-png" title="All charts as one PNG image">PNG</button><button id="export-csv" title="Every metric of every step as CSV">CSV</button></span>
    <vscode-button id="log" secondary>Trainer log</vscode-button>
    <vscode-button id="stop">Stop</vscode-button>
  </div>
</header>
<div id="error" class="error" hidden></div>
<div class="muted hint">Drag across a chart to zoom all charts; double-click to reset.</div>
<section id="charts" class="grid"></section>
<h3>Latest samples <span id="samples-step" class="muted"></span></h3>
<table id="samples"><thead><tr><th>prompt</th><th>response</th><th>label</th><th>reward</th></tr></thead><tbody></tbody></table>`;
}

// ---- theme -------------------------------------------------------------------------------
const css = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const colors = (): string[] => [css('--vscode-charts-blue', '#3794ff'), css('--vscode-charts-orange', '#d18616'),
  css('--vscode-charts-green', '#89d185'), css('--vscode-charts-purple', '#b180d7')];

// ---- charts ------------------------------------------------------------------------------
/** What the charts show besides the data: the view state main.ts keeps (and persists). */
export interface ChartView { x: XAxis; order: string[]; hidden: string[]; log: string[]; zoom: [number, number] | null }
/** Callbacks into main.ts: a zoom (null: reset) and the export buttons. */
export interface ChartEvents { zoom(range: [number, number] | null): void; toggleLog(panel: string): void; exportPanel(panel: string, format: 'png' | 'svg'): void }

interface Chart { plot: uPlot; panel: Panel; el: HTMLElement; log: boolean; shown: Columns | null; series: SvgSeries[] }
const chartWidth = (el: HTMLElement): number => Math.max(MIN_CHART_WIDTH, el.clientWidth - 8);
const yTitle = (panel: Panel): string => (panel.eval ? 'score' : panel.keys[0]);

/** The panels to draw, in the user's order; panels the order does not name yet come after, as listed. */
export function shownPanels(view: Pick<ChartView, 'order' | 'hidden'>): Panel[] {
  const rank = (p: Panel): number => { const i = view.order.indexOf(p.key); return i < 0 ? view.order.length + PANELS.indexOf(p) : i; };
  return PANELS.filter((p) => !view.hidden.includes(p.key)).sort((a, b) => rank(a) - rank(b));
}

function seriesOf(panel: Panel, smoothing: boolean): SvgSeries[] {
  const palette = colors();
  const lines: SvgSeries[] = panel.keys.map((k, i) => ({ label: smoothing && !panel.eval ? `${k} (EMA)` : k, color: palette[i % palette.length], width: 1.5 }));
  if (smoothing && !panel.eval) lines.push({ label: `${panel.keys[0]} (raw)`, color: palette[0], width: 1, opacity: 0.33 });
  return lines;
}

export class Charts {
  private charts: Chart[] = [];
  private view!: ChartView;
  private smoothing = false;

  constructor(private readonly events: ChartEvents) {}

  /** (Re)creates the chosen panels' charts in #charts: on load, and when the x axis, panels or log scales change. */
  build(view: ChartView, smoothing: boolean): void {
    for (const c of this.charts) c.plot.destroy();
    this.view = view;
    this.smoothing = smoothing;
    const grid = $('charts');
    grid.innerHTML = '';
    this.charts = shownPanels(view).map((panel) => {
      const el = document.createElement('div');
      el.className = 'chart';
      el.dataset.panel = panel.key;
      const log = view.log.includes(panel.key);
      el.innerHTML = `<div class="chart-title"><span>${escapeHtml(panel.title)}<span class="last" data-last="${panel.key}"></span></span>`
        + `<span class="tools"><button data-act="log" aria-pressed="${log}" title="Logarithmic y axis">log</button>`
        + `<button data-act="png" title="This chart as PNG">PNG</button><button data-act="svg" title="This chart as SVG">SVG</button></span></div><div class="hover muted"></div>`;
      el.querySelector('.tools')!.addEventListener('click', (e) => {
        const act = (e.target as HTMLElement).dataset.act;
        if (act === 'log') this.events.toggleLog(panel.key);
        else if (act === 'png' || act === 'svg') this.events.exportPanel(panel.key, act);
      });
      grid.appendChild(el);
      const series = seriesOf(panel, smoothing);
      const plot = new uPlot(this.options(panel, series, log, chartWidth(el)), [[]] as unknown as uPlot.AlignedData, el);
      plot.over.addEventListener('dblclick', () => this.events.zoom(null));
      return { plot, panel, el, log, shown: null, series };
    });
  }

  get built(): boolean { return this.charts.length > 0; }

  private options(panel: Panel, lines: SvgSeries[], log: boolean, width: number): uPlot.Options {
    const fg = css('--vscode-foreground', '#ccc');
    const gridColor = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
    const series: uPlot.Series[] = [{ label: this.view.x }, ...lines.map((s) => ({
      label: s.label, stroke: s.opacity ? s.color + '55' : s.color, width: s.width, spanGaps: true, points: { show: panel.eval === true },
    }))];
    const axis = { stroke: fg, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, labelSize: 16, labelFont: '11px sans-serif' };
    return {
      width, height: CHART_HEIGHT, series, legend: { show: false }, // the hovered values show in the title instead
      scales: {
        // the x range is the dashboard's, shared by every chart: the zoom, or all of the data
        x: { time: false, range: () => this.xRange() },
        y: log ? { distr: 3, range: (_u, min, max) => uPlot.rangeLog(min || 1e-12, max || 1, 10, true) } : { range: (_u, min, max) => yRange(min, max) },
      },
      axes: [{ ...axis, label: xTitle(this.view.x), values: (_u, splits) => formatTicks(splits) },
        { ...axis, label: yTitle(panel), size: (_u, values) => yAxisWidth(values) + 8, values: (_u, splits) => (log ? logTickLabels(splits) : formatTicks(splits)) }],
      cursor: { drag: { x: true, y: false, setScale: false }, sync: { key: SYNC_KEY } },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          this.events.zoom([a, b]);
        }],
        setCursor: [(u) => this.showHover(u)],
      },
    };
  }

  /** The values under the cursor, in the title (uPlot's legend would add a row under every chart). */
  private showHover(u: uPlot): void {
    const c = this.charts.find((ch) => ch.plot === u);
    const hover = c?.el.querySelector<HTMLElement>('.hover');
    if (!c || !hover) return;
    const i = u.cursor.idx;
    if (i === null || i === undefined || !c.shown) { hover.textContent = ''; return; }
    const vals = c.series.map((s, k) => `${s.label} ${formatNumber(c.shown![k + 1][i])}`);
    const x = c.shown[0][i];
    hover.textContent = `${xTitle(this.view.x)} ${Number.isInteger(x) ? x : formatNumber(x)}: ${vals.join(' · ')}`;
    hover.title = hover.textContent;
  }

  private full: [number, number] | null = null;

  private xRange(): [number, number] {
    const r = this.view.zoom ?? this.full;
    return r ? (r[1] > r[0] ? r : [r[0] - 1, r[1] + 1]) : [0, 1];
  }

  /**
   * Plots the data: each chart draws its series downsampled to its width over the shown x range.
   * With `changed` (a live append), only charts whose series got values redraw, and while zoomed
   * only when the new rows could show. `data-points` is what the e2e test watches grow.
   */
  draw(data: DashboardData, changed?: Changed): void {
    const before = this.full;
    this.full = extent(data.x(this.view.x));
    const moved = !this.view.zoom && (before?.[0] !== this.full?.[0] || before?.[1] !== this.full?.[1]);
    for (const c of this.charts) {
      if (changed && !moved && !data.touches(c.panel, changed)) continue;
      this.drawChart(c, data);
    }
  }

  private drawChart(c: Chart, data: DashboardData): void {
    const cols = data.columns(c.panel, this.view.x);
    const [lo, hi] = this.xRange();
    let shown = downsample(cols.x, cols.lines.map((l) => l.y), lo, hi, c.plot.bbox.width || c.plot.width); // device pixels: exact M4
    if (c.log) shown = shown.map((col, k) => (k === 0 ? col : col.map((v) => (v !== null && v > 0 ? v : null)))) as Columns;
    c.shown = shown;
    c.plot.setData(shown);
    const last = data.last(c.panel);
    const lastEl = c.el.querySelector<HTMLElement>('[data-last]');
    if (lastEl) lastEl.textContent = last === null ? '' : ` ${formatNumber(last)}`;
    c.el.dataset.points = String(data.points(c.panel));
    c.el.dataset.drawn = String(shown[0].length);
  }

  resize(data: DashboardData): void {
    for (const c of this.charts) c.plot.setSize({ width: chartWidth(c.el), height: CHART_HEIGHT });
    this.draw(data); // more pixels: more buckets
  }

  // ---- export ----------------------------------------------------------------------------
  private chart(key: string): Chart | undefined { return this.charts.find((c) => c.panel.key === key); }

  /** A chart's canvas as a PNG data URL. */
  panelPng(key: string): string | null { return this.chart(key)?.plot.ctx.canvas.toDataURL('image/png') ?? null; }

  /** A chart as SVG, from the same downsampled columns its canvas shows. */
  panelSvg(key: string): string | null {
    const c = this.chart(key);
    if (!c?.shown) return null;
    return chartSvg({ title: c.panel.title, xTitle: xTitle(this.view.x), yTitle: yTitle(c.panel), width: c.plot.width, height: CHART_HEIGHT,
      xRange: this.xRange(), yLog: c.log, columns: c.shown, series: c.series });
  }

  /** Every chart on one canvas, in the grid's layout, with its title: the whole dashboard as one PNG. */
  dashboardPng(): string {
    const dpr = devicePixelRatio || 1;
    const grid = $('charts').getBoundingClientRect();
    const out = document.createElement('canvas');
    out.width = Math.ceil(grid.width * dpr); out.height = Math.ceil(grid.height * dpr);
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = css('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = css('--vscode-foreground', '#ccc');
    ctx.font = `${Math.round(13 * dpr)}px sans-serif`;
    for (const c of this.charts) {
      const box = c.el.getBoundingClientRect(), canvas = c.plot.ctx.canvas, at = canvas.getBoundingClientRect();
      ctx.fillText(c.el.querySelector('.chart-title > span')?.textContent ?? c.panel.title, (box.left - grid.left + 6) * dpr, (box.top - grid.top + 16) * dpr);
      ctx.drawImage(canvas, (at.left - grid.left) * dpr, (at.top - grid.top) * dpr, at.width * dpr, at.height * dpr);
    }
    return out.toDataURL('image/png');
  }
}

// ---- panel picker ------------------------------------------------------------------------
/** The Panels list: a checkbox per panel to show or hide it, arrows to move it up or down. */
export function renderPanelPicker(view: Pick<ChartView, 'order' | 'hidden'>, onChange: (order: string[], hidden: string[]) => void): void {
  const order = [...shownPanels({ order: view.order, hidden: [] })].map((p) => p.key);
  const list = $('panel-list');
  list.replaceChildren(...order.map((key, i) => {
    const li = document.createElement('li');
    const title = PANELS.find((p) => p.key === key)!.title;
    li.innerHTML = `<label><input type="checkbox" ${view.hidden.includes(key) ? '' : 'checked'}> ${escapeHtml(title)}</label>`
      + `<button data-move="-1" title="Move up" ${i === 0 ? 'disabled' : ''}>▲</button><button data-move="1" title="Move down" ${i === order.length - 1 ? 'disabled' : ''}>▼</button>`;
    li.querySelector('input')!.addEventListener('change', (e) => {
      const on = (e.target as HTMLInputElement).checked;
      onChange(order, on ? view.hidden.filter((k) => k !== key) : [...view.hidden, key]);
    });
    li.querySelectorAll<HTMLElement>('[data-move]').forEach((b) => b.addEventListener('click', () => {
      const j = i + Number(b.dataset.move);
      const next = [...order];
      [next[i], next[j]] = [next[j], next[i]];
      onChange(next, view.hidden);
    }));
    return li;
  }));
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
