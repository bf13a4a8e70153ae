// Host <-> sample browser webview: one typed union each way, validated on receipt on both sides
// (the same style as protocol.ts). The host never sends the whole selection: the webview asks for
// windows of rows as it scrolls.
import type { RewardHistogram, SampleFilter, SampleSort, SampleSummary } from '../../src/core/samples/index';
import type { SampleRecord } from '../../src/core/samples/record';

export type { RewardHistogram, SampleFilter, SampleSort, SampleSummary, SampleRecord };
export type Verdict = 'good' | 'bad' | 'none';
/** Rows the host sends per window request at most. */
export const MAX_WINDOW = 500;

export interface SamplesInfo { runId: string; total: number; steps: [number, number][]; rules: string[]; rewardRange: [number, number] | null; readOnly: boolean }

export type SamplesHostToWebview =
  /** `focusFilter`: the filter to start with (an alert's: its truncated samples), else the page's own. */
  | { type: 'init'; info: SamplesInfo; focusStep: number | null; focusFilter?: { truncatedOnly?: boolean } }
  /** The run grew: new totals (the webview re-runs its query when it shows the newest step). */
  | { type: 'grown'; info: SamplesInfo }
  /** A query's answer: how many rows matched, and the histogram of their rewards (null: none). */
  | { type: 'result'; seq: number; matched: number; capped: boolean; histogram: RewardHistogram | null }
  | { type: 'rows'; seq: number; start: number; rows: (SampleSummary & { verdict: 'good' | 'bad' | null })[] }
  | { type: 'sample'; row: number; record: SampleRecord; verdict: 'good' | 'bad' | null }
  /** A prompt's samples; `over` / `under`: the sample indexes each was preferred over / under (saved preferences). */
  | { type: 'group'; row: number; rows: (SampleSummary & { verdict: 'good' | 'bad' | null; over: number[]; under: number[] })[] }
  /** A label was saved; after a preference, which pair (sample indexes of one step) it saved. */
  | { type: 'labeled'; row: number; verdict: 'good' | 'bad' | null; pairs: number; preferred?: { chosen: number; rejected: number; step: number } }
  | { type: 'error'; message: string };

export type SamplesWebviewToHost =
  | { type: 'ready' }
  | { type: 'query'; seq: number; filter: SampleFilter; sort: SampleSort }
  | { type: 'window'; seq: number; start: number; count: number }
  | { type: 'open'; row: number }
  | { type: 'group'; row: number }
  | { type: 'label'; row: number; verdict: Verdict }
  | { type: 'prefer'; chosen: number; rejected: number }
  | { type: 'openPrompt'; row: number }
  /** The bar's buttons: the labels as prompt/chosen/rejected JSONL, and a reward model trained on them. */
  | { type: 'exportPreferences' }
  | { type: 'trainRewardModel' };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isRow = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < 2 ** 32;
const optNum = (x: unknown) => x === undefined || isNum(x);
const SORT_KEYS: readonly string[] = ['step', 'reward', 'length', 'advantage'];

function isFilter(f: unknown): f is SampleFilter {
  return isObj(f) && optNum(f.stepMin) && optNum(f.stepMax) && optNum(f.rewardMin) && optNum(f.rewardMax)
    && (f.text === undefined || (typeof f.text === 'string' && f.text.length <= 1000))
    && (f.prompt === undefined || (typeof f.prompt === 'string' && f.prompt.length <= 1000))
    && (f.rule === undefined || (typeof f.rule === 'string' && f.rule.length <= 200))
    && (f.truncatedOnly === undefined || typeof f.truncatedOnly === 'boolean');
}
const isSort = (s: unknown): s is SampleSort => isObj(s) && typeof s.key === 'string' && SORT_KEYS.includes(s.key) && typeof s.desc === 'boolean';

export function isSamplesWebviewToHost(m: unknown): m is SamplesWebviewToHost {
  if (!isObj(m) || typeof m.type !== 'string') return false;
  switch (m.type) {
    case 'ready': case 'exportPreferences': case 'trainRewardModel': return true;
    case 'query': return isRow(m.seq) && isFilter(m.filter) && isSort(m.sort);
    case 'window': return isRow(m.seq) && isRow(m.start) && isRow(m.count) && (m.count) <= MAX_WINDOW;
    case 'open': case 'group': case 'openPrompt': return isRow(m.row);
    case 'label': return isRow(m.row) && (m.verdict === 'good' || m.verdict === 'bad' || m.verdict === 'none');
    case 'prefer': return isRow(m.chosen) && isRow(m.rejected) && m.chosen !== m.rejected;
    default: return false;
  }
}

const isInfo = (i: unknown): i is SamplesInfo => isObj(i) && typeof i.runId === 'string' && isRow(i.total) && Array.isArray(i.steps) && Array.isArray(i.rules) && typeof i.readOnly === 'boolean';
const isSummaries = (r: unknown) => Array.isArray(r) && r.every((s) => isObj(s) && isRow(s.row) && isNum(s.step) && typeof s.prompt === 'string' && typeof s.response === 'string' && isNum(s.reward) && isObj(s.rewards));

const isIndexes = (x: unknown) => Array.isArray(x) && x.length <= 10_000 && x.every(isRow);

const isHistogram = (h: unknown): h is RewardHistogram => isObj(h) && isNum(h.lo) && isNum(h.hi) && h.lo <= h.hi
  && Array.isArray(h.counts) && h.counts.length >= 1 && h.counts.length <= 200 && h.counts.every(isRow);

export function isSamplesHostToWebview(m: unknown): m is SamplesHostToWebview {
  if (!isObj(m) || typeof m.type !== 'string') return false;
  switch (m.type) {
    case 'init': return isInfo(m.info) && (m.focusStep === null || isNum(m.focusStep))
      && (m.focusFilter === undefined || (isObj(m.focusFilter) && (m.focusFilter.truncatedOnly === undefined || typeof m.focusFilter.truncatedOnly === 'boolean')));
    case 'grown': return isInfo(m.info);
    case 'result': return isRow(m.seq) && isRow(m.matched) && typeof m.capped === 'boolean' && (m.histogram === null || isHistogram(m.histogram));
    case 'rows': return isRow(m.seq) && isRow(m.start) && isSummaries(m.rows);
    case 'sample': return isRow(m.row) && isObj(m.record) && typeof m.record.response === 'string';
    case 'group': return isRow(m.row) && isSummaries(m.rows) && (m.rows as Record<string, unknown>[]).every((r) => isIndexes(r.over) && isIndexes(r.under));
    case 'labeled': return isRow(m.row) && isRow(m.pairs)
      && (m.preferred === undefined || (isObj(m.preferred) && isRow(m.preferred.chosen) && isRow(m.preferred.rejected) && isNum(m.preferred.step)));
    case 'error': return typeof m.message === 'string';
    default: return false;
  }
}
