// The dashboard's DOM: header, one uPlot chart per chosen panel, the latest samples table. It draws
// what data.ts holds, downsampled (M4) to the chart's pixels for the shown x range, and formats
// numbers with the core's formatters; main.ts wires it to the host.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import uPlot from 'uplot';
import { downsample, type Columns, type M4Cache } from '../../src/core/downsample';
import { formatNumber, formatTicks } from '../../src/core/format';
import { joinColumns } from '../../src/core/overlay';
import { hoverAt } from '../../src/core/charts/hover';
import type { AlertEvent, ProgressInfo, RunInfo, SamplesEvent } from '../../src/core/protocol';
import { $, el } from '../shared/dom';
import { escapeHtml } from '../shared/html';
import { PANELS, X_AXES, emptyNote, panelsFor, xTitle, type Changed, type DashboardData, type Panel, type XAxis } from '../../src/core/charts/data';
import { logTickLabels, yAxisWidth, yRange } from './scale';
import { chartSvg, type SvgSeries } from '../../src/core/charts/svg';

const CHART_HEIGHT = 190;
const MIN_CHART_WIDTH = 260;
const SYNC_KEY = 'rlhf-x';
/** Share of the data's x span a live run's range reaches past its last point. */
const LIVE_HEADROOM = 0.05;

export { $ };

export function mountLayout(app: HTMLElement): void {
  const axes = X_AXES.map((a) => `<vscode-option value="${a.key}">${a.title}</vscode-option>`).join('');
  app.innerHTML = `
<header>
  <div class="title"><span id="run-id"></span> <vscode-badge id="state"></vscode-badge> <span id="progress" class="muted"></span></div>
  <div class="controls">
    <label>x axis <vscode-single-select id="xaxis">${axes}</vscode-single-select></label>
    <label>smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01"> <span id="smoothing-value"></span></label>
    <details id="panel-picker"><summary>Panels</summary><ul id="panel-list"></ul></details>
    <span class="tools"><button id="add-run" title="Draw other runs on these charts">Add run…</button><button id="config-diff" title="The config keys that differ between the runs shown" hidden>Config diff</button></span>
    <span class="tools">Export <button id="export-png" title="All charts as one PNG image">PNG</button><button id="export-csv" title="Every metric of every step as CSV (with overlaid runs: of every run shown, with a run column)">CSV</button></span>
    <vscode-button id="log" secondary>Trainer log</vscode-button>
    <vscode-button id="stop">Stop</vscode-button>
  </div>
</header>
<div id="error" class="error" hidden></div>
<div id="alerts"></div>
<div id="legend" hidden></div>
<div class="muted hint">Drag across a chart to zoom all charts; double-click to reset; click a point for that step's samples.</div>
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
export interface ChartEvents {
  zoom(range: [number, number] | null): void; toggleLog(panel: string): void; exportPanel(panel: string, format: 'png' | 'svg'): void;
  /** A click on a chart (not a drag): the run and step nearest to it. */
  pick?(runId: string, step: number): void;
}

/** A run the charts draw: its data, its legend label and its overlay colour (null: a lone run in the theme's colours). */
export interface ChartRun { id: string; label: string; data: DashboardData; color: string | null; live?: boolean; /** a watched run of another framework */ external?: boolean }

/** `order`: the y columns in drawing order (the runs' faint raw lines under every run's smoothed line). */
interface Chart {
  plot: uPlot; panel: Panel; el: HTMLElement; log: boolean; shown: Columns | null; series: SvgSeries[]; order: number[];
  /** Per run, the M4 buckets of its lines over the last drawn range: a live append adds its rows to them. */
  m4: Map<string, M4Cache>;
  /** Per run, its downsampled columns as last drawn, and the range, width and generation they are for. */
  tables: Map<string, { key: string; columns: Columns }>;
}
const chartWidth = (el: HTMLElement): number => Math.max(MIN_CHART_WIDTH, el.clientWidth - 8);
const yTitle = (panel: Panel): string => (panel.eval ? 'score' : panel.keys[0]);

/** The panels to draw, in the user's order; panels the order does not name yet come after, as listed. */
export function shownPanels(view: Pick<ChartView, 'order' | 'hidden'>, available: Panel[] = panelsFor(() => false)): Panel[] {
  const rank = (p: Panel): number => { const i = view.order.indexOf(p.key); return i < 0 ? view.order.length + PANELS.indexOf(p) : i; };
  return available.filter((p) => !view.hidden.includes(p.key)).sort((a, b) => rank(a) - rank(b));
}

/**
 * The panels these runs can show (panelsFor: reward-model panels when logged); when every run shown is a
 * watched run of another framework, only the panels they logged (no empty boxes for metrics it never writes).
 */
export const availablePanels = (runs: ChartRun[]): Panel[] =>
  panelsFor((p) => runs.some((r) => r.data.logged(p)), runs.length > 0 && runs.every((r) => r.external));

/**
 * A panel's series for one run, in the order DashboardData.columns gives its lines: a lone run's keys
 * in the theme's colours; an overlaid run all in its own colour, its second and third keys dashed.
 */
function seriesOf(panel: Panel, smoothing: boolean, run?: ChartRun): SvgSeries[] {
  const palette = colors();
  const color = (i: number): string => run?.color ?? palette[i % palette.length];
  const who = run?.color ? `${run.label}: ` : '';
  const lines: SvgSeries[] = panel.keys.map((k, i) => ({ label: `${who}${smoothing && !panel.eval ? `${k} (EMA)` : k}`, color: color(i), width: 1.5,
    ...(run?.color && i > 0 ? { dash: [4, 3] } : {}) }));
  if (smoothing && !panel.eval) lines.push({ label: `${who}${panel.keys[0]} (raw)`, color: color(0), width: 1, opacity: 0.33 });
  return lines;
}

/** The legend of an overlay: a button per run (its colour and label) that hides or shows it; × removes an added run. */
export function renderLegend(runs: { id: string; label: string; color: string; hidden: boolean; removable: boolean }[],
  on: { toggle(id: string): void; remove(id: string): void }): void {
  const legend = $('legend');
  legend.hidden = runs.length < 2;
  $('config-diff').hidden = runs.length < 2;
  legend.replaceChildren(...runs.map((r) => {
    const entry = el('span', { class: 'legend-entry', 'data-run': r.id, 'data-hidden': String(r.hidden) });
    const b = el('button', { class: 'legend-run', 'aria-pressed': String(!r.hidden), title: `${r.id}\n${r.hidden ? 'Hidden: click to show' : 'Click to hide'}` });
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = r.color;
    b.append(swatch, el('span', {}, r.label)); // labels come from run configs: text, never HTML
    b.addEventListener('click', () => on.toggle(r.id));
    entry.appendChild(b);
    if (r.removable) {
      const x = el('button', { class: 'legend-remove', 'data-remove-run': r.id, title: `Remove ${r.id} from these charts` }, '×');
      x.addEventListener('click', () => on.remove(r.id));
      entry.appendChild(x);
    }
    return entry;
  }));
}

/** Alerts (length hacking, eval divergence) above the charts, each with a link to the samples of its last step. */
export function renderAlerts(alerts: { runId: string; who: string; alert: AlertEvent }[], open: (runId: string, step: number, truncatedOnly?: boolean) => void): void {
  const box = $('alerts');
  box.replaceChildren(...alerts.map(({ runId, who, alert }) => {
    const div = el('div', { class: 'alert', 'data-alert': alert.kind, 'data-run': runId });
    const link = el('a', { href: '#', 'data-alert-samples': String(alert.steps[1]) }, 'Show samples');
    link.addEventListener('click', (e) => { e.preventDefault(); open(runId, alert.steps[1], alert.filter?.truncated_only); });
    div.append(el('span', {}, `${who}${alert.kind.replace(/_/g, ' ')} (steps ${alert.steps[0]}–${alert.steps[1]}): ${alert.message}`), ' ', link);
    return div;
  }));
}

export class Charts {
  private charts: Chart[] = [];
  private view!: ChartView;
  private smoothing = false;
  /** The runs drawn, hidden ones left out: one, or several overlaid (each in its colour). */
  private runs: ChartRun[] = [];
  /** A click opens samples only when it was not the end of a drag nor half of a double-click. */
  private clickTimer: number | undefined;
  /** Where the button went down on a chart: a release within 3 px of it is a click, farther a drag (a zoom). */
  private down: { x: number; y: number } | null = null;

  constructor(private readonly events: ChartEvents) {}

  /**
   * (Re)creates the chosen panels' charts in #charts: on load, and when the x axis, panels, log
   * scales or the runs shown change.
   */
  build(view: ChartView, smoothing: boolean, runs: ChartRun[]): void {
    for (const c of this.charts) c.plot.destroy();
    this.view = view;
    this.smoothing = smoothing;
    this.runs = runs;
    const grid = $('charts');
    grid.innerHTML = '';
    this.builtPanels = availablePanels(runs).map((p) => p.key).join();
    this.charts = shownPanels(view, availablePanels(runs)).map((panel) => {
      const el = document.createElement('div');
      el.className = 'chart';
      el.dataset.panel = panel.key;
      const log = view.log.includes(panel.key);
      el.innerHTML = `<div class="chart-title"><span>${escapeHtml(panel.title)}<span class="last" data-last="${panel.key}"></span></span>`
        + `<span class="tools"><button data-act="log" aria-pressed="${log}" title="Logarithmic y axis">log</button>`
        + `<button data-act="png" title="This chart as PNG">PNG</button><button data-act="svg" title="This chart as SVG">SVG</button></span></div><div class="hover muted"></div>`
        + '<div class="empty-note muted" data-note></div>';
      el.querySelector('.tools')!.addEventListener('click', (e) => {
        const act = (e.target as HTMLElement).dataset.act;
        if (act === 'log') this.events.toggleLog(panel.key);
        else if (act === 'png' || act === 'svg') this.events.exportPanel(panel.key, act);
      });
      grid.appendChild(el);
      const overlay = runs.length > 1 || runs.some((r) => r.color);
      const all = overlay ? runs.flatMap((r) => seriesOf(panel, smoothing, r)) : runs.length ? seriesOf(panel, smoothing) : []; // every run hidden: no lines
      const order = all.map((_, i) => i).sort((a, b) => Number(all[b].opacity !== undefined) - Number(all[a].opacity !== undefined) || a - b);
      const series = order.map((i) => all[i]);
      const plot = new uPlot(this.options(panel, series, log, chartWidth(el)), [[]] as unknown as uPlot.AlignedData, el);
      plot.over.addEventListener('dblclick', () => { clearTimeout(this.clickTimer); this.events.zoom(null); });
      // the chart's own events, in the capture phase: uPlot's drag handling may keep a click from
      // reaching later listeners, and by its mouseup handler a zoom may have changed the scale
      plot.over.addEventListener('mousedown', (e) => { this.down = e.button === 0 ? { x: e.clientX, y: e.clientY } : null; }, true);
      plot.over.addEventListener('mouseup', (e) => {
        const d = this.down;
        this.down = null;
        if (d && e.button === 0 && Math.abs(e.clientX - d.x) < 3 && Math.abs(e.clientY - d.y) < 3) this.onClick(plot, panel, e);
      }, true);
      return { plot, panel, el, log, shown: null, series, order, m4: new Map(), tables: new Map() };
    });
  }

  get built(): boolean { return this.charts.length > 0; }

  /** The panels available when the charts were built: a run that starts logging reward-model metrics changes them. */
  private builtPanels = '';
  /** Whether the runs' data now calls for other panels than the charts were built with (then: build again). */
  panelsChanged(): boolean { return availablePanels(this.runs).map((p) => p.key).join() !== this.builtPanels; }

  /** A click (not a drag, not a double-click) on a chart: the step at or before the pointer, of the run whose line is nearest. */
  private onClick(u: uPlot, panel: Panel, e: MouseEvent): void {
    const rect = u.over.getBoundingClientRect();
    const x = u.posToVal(e.clientX - rect.left, 'x'), top = e.clientY - rect.top;
    let best: { id: string; step: number; d: number } | null = null;
    for (const r of this.runs) {
      const p = r.data.pointAt(panel, this.view.x, x);
      if (!p) continue;
      // the run whose line passes nearest the pointer at that x (any run when none has a value there)
      const v = r.data.columns(panel, this.view.x).lines[0]?.y[p.row];
      const d = typeof v === 'number' ? Math.abs(u.valToPos(v, 'y') - top) : Infinity;
      if (!best || d < best.d) best = { id: r.id, step: p.step, d };
    }
    if (!best || !this.events.pick) return;
    const pick = best;
    clearTimeout(this.clickTimer);
    this.clickTimer = window.setTimeout(() => this.events.pick?.(pick.id, pick.step), 300);
  }

  private options(panel: Panel, lines: SvgSeries[], log: boolean, width: number): uPlot.Options {
    const fg = css('--vscode-foreground', '#ccc');
    const gridColor = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
    const series: uPlot.Series[] = [{ label: this.view.x }, ...lines.map((s) => ({
      label: s.label, stroke: s.opacity ? s.color + '55' : s.color, width: s.width, spanGaps: true,
      // a line needs two rows: a run of one step so far (a reward model of a few pairs) shows its row as a dot
      points: { show: (u: uPlot) => panel.eval === true || u.data[0].length === 1 }, dash: s.dash,
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
        // the axis and range each chart shows, for tests and tools (linked zoom: every chart says the same)
        setScale: [(u, key) => {
          const el = key === 'x' ? u.root.parentElement : null;
          if (el && u.scales.x.min !== undefined && u.scales.x.max !== undefined) {
            el.dataset.x = this.view.x;
            el.dataset.xRange = `${formatNumber(u.scales.x.min, 6)},${formatNumber(u.scales.x.max, 6)}`;
          }
        }],
      },
    };
  }

  /**
   * The values under the cursor, in the line under the title (uPlot's legend would add a row under
   * every chart): a lone run's lines by name; with overlaid runs, each run's colour swatch and its
   * values (hoverAt), its label and every line in the tooltip.
   */
  private showHover(u: uPlot): void {
    const c = this.charts.find((ch) => ch.plot === u);
    const hover = c?.el.querySelector<HTMLElement>('.hover');
    if (!c || !hover) return;
    const i = u.cursor.idx;
    const x = i === null || i === undefined || !c.shown ? undefined : c.shown[0][i];
    if (typeof x !== 'number' || !this.runs.length) { hover.textContent = ''; hover.title = ''; return; }
    const h = hoverAt(c.panel, this.view.x, x, this.runs);
    hover.title = h.title;
    if (!this.runs.some((r) => r.color)) { hover.textContent = h.text; return; }
    hover.replaceChildren(`${h.head}:`, ...h.entries.map((e) => {
      const item = document.createElement('span');
      item.className = 'hover-run';
      item.dataset.run = e.id;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = e.color ?? '';
      item.append(swatch, e.values); // values are numbers: text
      return item;
    }));
  }

  private full: [number, number] | null = null;

  /**
   * The x range shown: the zoom, or all of the data. While a run is live the range ends a little
   * past the data (LIVE_HEADROOM) and moves only when the data reaches its end, so most live
   * appends leave every bucket where it was and a chart adds the new rows to its kept buckets.
   */
  private xRange(): [number, number] {
    const r = this.view.zoom ?? (this.liveEnd !== null && this.full ? [this.full[0], this.liveEnd] as [number, number] : this.full);
    return r ? (r[1] > r[0] ? r : [r[0] - 1, r[1] + 1]) : [0, 1];
  }

  /** Where the x range of live runs ends (null: no run is live, the range ends at the data). */
  private liveEnd: number | null = null;

  private updateLiveEnd(): void {
    const f = this.full;
    if (!f || !this.runs.some((r) => r.live)) { this.liveEnd = null; return; }
    if (this.liveEnd !== null && this.liveEnd >= f[1] && this.liveEnd - f[0] <= (f[1] - f[0]) * (1 + 2 * LIVE_HEADROOM)) return;
    // one row so far: no headroom (a range of 1e-9 would label its ticks 1.000000001); xRange pads it by 1
    this.liveEnd = f[1] + (f[1] > f[0] ? Math.max((f[1] - f[0]) * LIVE_HEADROOM, 1e-9) : 0);
  }

  /**
   * Plots the data: each chart draws its series downsampled to its width over the shown x range.
   * With `changed` (a live append), only charts whose series got values redraw, and while zoomed
   * only when the new rows could show. `data-points` is what the e2e test watches grow.
   */
  draw(changed?: Changed & { runId?: string }): void {
    const before = this.xRange();
    this.full = this.extent();
    this.updateLiveEnd();
    const after = this.xRange();
    const moved = before[0] !== after[0] || before[1] !== after[1];
    const run = changed && this.runs.find((r) => changed.runId === undefined || r.id === changed.runId);
    if (changed && !run) return; // a hidden run changed: nothing drawn moves
    for (const c of this.charts) {
      if (changed && !moved && !run!.data.touches(c.panel, changed)) continue;
      // a chart of keys no run logged stays empty whatever the x range: a live update skips it
      if (changed && c.shown && !this.runs.some((r) => r.data.logged(c.panel))) continue;
      this.drawChart(c, changed?.runId);
    }
  }

  /** The x extent of every run shown, its evals included (the full range when not zoomed). */
  private extent(): [number, number] | null {
    const all = this.runs.map((r) => r.data.xExtent(this.view.x)).filter((e): e is [number, number] => e !== null);
    return all.length ? [Math.min(...all.map((e) => e[0])), Math.max(...all.map((e) => e[1]))] : null;
  }

  /** Draws a chart; with `changedRun` (a live append of that run), the other runs' columns are reused when their range is the same. */
  private drawChart(c: Chart, changedRun?: string): void {
    const [lo, hi] = this.xRange();
    const width = c.plot.bbox.width || c.plot.width; // device pixels: exact M4
    // each run downsampled on its own x column, then joined onto one (uPlot draws aligned columns)
    const tables = this.runs.map((r) => {
      const key = `${lo} ${hi} ${width} ${this.view.x} ${r.data.generation}`;
      const kept = c.tables.get(r.id);
      if (changedRun !== undefined && r.id !== changedRun && kept?.key === key) return kept.columns;
      const cols = r.data.columns(c.panel, this.view.x);
      const columns = downsample(cols.x, cols.lines.map((l) => l.y), lo, hi, width, cols.lines.map((l) => l.summary), c.panel.eval ? undefined : this.m4Cache(c, r));
      c.tables.set(r.id, { key, columns });
      return columns;
    });
    const joined = tables.length === 1 ? tables[0] : tables.length ? joinColumns(tables) : [[]] as unknown as Columns;
    let shown = [joined[0], ...c.order.map((i) => joined[i + 1])] as Columns;
    if (c.log) shown = shown.map((col, k) => (k === 0 ? col : col.map((v) => (v !== null && v > 0 ? v : null)))) as Columns;
    c.shown = shown;
    c.plot.setData(shown);
    const first = this.runs[0]?.data;
    const last = this.runs.length === 1 && first ? first.last(c.panel) : null; // one run: its newest value in the title
    const lastEl = c.el.querySelector<HTMLElement>('[data-last]');
    if (lastEl) lastEl.textContent = last === null ? '' : ` ${formatNumber(last)}`;
    c.el.dataset.points = String(this.runs.reduce((n, r) => n + r.data.points(c.panel), 0));
    c.el.dataset.drawn = String(shown[0].length);
    c.el.dataset.runs = String(this.runs.length);
    // an empty chart says why instead of drawing a bare 0-1 box
    const note = c.el.querySelector<HTMLElement>('[data-note]');
    if (note) note.textContent = this.runs.length && !this.runs.some((r) => r.data.logged(c.panel)) ? emptyNote(c.panel) : '';
  }

  /** The chart's kept M4 buckets of a run, emptied when the run's rows are of a newer generation. */
  private m4Cache(c: Chart, r: ChartRun): M4Cache {
    let cache = c.m4.get(r.id);
    if (!cache || cache.generation !== r.data.generation) { cache = { generation: r.data.generation, buckets: [] }; c.m4.set(r.id, cache); }
    return cache;
  }

  resize(): void {
    for (const c of this.charts) c.plot.setSize({ width: chartWidth(c.el), height: CHART_HEIGHT });
    this.draw(); // more pixels: more buckets
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
export function renderPanelPicker(view: Pick<ChartView, 'order' | 'hidden'>, onChange: (order: string[], hidden: string[]) => void, available?: Panel[]): void {
  const order = [...shownPanels({ order: view.order, hidden: [] }, available)].map((p) => p.key);
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
  $('progress').textContent = `step ${run.step}${total}${run.device ? ` · ${run.device}` : ''}${run.setup ? ` · ${run.setup}` : ''}`;
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
    const tr = el('tr');
    tr.append(...[it.prompt, it.response, labelText(it.label), formatNumber(it.reward)].map((text) => el('td', {}, text)));
    if (it.reward_errors) tr.title = Object.entries(it.reward_errors).map(([k, v]) => `${k}: ${v}`).join('\n');
    tr.className = it.reward > 0 ? 'good' : '';
    return tr;
  }));
}
