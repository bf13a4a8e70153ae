// The sample browser's DOM: the bar of filters, the windowed list's rows, the reward histogram (with
// its axes), one sample's detail with its per-token view (and its colour scale), and a prompt's group. What to show comes from data.ts;
// every workspace string goes in through textContent (el) or an attribute value.
import type { RewardHistogram, SampleRecord } from './protocol';
import { groupCards, histogramAxis, histogramBars, METRICS, rewardsLine, rulesText, scaleMax, tokenColor, tokenLegend, tokenTitle, type GroupRow, type Row, type TokenMetric, type Verdict } from './data';
import { el, labelled, svg } from '../shared/dom';
import { fixed } from '../shared/format';

/** The page's elements (ids are the e2e tests' selectors). */
export function mountLayout(app: HTMLElement, runId: string) {
  const bar = el('div', { id: 'bar' });
  const title = el('strong', {}, runId);
  const count = el('span', { id: 'count', class: 'muted' });
  /** The rewards of the matched samples (with the slider: the step's), as bars; each bar's title gives its range and count. */
  const hist = el('span', { id: 'histogram', title: 'rewards of the samples shown' });
  const slider = el('input', { id: 'slider', type: 'range', min: '1', max: '1', step: '1' });
  const sliderLabel = el('span', { id: 'slider-step' });
  const allSteps = el('input', { id: 'all-steps', type: 'checkbox' });
  const stepMin = el('input', { id: 'step-min', type: 'number', placeholder: 'from' });
  const stepMax = el('input', { id: 'step-max', type: 'number', placeholder: 'to' });
  const rewMin = el('input', { id: 'reward-min', type: 'number', step: 'any', placeholder: 'min' });
  const rewMax = el('input', { id: 'reward-max', type: 'number', step: 'any', placeholder: 'max' });
  const search = el('input', { id: 'search', type: 'search', placeholder: 'text in prompt or response' });
  const rule = el('select', { id: 'rule' });
  const trunc = el('input', { id: 'truncated', type: 'checkbox' });
  const exportBtn = el('button', { id: 'export-preferences', title: 'Write the labels as prompt/chosen/rejected JSONL (OpenRLHF / TRL reward-model and DPO format)' }, 'Export Preference Dataset');
  const trainRmBtn = el('button', { id: 'train-reward-model', title: 'Export the labels, then train a Bradley-Terry reward model on them (a run of its own)' }, 'Train Reward Model');
  bar.append(title, count, hist, labelled('step', slider, sliderLabel), labelled('all', allSteps), labelled('steps', stepMin, stepMax),
    labelled('reward', rewMin, rewMax), search, labelled('failing', rule), labelled('truncated', trunc), exportBtn, trainRmBtn);

  const head = el('div', { id: 'head', class: 'grid' });
  for (const [name, key] of [['step', 'step'], ['#', ''], ['prompt', ''], ['response', ''], ['reward', 'reward'], ['rules', ''], ['adv', 'advantage'], ['len', 'length'], ['trunc', ''], ['label', '']]) {
    head.append(el('span', key ? { 'data-sort': key } : {}, name));
  }
  const list = el('div', { id: 'list', tabindex: '0' });
  const spacer = el('div', { id: 'spacer' });
  const rowsEl = el('div', { id: 'rows' });
  list.append(spacer, rowsEl);
  const detail = el('div', { id: 'detail' });
  const group = el('div', { id: 'group' });
  /** What the last label or preference did, or why it was refused (stays until the next one). */
  const notice = el('div', { id: 'notice', role: 'status' });
  app.append(bar, head, list, detail, notice, group);
  return { count, hist, slider, sliderLabel, allSteps, stepMin, stepMax, rewMin, rewMax, search, rule, trunc, exportBtn, trainRmBtn, head, list, spacer, rowsEl, detail, group, notice };
}
export type Layout = ReturnType<typeof mountLayout>;

/** A placeholder for a row the host has not sent yet. */
export const pendingRowEl = (): HTMLElement => el('div', { class: 'row grid muted' }, '…');

export function rowEl(r: Row, pos: number, selected: boolean): HTMLElement {
  const d = el('div', { class: `row grid${selected ? ' sel' : ''}`, 'data-row': String(r.row), 'data-pos': String(pos) });
  const rules = rulesText(r);
  d.append(el('span', { class: 'num' }, String(r.step)), el('span', { class: 'num' }, String(r.index)), el('span', { title: r.prompt }, r.prompt),
    el('span', { title: r.response }, r.response), el('span', { class: 'num' }, fixed(r.reward)),
    el('span', { class: r.failing.length ? 'fail' : '', title: rules.title }, rules.text),
    el('span', { class: 'num' }, fixed(r.advantage)), el('span', { class: 'num' }, String(r.length)), el('span', {}, r.truncated ? 'yes' : ''),
    el('span', { class: r.verdict ?? '' }, r.verdict ?? ''));
  return d;
}

const HIST_W = 120, HIST_H = 22, TICK_H = 10;

/** The reward histogram: bars (each with its count), an x axis with reward ticks, and the tallest bar's count on the y axis. */
export function drawHistogram(box: HTMLElement, h: RewardHistogram | null): void {
  box.replaceChildren();
  if (!h) return;
  const axis = histogramAxis(h, HIST_W);
  const left = 4 + 5 * String(axis.yMax).length; // room for the y label
  const ticks = axis.xTicks;
  const chart = svg('svg', { width: left + HIST_W + 10, height: HIST_H + TICK_H + 3, role: 'img',
    'aria-label': `rewards of the samples shown, ${ticks[0].label} to ${ticks[ticks.length - 1].label}; the tallest bar ${axis.yLabel}` });
  const plot = svg('g', { transform: `translate(${left},1)` });
  for (const b of histogramBars(h, HIST_W, HIST_H)) {
    const r = svg('rect', { x: b.x, y: b.y, width: b.width, height: b.height, 'data-count': b.count });
    const t = svg('title');
    t.textContent = b.title;
    r.append(t);
    plot.append(r);
  }
  const text = (attrs: Record<string, string | number>, label: string) => { const t = svg('text', attrs); t.textContent = label; return t; };
  plot.append(svg('line', { class: 'axis', x1: 0, y1: HIST_H, x2: HIST_W, y2: HIST_H }), svg('line', { class: 'axis', x1: 0, y1: 0, x2: 0, y2: HIST_H }),
    text({ class: 'y-tick', x: -2, y: 7, 'text-anchor': 'end', 'data-y-max': axis.yMax }, String(axis.yMax)),
    text({ class: 'y-tick', x: -2, y: HIST_H, 'text-anchor': 'end' }, '0'));
  ticks.forEach((t, i) => {
    const anchor = ticks.length === 1 ? 'middle' : i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle';
    plot.append(svg('line', { class: 'axis', x1: t.x, y1: HIST_H, x2: t.x, y2: HIST_H + 2 }),
      text({ class: 'x-tick', x: t.x, y: HIST_H + TICK_H, 'text-anchor': anchor }, t.label));
  });
  const title = svg('title');
  title.textContent = `rewards of the samples shown (x) and how many fall in each bar (y: the tallest ${axis.yLabel})`;
  chart.append(title, plot);
  box.append(chart);
}

/** The colour scale of the shown per-token quantity, with its numeric ends (this sample's largest |value|). */
function tokenLegendEl(metric: TokenMetric, max: number): HTMLElement {
  const lg = tokenLegend(metric, max);
  const legend = el('div', { id: 'token-legend', class: 'muted', title: `${lg.name}: ${lg.note}; the scale's ends are this sample's largest |value|` });
  const bar = el('span', { class: 'legend-bar' });
  bar.style.background = `linear-gradient(to right, ${lg.colors.join(', ')})`;
  legend.append(el('span', {}, lg.name), el('span', { class: 'legend-lo num' }, lg.labels[0]), bar, el('span', { class: 'legend-hi num' }, lg.labels[1]));
  return legend;
}

function tokensView(rec: SampleRecord, metric: TokenMetric): HTMLElement {
  const box = el('div', { id: 'tokens' });
  if (!rec.tokens?.length) { box.append(el('p', { class: 'muted' }, 'No per-token data was recorded for this sample.')); return box; }
  const toggle = el('div', { id: 'metric' });
  for (const [key, name] of METRICS) {
    if (Array.isArray(rec[key])) toggle.append(el('button', { 'data-metric': key, 'aria-pressed': String(key === metric) }, name));
  }
  const values = rec[metric] ?? [];
  const max = scaleMax(values);
  const toks = el('div', { class: 'tokens' });
  rec.tokens.forEach((t, i) => {
    const s = el('span', { title: tokenTitle(rec, i), 'data-i': String(i) }, t);
    if (values[i] !== undefined) s.style.background = tokenColor(values[i], metric, max);
    toks.append(s);
  });
  box.append(toggle, ...(values.length ? [tokenLegendEl(metric, max)] : []), toks);
  return box;
}

export function showSample(detail: HTMLElement, s: { record: SampleRecord; verdict: Verdict } | null, metric: TokenMetric, readOnly: boolean): void {
  if (!s) { detail.replaceChildren(); return; }
  const r = s.record;
  const actions = el('div', { class: 'actions' });
  const btn = (text: string, attrs: Record<string, string>) => { const b = el('button', attrs, text); if (readOnly && attrs['data-label']) b.disabled = true; return b; };
  actions.append(btn('good', { 'data-label': 'good' }), btn('bad', { 'data-label': 'bad' }), btn('clear', { 'data-label': 'none' }),
    btn('show group', { 'data-action': 'group' }), btn('open prompt in dataset', { 'data-action': 'openPrompt' }),
    el('span', { class: s.verdict ?? 'muted', id: 'verdict' }, s.verdict ? `marked ${s.verdict}` : 'not labelled'));
  detail.replaceChildren(el('h3', {}, `step ${r.step}, sample ${r.index}: reward ${fixed(r.reward)}`), el('div', { class: 'muted' }, rewardsLine(r)), actions,
    el('div', { class: 'muted' }, 'prompt'), el('pre', { id: 'prompt' }, r.prompt), el('div', { class: 'muted' }, 'response'), el('pre', { id: 'response' }, r.response),
    tokensView(r, metric));
}

export function showGroup(group: HTMLElement, rows: GroupRow[], chosen: number, readOnly: boolean): void {
  if (!rows.length) { group.replaceChildren(); return; }
  const cards = el('div', { class: 'cards' });
  for (const c of groupCards(rows, chosen)) {
    const card = el('div', { class: `card${c.cls ? ' ' + c.cls : ''}`, 'data-row': String(c.row) });
    const b = el('button', { 'data-prefer': String(c.row) }, c.button);
    b.disabled = readOnly;
    card.append(el('strong', {}, c.heading), el('div', { class: 'muted' }, c.detail),
      ...(c.prefs ? [el('div', { class: 'saved-pref' }, c.prefs)] : []), el('pre', {}, c.response), b);
    cards.append(card);
  }
  group.replaceChildren(el('h3', {}, `the ${rows.length} samples of this prompt at step ${rows[0].step}, best first`), cards);
}
