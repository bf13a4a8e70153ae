// The sample browser's data side, without the DOM (unit-tested in test/unit/samplesPage.test.ts): the
// query a page's inputs make, which rows of the windowed list to show and which to ask the host for,
// the texts of the count line, a row, a sample and a prompt's group, the reward histogram's bars and
// the per-token colours. render.ts builds the DOM from these; main.ts wires the messages and events.
import type { RewardHistogram, SampleFilter, SampleRecord, SampleSort, SampleSummary } from './protocol';
import { fixed, formatTicks } from '../shared/format';

export type Verdict = 'good' | 'bad' | null;
export type Row = SampleSummary & { verdict: Verdict };
export type GroupRow = Row & { over: number[]; under: number[] };

export const ROW_H = 26;
/** Browsers cap an element's height (Chromium near 33M px): past this the scroll position maps proportionally. */
export const MAX_SCROLL_PX = 8_000_000;
/** Rows asked for beyond the visible ones, each side. */
export const PAD = 40;

// ---- the query --------------------------------------------------------------------------------

/** The filter inputs' values as the page holds them (text fields as typed). */
export interface FilterInputs {
  stepMin: string; stepMax: string; rewardMin: string; rewardMax: string; search: string; rule: string;
  truncatedOnly: boolean;
  /** Unchecked: the slider's one step. */
  allSteps: boolean; slider: string;
}

/** A number field's value; undefined when empty or not a number. */
export function fieldNumber(v: string): number | undefined { return v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v); }

export function filterOf(i: FilterInputs): SampleFilter {
  const f: SampleFilter = { stepMin: fieldNumber(i.stepMin), stepMax: fieldNumber(i.stepMax), rewardMin: fieldNumber(i.rewardMin), rewardMax: fieldNumber(i.rewardMax) };
  if (!i.allSteps) f.stepMin = f.stepMax = Number(i.slider);
  if (i.search) f.text = i.search;
  if (i.rule) f.rule = i.rule;
  if (i.truncatedOnly) f.truncatedOnly = true;
  return f;
}

/** A click on a column head: the same key flips the order; another starts descending (step: ascending). */
export function nextSort(current: SampleSort, key: SampleSort['key']): SampleSort {
  return { key, desc: current.key === key ? !current.desc : key !== 'step' };
}

// ---- the windowed list ------------------------------------------------------------------------

/** The list's scale: 1 until the rows' full height passes MAX_SCROLL_PX, then the fraction that fits. */
export const scrollScale = (matched: number): number => Math.min(1, MAX_SCROLL_PX / Math.max(1, matched * ROW_H));

export interface ListView {
  /** The spacer's height (px). */
  spacerHeight: number;
  /** The rows [first, last) to show, and the rows' offset from the top (px). */
  first: number; last: number; offset: number;
}

/** Which rows a list of `height` px scrolled to `scrollTop` shows, of `matched`. */
export function listView(matched: number, height: number, scrollTop: number): ListView {
  const s = scrollScale(matched);
  const spacerHeight = Math.round(matched * ROW_H * s);
  const visible = Math.ceil(height / ROW_H) + 1;
  // scaled: the scroll position maps onto the first row proportionally, so the last rows stay reachable
  const first = s === 1 ? Math.floor(scrollTop / ROW_H) : Math.floor((scrollTop / Math.max(1, spacerHeight - height)) * Math.max(0, matched - visible + 1));
  const last = Math.min(matched, first + visible);
  return { spacerHeight, first, last, offset: s === 1 ? first * ROW_H : scrollTop };
}

/** What a list row shows, as a key (its position, the sample, whether it is selected, its label; `r` undefined: not fetched yet).
 *  The list keeps a row's element while its key stays the same. */
export function rowKey(pos: number, r: Row | undefined, selected: number): string {
  return r ? `${pos}:${r.row}:${r.row === selected ? 'sel' : ''}:${r.verdict ?? ''}` : `${pos}:pending`;
}

/** The window to ask the host for, of [start, end): from the first row neither cached nor pending, at most `max` rows; null when none is missing. */
export function windowToFetch(start: number, end: number, known: (row: number) => boolean, max: number): { start: number; count: number } | null {
  while (start < end && known(start)) start++;
  if (start >= end) return null;
  return { start, count: Math.min(max, end - start) };
}

/** The count line: rows matched (+ when the host stopped counting) of the run's samples. */
export function countText(matched: number, capped: boolean, total: number): string {
  return `${matched.toLocaleString('en-US')}${capped ? '+' : ''} of ${total.toLocaleString('en-US')} samples`;
}

// ---- following a growing run -------------------------------------------------------------------

/** What the page shows of the run's steps: one (the slider's) or all within the step fields' bounds. */
export interface StepView { allSteps: boolean; sliderStep: number; stepMin?: number; stepMax?: number }
/** On a grown run: move the slider to the new newest step, re-run the query where it keeps the list's place, or only redraw. */
export type GrowAction = { followTo: number } | 'refresh' | 'redraw';

/**
 * What the page does when the host says the run grew (`steps`: [step, samples] before and after). With
 * the slider on the step that was newest it moves to the new newest step. Otherwise, when a step the
 * page shows got samples (the newest step still being written, or a new step inside an all-steps range),
 * it re-runs the query so that the matched count and the rows include them; else only the total changed.
 */
export function onGrown(before: readonly (readonly [number, number])[], after: readonly (readonly [number, number])[], view: StepView): GrowAction {
  const newestBefore = before.length ? before[before.length - 1][0] : undefined;
  const newestAfter = after.length ? after[after.length - 1][0] : undefined;
  if (!view.allSteps && newestAfter !== undefined && newestBefore !== undefined && view.sliderStep === newestBefore && newestAfter > newestBefore) return { followTo: newestAfter };
  const had = new Map(before.map(([step, n]) => [step, n]));
  const shown = (step: number) => (view.allSteps ? (view.stepMin === undefined || step >= view.stepMin) && (view.stepMax === undefined || step <= view.stepMax) : step === view.sliderStep);
  return after.some(([step, n]) => n !== (had.get(step) ?? 0) && shown(step)) ? 'refresh' : 'redraw';
}

// ---- rows, samples, groups -----------------------------------------------------------------------

/** A row's rule scores (`name score, ...`) and its tooltip (with the failing ones). */
export function rulesText(r: Pick<SampleSummary, 'rewards' | 'failing'>): { text: string; title: string } {
  const text = Object.entries(r.rewards).map(([k, v]) => `${k} ${fixed(v, 2)}`).join(', ');
  return { text, title: text + (r.failing.length ? `\nfailing: ${r.failing.join(', ')}` : '') };
}

/** The sample detail's reward line: each rule's score, then the rules that failed to run. */
export function rewardsLine(r: Pick<SampleRecord, 'rewards' | 'reward_errors'>): string {
  return Object.entries(r.rewards).map(([k, v]) => `${k}: ${fixed(v)}`).join('   ')
    + (r.reward_errors ? `   errors: ${Object.entries(r.reward_errors).map(([k, v]) => `${k}: ${v}`).join('; ')}` : '');
}

export interface GroupCard { row: number; cls: '' | 'best' | 'worst'; heading: string; detail: string; prefs: string; response: string; button: string }

/** A prompt's group (best first) as cards: best and worst marked, saved preferences, the prefer button's state. */
export function groupCards(rows: GroupRow[], chosen: number): GroupCard[] {
  return rows.map((r, i) => {
    const cls = rows.length > 1 && i === 0 ? 'best' : rows.length > 1 && i === rows.length - 1 ? 'worst' : '';
    const prefs = [...r.over.map((k) => `preferred over #${k}`), ...r.under.map((k) => `#${k} preferred over this`)];
    return {
      row: r.row, cls, response: r.response,
      heading: `${cls ? cls + ': ' : ''}#${r.index} reward ${fixed(r.reward)} adv ${fixed(r.advantage)}`,
      detail: `${r.length} tokens${r.truncated ? ', truncated' : ''}${r.verdict ? `, ${r.verdict}` : ''}`,
      prefs: prefs.length ? `✓ ${prefs.join('; ')}` : '',
      button: chosen < 0 ? 'prefer this…' : chosen === r.row ? 'chosen (click another)' : 'over this one',
    };
  });
}

/** A click on a card's prefer button: the first picks (or unpicks) the chosen sample; the second saves the pair. */
export function preferClick(chosen: number, clicked: number): { chosen: number; prefer?: { chosen: number; rejected: number } } {
  if (chosen < 0 || chosen === clicked) return { chosen: chosen === clicked ? -1 : clicked };
  return { chosen: -1, prefer: { chosen, rejected: clicked } };
}

// ---- the reward histogram ------------------------------------------------------------------------

export interface HistogramBar { x: number; y: number; width: number; height: number; count: number; title: string }

/** The histogram's bars in a `width` x `height` box; each bar's title gives its reward range and count. */
export function histogramBars(h: RewardHistogram, width: number, height: number): HistogramBar[] {
  const n = h.counts.length, max = Math.max(...h.counts), bw = width / n;
  return h.counts.map((c, i) => {
    const a = h.lo + ((h.hi - h.lo) * i) / n, b = h.lo + ((h.hi - h.lo) * (i + 1)) / n;
    const bh = max ? Math.max(c ? 1 : 0, (c / max) * height) : 0;
    return { x: i * bw + 0.5, y: height - bh, width: Math.max(1, bw - 1), height: bh, count: c,
      title: n === 1 ? `reward ${fixed(h.lo)}: ${c}` : `reward ${fixed(a)} to ${fixed(b)}: ${c}` };
  });
}

/** The histogram's axes: reward ticks under the bars (both ends and the middle) and the tallest bar's count. */
export interface HistogramAxis { xTicks: { x: number; label: string }[]; yMax: number; yLabel: string }

export function histogramAxis(h: RewardHistogram, width: number): HistogramAxis {
  const values = h.hi > h.lo ? [h.lo, (h.lo + h.hi) / 2, h.hi] : [h.lo];
  const labels = formatTicks(values);
  const yMax = Math.max(0, ...h.counts);
  return {
    xTicks: values.map((v, i) => ({ x: h.hi > h.lo ? ((v - h.lo) / (h.hi - h.lo)) * width : width / 2, label: labels[i] })),
    yMax, yLabel: `${yMax.toLocaleString('en-US')} sample${yMax === 1 ? '' : 's'}`,
  };
}

// ---- per-token values ---------------------------------------------------------------------------

export type TokenMetric = 'logprobs' | 'ref_logprobs' | 'kl' | 'advantages' | 'entropy';
export const METRICS: readonly (readonly [TokenMetric, string])[] = [['logprobs', 'log-prob'], ['ref_logprobs', 'ref log-prob'], ['kl', 'KL'], ['advantages', 'advantage'], ['entropy', 'entropy']];

/** The largest |value| of a sample's per-token values: the colour scale's end. */
export const scaleMax = (values: readonly number[]): number => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** A token's background for its value: log-probs shade unlikely tokens red, entropy purple, KL and advantage green (+) or red (-). */
export function tokenColor(v: number, metric: TokenMetric, max: number): string {
  if (metric === 'logprobs' || metric === 'ref_logprobs') return `hsla(0,80%,50%,${Math.min(1, -v / Math.max(max, 1e-9)) * 0.8})`; // unlikely tokens red
  if (metric === 'entropy') return `hsla(270,70%,55%,${Math.min(1, v / Math.max(max, 1e-9)) * 0.8})`;
  const a = Math.min(1, Math.abs(v) / Math.max(max, 1e-9)) * 0.8;
  return v >= 0 ? `hsla(120,60%,40%,${a})` : `hsla(0,80%,50%,${a})`;
}

/** A token's tooltip: its position and text, then each recorded per-token value. */
export function tokenTitle(rec: SampleRecord, i: number): string {
  const parts = METRICS.filter(([k]) => Array.isArray(rec[k]) && rec[k][i] !== undefined).map(([k, n]) => `${n}: ${rec[k]![i]}`);
  return `token ${i}: ${JSON.stringify(rec.tokens![i])}\n${parts.join('\n')}`;
}

/** The colour scale of the shown per-token quantity: its numeric ends and the colours between them (left to right). */
export interface TokenLegend { name: string; lo: number; hi: number; labels: [string, string]; colors: string[]; note: string }

export function tokenLegend(metric: TokenMetric, max: number): TokenLegend {
  const name = METRICS.find(([k]) => k === metric)?.[1] ?? metric;
  const m = Math.max(max, 0);
  const [lo, hi, note] = metric === 'logprobs' || metric === 'ref_logprobs' ? [-m, 0, 'unlikely tokens red']
    : metric === 'entropy' ? [0, m, 'uncertain tokens purple'] : [-m, m, 'negative red, positive green'];
  const colors = (lo < 0 && hi > 0 ? [lo, lo / 2, 0, hi / 2, hi] : [lo, (lo + hi) / 2, hi]).map((v) => tokenColor(v, metric, m));
  const [a, b] = formatTicks([lo, hi]);
  return { name, lo, hi, labels: [a, b], colors, note };
}
