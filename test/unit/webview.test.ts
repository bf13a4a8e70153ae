// The dashboard's DOM-free parts: smoothing, y range, axis ticks and number formatting, and the
// webview's copy of the host's columns built from the chunks the host posts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downsample } from '../../src/core/downsample';
import { formatDuration, formatNumber, formatTicks, formatWhen } from '../../src/core/format';
import type { MetricsEvent } from '../../src/core/protocol';
import { RunModel } from '../../src/core/run/runModel';
import { DashboardData, emptyNote, PANELS, type Panel, type XAxis } from '../../src/core/charts/data';
import { logTickLabels, yAxisWidth, yRange } from '../../webview/dashboard/scale';
import { ema, EmaColumn } from '../../src/core/charts/smoothing';
import { hoverAt, valueAt } from '../../src/core/charts/hover';

const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('ema: weight 0 is the raw series; debiased from the first point; nulls stay null and do not reset it', () => {
  const raw = [1, 2, null, 4];
  assert.equal(ema(raw, 0), raw);
  const w = 0.5;
  const out = ema([2, null, 4, Number.NaN, 4], w);
  close(out[0], 2); // debiased: a lone first point is itself, not (1 - w) * 2
  assert.equal(out[1], null);
  close(out[2], (w * (1 - w) * 2 + (1 - w) * 4) / (1 - w ** 2));
  assert.equal(out[3], null);
  close(out[4], (w * w * (1 - w) * 2 + w * (1 - w) * 4 + (1 - w) * 4) / (1 - w ** 3));
  for (const v of ema([3, 3, 3, 3], 0.9)) close(v, 3); // a constant stays constant at any weight
});

test('yRange: 5% headroom; a flat series gets a band around its value, not 0..100; no data is 0..1', () => {
  assert.deepEqual(yRange(null, null), [0, 1]);
  assert.deepEqual(yRange(0, 10), [-0.5, 10.5]);
  assert.deepEqual(yRange(0, 0), [-0.01, 0.01]);
  const [lo, hi] = yRange(-2, -2);
  close(lo, -2.2); close(hi, -1.8);
  const [lo5, hi5] = yRange(5e-6, 5e-6);
  assert.ok(lo5 < 5e-6 && hi5 > 5e-6 && hi5 - lo5 < 2e-6, `${lo5}..${hi5}`);
  // a constant 30 smoothed is 30 +- float noise: still the band around 30 (uPlot cannot split 1e-14)
  const smoothed = ema(new Array<number>(200).fill(30), 0.6) as number[];
  const [los, his] = yRange(Math.min(...smoothed), Math.max(...smoothed));
  close(los, 27); close(his, 33);
  const [loa, hia] = yRange(1.9998e-4, 2e-4); // a slow lr decay is a trend, not noise
  close(loa, 1.9998e-4 - 1e-9); close(hia, 2e-4 + 1e-9);
});

test('yAxisWidth: 64 px as before for short labels, wider for the digits a slow lr decay needs', () => {
  assert.equal(yAxisWidth(null), 64);
  assert.equal(yAxisWidth(['0', '0.5', '1']), 64);
  const wide = formatTicks([1.9999e-4, 1.99995e-4, 2e-4]);
  assert.ok(yAxisWidth(wide) >= 16 + 8 * Math.max(...wide.map((l) => l.length)) && yAxisWidth(wide) > 64, wide.join(' '));
});

test('formatTicks: float noise of the axis arithmetic is not a tick of its own (a chart with one point at step 1010)', () => {
  assert.deepEqual(formatTicks([1009.5, 1010.0000001, 1010, 1010.5]), ['1009.5', '1010', '1010', '1010.5']);
  assert.deepEqual(formatTicks([1009, 1009.5, 1010.0000000001, 1010.5, 1011]), ['1009', '1009.5', '1010', '1010.5', '1011']);
});

test('formatTicks: short labels, never a label twice (the lr axis of a slow decay), each label reads its tick', () => {
  assert.deepEqual(formatTicks([0, 0.5, 1, 1.5]), ['0', '0.5', '1', '1.5']);
  assert.deepEqual(formatTicks([5e-6, 1e-5, 1.5e-5]), ['5.0e-6', '1.0e-5', '1.5e-5']);
  assert.deepEqual(formatTicks([100000, 200000]), ['1.0e+5', '2.0e+5']);
  const cases = [
    [1.9999e-4, 1.99995e-4, 2e-4, 2.00005e-4], // an lr within 0.01% of 2e-4: '2.0e-4' four times before
    [1.95e-4, 2e-4, 2.05e-4],
    [1.0001, 1.0002, 1.0003],
    [0.2 + 0.1, 0.4, 0.5], // 0.30000000000000004 reads 0.3
  ];
  for (const ticks of cases) {
    const labels = formatTicks(ticks);
    assert.equal(new Set(labels).size, ticks.length, labels.join(' '));
    ticks.forEach((v, i) => assert.ok(Math.abs(Number(labels[i]) - v) <= Math.abs(v) * 1e-4, `${labels[i]} for ${v}`));
    assert.ok(labels.every((l) => l.length <= 10), labels.join(' '));
  }
});

test('formatNumber: one read-out for dashboard, status bar and CLI; formatDuration for ETAs', () => {
  assert.equal(formatNumber(null), '--');
  assert.equal(formatNumber(undefined), '--');
  assert.equal(formatNumber(Number.NaN), '--');
  assert.equal(formatNumber(0), '0.0000');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(0.123456, 3), '0.123');
  assert.equal(formatNumber(-0.5, 3), '-0.500');
  assert.equal(formatNumber(5e-6), '5.00e-6');
  assert.equal(formatNumber(123.456), '123.5');
  assert.equal(formatNumber(2.5e5), '2.50e+5');
  assert.deepEqual([null, 42.4, 187, 7500].map(formatDuration), ['--', '42s', '3m07s', '2h05m']);
});

const metrics = (step: number, values: Record<string, number | null>): MetricsEvent =>
  ({ v: 1, type: 'metrics', time: 1000 + step, step, samples_seen: step * 8, values });
const panel = (key: string): Panel => PANELS.find((p) => p.key === key)!;

test('the webview rebuilds the host columns from reset + append chunks, keys appearing late included', () => {
  const host = new RunModel();
  const data = new DashboardData();
  host.ingest([metrics(1, { reward_mean: 0.1 }), metrics(2, { reward_mean: 0.2 })]);
  data.reset(host.metrics.slice(0), host.evals.slice(0));
  let sent = host.metrics.length;
  // kl first appears at step 3; reward_mean is missing at step 4; an eval arrives
  host.ingest([metrics(3, { reward_mean: 0.3, kl: 0.01 }), metrics(4, { kl: 0.02 }),
    { v: 1, type: 'eval', time: 1004, step: 4, values: { 'eval_pass@1': 0.5 } }]);
  data.append(host.metrics.slice(sent), host.evals.slice(0));
  sent = host.metrics.length;
  data.append(host.metrics.slice(sent), null); // an append with no new rows changes nothing

  assert.deepEqual(data.metrics.step, host.metrics.step);
  assert.deepEqual(data.metrics.values, { reward_mean: [0.1, 0.2, 0.3, null], kl: [null, null, 0.01, 0.02] });
  const cols = (p: string, x: XAxis) => { const c = data.columns(panel(p), x); return [Array.from(c.x), ...c.lines.map((l) => l.y)]; };
  data.setSmoothing(0);
  assert.deepEqual(cols('reward', 'samples'), [[8, 16, 24, 32], [0.1, 0.2, 0.3, null]]); // no smoothing: the raw line only
  data.setSmoothing(0.6);
  assert.deepEqual(cols('entropy', 'step'), [[1, 2, 3, 4], [], []]); // never logged: nothing to draw, no column of nulls
  assert.deepEqual(cols('eval', 'samples'), [[32], [0.5], [], []]); // evals: unsmoothed, where the metrics put their step
  assert.equal(data.last(panel('kl')), 0.02);
  assert.equal(data.last(panel('reward')), null);
  assert.equal(data.points(panel('eval')), 1);

  data.setSmoothing(0.5);
  const smoothed = cols('kl', 'step');
  assert.deepEqual(smoothed[1], ema([null, null, 0.01, 0.02], 0.5));
  assert.deepEqual(smoothed[2], [null, null, 0.01, 0.02]); // the raw series, drawn faintly under it

  // a resumed run re-reports steps 3..4: the newest rows replace them, as in the host
  host.ingest([metrics(3, { reward_mean: 0.35 }), metrics(4, { reward_mean: 0.45 })]);
  data.append(host.metrics.slice(2), null);
  assert.deepEqual(data.metrics.step, [1, 2, 3, 4]);
  assert.deepEqual(data.metrics.values, host.metrics.values);
  assert.deepEqual(data.metrics.values.reward_mean, [0.1, 0.2, 0.35, 0.45]);

  data.reset(host.metrics.slice(2), host.evals.slice(1)); // reset replaces, never appends
  assert.deepEqual(data.metrics.step, [3, 4]);
  assert.equal(data.points(panel('eval')), 0);
});

test('incremental EMA over appended chunks equals the EMA of the full series, and restarts when rows are rewritten', () => {
  const values: (number | null)[] = Array.from({ length: 1000 }, (_, i) => (i % 17 === 0 ? null : Math.sin(i / 7) + (i % 5)));
  for (const w of [0.3, 0.6, 0.99]) {
    const col = new EmaColumn(w);
    const grown: (number | null)[] = [];
    for (let from = 0; from < values.length; from += 37) {
      grown.push(...values.slice(from, from + 37));
      col.update(grown, from);
    }
    assert.deepEqual(col.out, ema(values, w));
    grown.length = 500; grown.push(42, 43); // a resumed run rewrote rows 500..
    col.update(grown, 500);
    assert.deepEqual(col.out, ema(grown, w));
  }
  // the dashboard's smoothed lines stay equal to a full EMA across live appends
  const host = new RunModel();
  const data = new DashboardData();
  data.setSmoothing(0.6);
  data.reset(host.metrics.slice(0), host.evals.slice(0));
  let sent = 0;
  for (let step = 1; step <= 300; step++) {
    host.ingest([metrics(step, { reward_mean: step % 3 ? Math.cos(step) : null, kl: 0.01 * step })]);
    if (step % 7 === 0) { data.append(host.metrics.slice(sent), null); sent = host.metrics.length; }
  }
  data.append(host.metrics.slice(sent), null);
  assert.deepEqual(data.columns(panel('reward'), 'step').lines[0].y, ema(host.metrics.values.reward_mean, 0.6));
});

test('x axes: samples, generated tokens, wall time and cumulative KL (running sum of per-step kl, negatives add 0)', () => {
  const host = new RunModel();
  const ev = (step: number, samples: number, time: number, values: Record<string, number | null>): MetricsEvent =>
    ({ v: 1, type: 'metrics', time, step, samples_seen: samples, values });
  host.ingest([
    ev(1, 8, 100, { kl: 0.5, response_length_mean: 10 }),
    ev(2, 16, 102.5, { kl: -0.25, response_length_mean: 20 }), // a k1 batch estimate below 0: adds nothing
  ]);
  const data = new DashboardData();
  data.reset(host.metrics.slice(0), host.evals.slice(0));
  host.ingest([
    ev(3, 32, 110, { kl: null, response_length_mean: null }),   // not logged: adds nothing
    ev(4, 40, 111, { kl: 1.5, response_length_mean: 4 }),
  ]);
  data.append(host.metrics.slice(2), null); // derived axes grow with appends
  assert.deepEqual(Array.from(data.x('step')), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(data.x('samples')), [8, 16, 32, 40]);
  assert.deepEqual(Array.from(data.x('kl')), [0.5, 0.5, 0.5, 2]);
  assert.deepEqual(Array.from(data.x('tokens')), [80, 80 + 160, 240, 240 + 32]); // response_length_mean x samples of the step
  assert.deepEqual(Array.from(data.x('time')), [0, 2.5, 10, 11]);
  // a resumed run rewrites step 4: the sums are redone from there
  host.ingest([ev(4, 40, 111, { kl: 0.25, response_length_mean: 1 })]);
  data.append(host.metrics.slice(3), null);
  assert.deepEqual(Array.from(data.x('kl')), [0.5, 0.5, 0.5, 0.75]);
  assert.deepEqual(Array.from(data.x('tokens')), [80, 240, 240, 248]);
  // an eval sits where the metrics put its step
  host.ingest([{ v: 1, type: 'eval', time: 111, step: 2, values: { 'eval_pass@1': 0.5 } }]);
  data.append(host.metrics.slice(4), host.evals.slice(0));
  assert.deepEqual(Array.from(data.columns(panel('eval'), 'kl').x), [0.5]);
  assert.deepEqual(Array.from(data.columns(panel('eval'), 'tokens').x), [240]);
});

test('the x range every chart shows holds the evals too: the eval at step 0 (before any update; a continuation\'s from its parent) is not cut off', () => {
  const host = new RunModel();
  const ev = (step: number): MetricsEvent => ({ v: 1, type: 'metrics', time: step, step, samples_seen: step * 8, values: { reward_mean: step / 10 } });
  host.ingest([{ v: 1, type: 'eval', time: 0, step: 0, values: { eval_reward_mean: 0.3 } }, ...[1, 2, 3, 11, 12, 13].map(ev)]);
  const data = new DashboardData();
  data.reset(host.metrics.slice(0), host.evals.slice(0));
  assert.deepEqual(data.xExtent('step'), [0, 13]);
  assert.deepEqual(data.xExtent('samples'), [8, 104]); // on other axes an eval sits at its step's metrics row
  host.ingest([{ v: 1, type: 'eval', time: 20, step: 20, values: { eval_reward_mean: 0.4 } }]); // an eval past the last metrics row
  data.append(host.metrics.slice(6), host.evals.slice(1));
  assert.deepEqual(data.xExtent('step'), [0, 20]);
  const none = new DashboardData();
  assert.equal(none.xExtent('step'), null);
  const first = new RunModel();
  first.ingest([{ v: 1, type: 'eval', time: 0, step: 0, values: { eval_reward_mean: 0.3 } }]);
  none.reset(first.metrics.slice(0), first.evals.slice(0));
  assert.deepEqual(none.xExtent('step'), [0, 0]); // only the step-0 eval so far
});

test('a panel\'s title value is its first logged key\'s value in the newest row: a verl eval (eval_reward_mean only) has one', () => {
  const host = new RunModel();
  host.ingest([{ v: 1, type: 'eval', time: 0, step: 0, values: { eval_reward_mean: 0.3 } }, metrics(1, { reward_mean: 0.1, kl: 0.2 }), metrics(2, { reward_mean: 0.2 }),
    { v: 1, type: 'eval', time: 5, step: 5, values: { eval_reward_mean: 0.45 } }]);
  const data = new DashboardData();
  data.reset(host.metrics.slice(0), host.evals.slice(0));
  assert.equal(data.last(panel('eval')), 0.45);
  assert.equal(data.last(panel('reward')), 0.2);
  assert.equal(data.last(panel('entropy')), null);
  const own = new RunModel();
  own.ingest([{ v: 1, type: 'eval', time: 0, step: 0, values: { 'eval_pass@1': 0.5, eval_reward_mean: 0.7 } }]);
  data.reset(own.metrics.slice(0), own.evals.slice(0));
  assert.equal(data.last(panel('eval')), 0.5); // the panel's first key wins where both are logged
});

test('a live append marks only the panels whose series got values', () => {
  const data = new DashboardData();
  data.reset(new RunModel().metrics.slice(0), new RunModel().evals.slice(0));
  const host = new RunModel();
  host.ingest([metrics(1, { reward_mean: 0.1, kl: 0.1 })]);
  const first = data.append(host.metrics.slice(0), null);
  assert.ok(data.touches(panel('kl'), first) && data.touches(panel('reward'), first));
  host.ingest([metrics(2, { reward_mean: 0.2 })]);
  const second = data.append(host.metrics.slice(1), null);
  assert.deepEqual(PANELS.filter((p) => data.touches(p, second)).map((p) => p.key), ['reward']);
});

test('logTickLabels: a log axis labels powers of ten (or 1-2-5 within one decade), each once, the rest blank', () => {
  const decades = [1e-3, 2e-3, 3e-3, 5e-3, 9e-3, 1e-2, 2e-2, 5e-2, 1e-1];
  assert.deepEqual(logTickLabels(decades), ['1.0e-3', '', '', '', '', '0.01', '', '', '0.1']);
  assert.deepEqual(logTickLabels([20, 30, 40, 50, 60]), ['20', '', '', '50', '']);
  assert.deepEqual(logTickLabels([]), []);
});

test('live appends keep the dashboard\'s block summaries exact: the summarised draw equals direct M4; a click maps x to its step', () => {
  const data = new DashboardData();
  data.setSmoothing(0.6);
  const rows = (from: number, n: number) => ({ step: Array.from({ length: n }, (_, i) => from + i + 1), samples: Array.from({ length: n }, (_, i) => (from + i + 1) * 4),
    time: Array.from({ length: n }, (_, i) => from + i), values: { reward_mean: Array.from({ length: n }, (_, i) => ((from + i) * 7919 % 1000) / 1000), kl: Array.from({ length: n }, () => 0.5) } });
  data.reset(rows(0, 20_000), { step: [], samples: [], time: [], values: {} });
  const reward = PANELS.find((p) => p.key === 'reward')!;
  data.columns(reward, 'step'); // summaries are built when a panel is first drawn
  for (let k = 0; k < 50; k++) data.append(rows(20_000 + k, 1), null);
  const cols = data.columns(reward, 'step');
  assert.ok(cols.lines.every((l) => l.summary && l.summary.rows === l.y.length), 'every metric line has an up-to-date summary');
  const ys = cols.lines.map((l) => l.y);
  assert.deepEqual(downsample(cols.x, ys, 1, 20_050, 300, cols.lines.map((l) => l.summary)), downsample(cols.x, ys, 1, 20_050, 300));
  // a resumed run re-reports steps: the rewritten rows are summarised again
  data.append({ ...rows(10_000, 5), values: { reward_mean: [9, 9, 9, 9, 9], kl: [0.5, 0.5, 0.5, 0.5, 0.5] } }, null);
  const again = data.columns(reward, 'step');
  assert.equal(again.x.length, 10_005);
  assert.deepEqual(downsample(again.x, again.lines.map((l) => l.y), 1, 10_005, 300, again.lines.map((l) => l.summary)), downsample(again.x, again.lines.map((l) => l.y), 1, 10_005, 300));
  // cumulative KL: 0.5 a step, so x = 100.4 lies between step 200 (x 100) and 201: the click is about step 200
  assert.equal(data.pointAt(reward, 'kl', 100.4)?.step, 200);
  assert.equal(data.pointAt(reward, 'step', 1.9)?.step, 1, 'a click just right of the first point is about the first step');
  assert.equal(data.pointAt(reward, 'step', -5)?.step, 1);
  assert.deepEqual(data.pointAt(reward, 'step', 1e9), { row: 10_004, step: 10_005 });
});

test('an empty chart says why: the held-out eval names the config keys it needs, other panels the keys not logged', () => {
  const panel = (key: string) => PANELS.find((p) => p.key === key)!;
  assert.match(emptyNote(panel('eval')), /data\.eval_prompts/);
  assert.equal(emptyNote(panel('kl')), 'nothing logged yet: kl');
});

test('hover read-out of overlaid runs: every run\'s value at the cursor (not only the first run\'s), by swatch, the full text in the title', () => {
  const NO_EVALS = { step: [], samples: [], time: [], values: {} };
  const chunk = (steps: number[], values: Record<string, (number | null)[]>) => ({ step: steps, samples: steps.map((s) => s * 8), time: steps, values });
  const a = new DashboardData(), b = new DashboardData();
  a.setSmoothing(0); b.setSmoothing(0);
  const sa = Array.from({ length: 10 }, (_, i) => i + 1), sb = Array.from({ length: 10 }, (_, i) => 2 * (i + 1));
  a.reset(chunk(sa, { reward_mean: sa.map((s) => s / 10), kl: sa.map(() => 0.1) }), NO_EVALS);
  // b logs every other step; its KL only at steps 2, 6 and 10
  b.reset(chunk(sb, { reward_mean: sb.map((s) => -s), kl: sb.map((s) => (s === 2 ? 2 : s === 6 ? 6 : s === 10 ? 10 : null)) }), NO_EVALS);
  const runs = [{ id: 'a', label: 'kl=0.001', color: '#4477AA', data: a }, { id: 'b', label: 'continued from a@4', color: '#EE6677', data: b }];
  const reward = PANELS.find((p) => p.key === 'reward')!, kl = PANELS.find((p) => p.key === 'kl')!;
  // x = 5: a's step 5; b has no step 5, its value at or before it is step 4's
  const h = hoverAt(reward, 'step', 5, runs);
  assert.equal(h.head, 'step 5');
  assert.deepEqual(h.entries.map((e) => [e.id, e.color, e.values]), [['a', '#4477AA', '0.5000'], ['b', '#EE6677', '-4.0000']]);
  assert.equal(h.text, 'step 5: kl=0.001 0.5000 · continued from a@4 -4.0000');
  assert.equal(h.title, 'step 5\nkl=0.001: reward_mean 0.5000\ncontinued from a@4: reward_mean -4.0000');
  // past a run's last step it has no value; a key logged every few steps reads its last value while its line goes on
  assert.deepEqual(hoverAt(reward, 'step', 15, runs).entries.map((e) => e.values), ['—', '-14.0000']);
  assert.deepEqual(hoverAt(kl, 'step', 9, runs).entries.map((e) => e.values), ['0.1000', '6.0000']);
  assert.deepEqual(hoverAt(kl, 'step', 14, runs).entries.map((e) => e.values), ['—', '—'], 'b\'s KL line ends at step 10');
  assert.equal(hoverAt(reward, 'step', 11, runs).entries[0].values, '1.0000', 'a row apart from the last step still reads it');
  assert.equal(valueAt([1, 2, 3], [1, 2, 3], 0.5), null, 'before the first row');
  // a lone run: its lines by name, as before; smoothed, the EMA and the raw value
  a.setSmoothing(0.6);
  const lone = hoverAt(reward, 'step', 5, [{ id: 'a', label: 'a', color: null, data: a }]);
  assert.match(lone.text, /^step 5: reward_mean \(EMA\) [\d.]+ · reward_mean \(raw\) 0\.5000$/);
  assert.equal(lone.title, lone.text);
  // a panel of several keys names them once in the head
  const rm = PANELS.find((p) => p.key === 'rm_rewards')!;
  assert.equal(hoverAt(rm, 'step', 5, runs).head, 'step 5 (rm_chosen / rm_rejected)');
  assert.deepEqual(hoverAt(rm, 'step', 5, runs).entries.map((e) => e.values), ['— / —', '— / —']);
});

test('formatWhen: a checkpoint row names the time today, month and day this year, the date before', () => {
  const now = new Date(2026, 11, 7, 15, 30);
  assert.equal(formatWhen(new Date(2026, 11, 7, 9, 5), now), '09:05');
  assert.equal(formatWhen(new Date(2026, 10, 25, 23, 59), now), 'Nov 25 23:59');
  assert.equal(formatWhen(new Date(2025, 0, 3, 8, 0), now), '2025-01-03');
});
