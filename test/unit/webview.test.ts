// The dashboard's DOM-free parts: smoothing, y range, axis ticks and number formatting, and the
// webview's copy of the host's columns built from the chunks the host posts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, formatNumber, formatTicks } from '../../src/core/format';
import type { MetricsEvent } from '../../src/core/protocol';
import { RunModel } from '../../src/core/runModel';
import { DashboardData, PANELS, type Panel } from '../../webview/data';
import { yAxisWidth, yRange } from '../../webview/scale';
import { ema } from '../../webview/smoothing';

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
  assert.deepEqual(data.aligned(panel('reward'), 'samples', 0), [[8, 16, 24, 32], [0.1, 0.2, 0.3, null], [0.1, 0.2, 0.3, null]]);
  assert.deepEqual(data.aligned(panel('entropy'), 'step', 0.6).map((c) => c.length), [4, 4, 4]); // never logged: nulls
  assert.deepEqual(data.aligned(panel('eval'), 'samples', 0.6), [[4], [0.5], [null], [null]]); // evals: against step, unsmoothed
  assert.equal(data.last(panel('kl')), 0.02);
  assert.equal(data.last(panel('reward')), null);
  assert.equal(data.points(panel('eval')), 1);

  const smoothed = data.aligned(panel('kl'), 'step', 0.5);
  assert.deepEqual(smoothed[1], ema([null, null, 0.01, 0.02], 0.5));

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
