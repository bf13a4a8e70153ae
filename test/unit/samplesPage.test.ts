// The sample browser page's data side (webview/samples/data.ts), without a browser: the query its
// inputs make, the windowed list's rows, following a growing run, the group's cards, the histogram's
// bars and the per-token colours.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  countText, filterOf, groupCards, histogramAxis, histogramBars, listView, MAX_SCROLL_PX, nextSort, onGrown, preferClick, ROW_H, rowKey, rulesText, tokenColor, tokenLegend, windowToFetch,
  type FilterInputs, type GroupRow,
} from '../../webview/samples/data';

const inputs: FilterInputs = { stepMin: '', stepMax: '', rewardMin: '', rewardMax: '', search: '', rule: '', truncatedOnly: false, allSteps: false, slider: '7' };

test('the filter: one step (the slider) unless all steps; empty or non-numeric fields are no bound', () => {
  assert.deepEqual(filterOf(inputs), { stepMin: 7, stepMax: 7, rewardMin: undefined, rewardMax: undefined });
  const all = filterOf({ ...inputs, allSteps: true, stepMin: ' 3 ', stepMax: 'x', rewardMin: '-0.5', search: 'cat', rule: 'fmt', truncatedOnly: true });
  assert.deepEqual(all, { stepMin: 3, stepMax: undefined, rewardMin: -0.5, rewardMax: undefined, text: 'cat', rule: 'fmt', truncatedOnly: true });
});

test('sorting: the same column flips; a new one starts descending, step ascending', () => {
  assert.deepEqual(nextSort({ key: 'step', desc: false }, 'reward'), { key: 'reward', desc: true });
  assert.deepEqual(nextSort({ key: 'reward', desc: true }, 'reward'), { key: 'reward', desc: false });
  assert.deepEqual(nextSort({ key: 'reward', desc: true }, 'step'), { key: 'step', desc: false });
});

test('the list shows the rows under the scroll position; past the height cap it maps proportionally', () => {
  const v = listView(1000, 10 * ROW_H, 50 * ROW_H);
  assert.deepEqual(v, { spacerHeight: 1000 * ROW_H, first: 50, last: 61, offset: 50 * ROW_H });
  assert.equal(listView(5, 10 * ROW_H, 0).last, 5);
  const huge = 10_000_000, h = 10 * ROW_H;
  const top = listView(huge, h, 0), bottom = listView(huge, h, MAX_SCROLL_PX - h);
  assert.equal(top.spacerHeight, MAX_SCROLL_PX);
  assert.equal(top.first, 0);
  assert.equal(bottom.last, huge, 'the last row is reachable');
  assert.equal(bottom.offset, MAX_SCROLL_PX - h);
});

test('a row\'s key changes with what it shows (position, sample, selection, label), so the list redraws only those', () => {
  const r = { row: 7, offset: 0, step: 1, index: 3, prompt: 'p', response: 'r', reward: 1, rewards: {}, failing: [], advantage: 0, length: 1, truncated: false, hasTokens: false, group: 0, verdict: null };
  const key = rowKey(2, r, -1);
  assert.equal(rowKey(2, { ...r }, 5), key, 'the same sample again (a new query over a grown run) keeps its key');
  const others = [rowKey(3, r, -1), rowKey(2, { ...r, row: 8 }, -1), rowKey(2, r, 7), rowKey(2, { ...r, verdict: 'good' as const }, -1), rowKey(2, undefined, -1)];
  assert.equal(new Set([key, ...others]).size, 6, others.join(' '));
});

test('a window asks from the first unknown row, at most the cap; none when all are known', () => {
  const known = new Set([0, 1, 2]);
  assert.deepEqual(windowToFetch(0, 10, (i) => known.has(i), 500), { start: 3, count: 7 });
  assert.deepEqual(windowToFetch(0, 2000, () => false, 500), { start: 0, count: 500 });
  assert.equal(windowToFetch(0, 3, (i) => known.has(i), 500), null);
});

test('the count line', () => {
  assert.equal(countText(1234, false, 56789), '1,234 of 56,789 samples');
  assert.equal(countText(10000, true, 20000), '10,000+ of 20,000 samples');
});

test('a grown run: the slider on the newest step follows the new one; on an older step only the total changes', () => {
  const before: [number, number][] = [[1, 8], [2, 8], [3, 8]];
  assert.deepEqual(onGrown(before, [...before, [4, 8]], { allSteps: false, sliderStep: 3 }), { followTo: 4 });
  assert.equal(onGrown(before, [...before, [4, 8]], { allSteps: false, sliderStep: 1 }), 'redraw');
});

test('a grown run: the matched count follows new samples of a step shown (it lagged: only the total moved)', () => {
  const before: [number, number][] = [[1, 8], [2, 8], [3, 4]];
  // all steps shown: every batch is in the query, so the query runs again (keeping the list's place)
  assert.equal(onGrown(before, [...before, [4, 8]], { allSteps: true, sliderStep: 3 }), 'refresh');
  // the newest step still being written while the slider shows it
  assert.equal(onGrown(before, [[1, 8], [2, 8], [3, 8]], { allSteps: false, sliderStep: 3 }), 'refresh');
  // a step range that ends before the new samples: nothing shown changed
  assert.equal(onGrown(before, [...before, [4, 8]], { allSteps: true, sliderStep: 3, stepMax: 3 }), 'redraw');
  assert.equal(onGrown(before, [...before, [4, 8]], { allSteps: true, sliderStep: 3, stepMin: 2 }), 'refresh');
  assert.equal(onGrown([], [[1, 8]], { allSteps: true, sliderStep: 1 }), 'refresh');
});

const g = (row: number, index: number, reward: number, extra: Partial<GroupRow> = {}): GroupRow => ({
  row, offset: 0, step: 4, index, prompt: 'p', response: `r${index}`, reward, rewards: {}, failing: [], advantage: null, length: 5,
  truncated: false, hasTokens: false, group: 0, verdict: null, over: [], under: [], ...extra,
});

test('a group: best and worst marked, saved preferences listed, the prefer button says what a click does', () => {
  const cards = groupCards([g(10, 0, 1, { over: [2] }), g(11, 1, 0.5, { truncated: true, verdict: 'bad' }), g(12, 2, 0, { under: [0] })], -1);
  assert.deepEqual(cards.map((c) => c.cls), ['best', '', 'worst']);
  assert.equal(cards[0].heading, 'best: #0 reward 1.000 adv –');
  assert.equal(cards[0].prefs, '✓ preferred over #2');
  assert.equal(cards[2].prefs, '✓ #0 preferred over this');
  assert.equal(cards[1].detail, '5 tokens, truncated, bad');
  assert.ok(cards.every((c) => c.button === 'prefer this…'));
  const picked = groupCards([g(10, 0, 1), g(11, 1, 0.5)], 11);
  assert.deepEqual(picked.map((c) => c.button), ['over this one', 'chosen (click another)']);
  assert.equal(groupCards([g(10, 0, 1)], -1)[0].cls, '', 'a group of one has no best or worst');
});

test('prefer clicks: pick, unpick, then a pair', () => {
  assert.deepEqual(preferClick(-1, 5), { chosen: 5 });
  assert.deepEqual(preferClick(5, 5), { chosen: -1 });
  assert.deepEqual(preferClick(5, 7), { chosen: -1, prefer: { chosen: 5, rejected: 7 } });
});

test('a row\'s rules text names the failing rules in its tooltip', () => {
  assert.deepEqual(rulesText({ rewards: { fmt: 1, len: 0.25 }, failing: ['len'] }), { text: 'fmt 1.00, len 0.25', title: 'fmt 1.00, len 0.25\nfailing: len' });
});

test('histogram bars: heights scale to the largest count, a non-empty bin is never invisible, titles give ranges', () => {
  const bars = histogramBars({ lo: 0, hi: 1, counts: [100, 0, 1, 50] }, 120, 22);
  assert.deepEqual(bars.map((b) => b.count), [100, 0, 1, 50]);
  assert.equal(bars[0].height, 22);
  assert.equal(bars[1].height, 0);
  assert.equal(bars[2].height, 1);
  assert.equal(bars[3].height, 11);
  assert.equal(bars[1].title, 'reward 0.250 to 0.500: 0');
  assert.equal(histogramBars({ lo: 2, hi: 2, counts: [3] }, 120, 22)[0].title, 'reward 2.000: 3');
});

test('token colours: log-probs shade unlikely tokens red, KL/advantage by sign, alpha by |value| over the scale', () => {
  assert.equal(tokenColor(-2, 'logprobs', 2), 'hsla(0,80%,50%,0.8)');
  assert.equal(tokenColor(-1, 'logprobs', 2), 'hsla(0,80%,50%,0.4)');
  assert.equal(tokenColor(1, 'advantages', 2), 'hsla(120,60%,40%,0.4)');
  assert.equal(tokenColor(-2, 'kl', 2), 'hsla(0,80%,50%,0.8)');
  assert.equal(tokenColor(1, 'entropy', 1), 'hsla(270,70%,55%,0.8)');
});

test('the reward histogram has axes: reward ticks at both ends and the middle, the tallest bar\'s count', () => {
  const a = histogramAxis({ lo: -1, hi: 1, counts: [3, 12, 0, 5] }, 120);
  assert.deepEqual(a.xTicks, [{ x: 0, label: '-1' }, { x: 60, label: '0' }, { x: 120, label: '1' }]);
  assert.equal(a.yMax, 12);
  assert.equal(a.yLabel, '12 samples');
  const one = histogramAxis({ lo: 0.5, hi: 0.5, counts: [1] }, 120);
  assert.deepEqual(one.xTicks, [{ x: 60, label: '0.5' }]);
  assert.equal(one.yLabel, '1 sample');
});

test('the per-token colour scale: numeric ends and the colours between them, for the quantity shown', () => {
  const kl = tokenLegend('kl', 0.25);
  assert.equal(kl.name, 'KL');
  assert.deepEqual([kl.lo, kl.hi, kl.labels], [-0.25, 0.25, ['-0.25', '0.25']]);
  assert.deepEqual(kl.colors, [tokenColor(-0.25, 'kl', 0.25), tokenColor(-0.125, 'kl', 0.25), tokenColor(0, 'kl', 0.25), tokenColor(0.125, 'kl', 0.25), tokenColor(0.25, 'kl', 0.25)]);
  const lp = tokenLegend('logprobs', 3.5);
  assert.deepEqual([lp.lo, lp.hi, lp.labels], [-3.5, 0, ['-3.5', '0']]);
  assert.equal(lp.colors[0], 'hsla(0,80%,50%,0.8)', 'the unlikely end is the strongest red');
  assert.equal(lp.colors[lp.colors.length - 1], 'hsla(0,80%,50%,0)');
  const ent = tokenLegend('entropy', 2);
  assert.deepEqual([ent.lo, ent.hi, ent.labels], [0, 2, ['0', '2']]);
});
