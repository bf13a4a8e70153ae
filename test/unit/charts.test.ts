// Charts that never hide a spike (M4 downsampling), the SVG and CSV exports and the export message.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { csvField, metricsCsv, runsCsv } from '../../src/core/csv';
import { downsample, m4Rows, visibleRows } from '../../src/core/downsample';
import { parseEventLine, type MetricsEvent } from '../../src/core/protocol';
import { isWebviewToHost } from '../../webview/dashboard/protocol';
import { RunModel, SeriesColumns } from '../../src/core/run/runModel';
import { chartSvg, niceTicks } from '../../src/core/charts/svg';
import { tempDir } from '../helpers';

/** A deterministic noise source, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

test('M4: per bucket the first, last, min and max points survive; at most 4 per bucket; x order', () => {
  const r = rng(1);
  const n = 100_003, buckets = 97;
  const x = Float64Array.from({ length: n }, (_, i) => i * 0.5 + (i > 50_000 ? 7 : 0)); // a gap in x too
  const y = Array.from({ length: n }, (_, i): number | null => (i % 101 === 0 ? null : r() * 2 - 1));
  const [xMin, xMax] = [x[0], x[n - 1]];
  const rows = m4Rows(x, y, 0, n, xMin, xMax, buckets);
  assert.ok(rows.length <= 4 * buckets, `${rows.length}`);
  for (let k = 1; k < rows.length; k++) assert.ok(rows[k] > rows[k - 1], 'ascending, no repeats');
  // the reference: every bucket's extremes, found the slow way
  const bucketOf = (i: number) => Math.min(buckets - 1, Math.floor(((x[i] - xMin) * buckets) / (xMax - xMin)));
  const kept = new Set(rows);
  const seen = new Map<number, { first: number; last: number; min: number; max: number }>();
  for (let i = 0; i < n; i++) {
    const v = y[i]; if (v === null) continue;
    const b = bucketOf(i); const s = seen.get(b);
    if (!s) { seen.set(b, { first: i, last: i, min: v, max: v }); continue; }
    s.last = i; s.min = Math.min(s.min, v); s.max = Math.max(s.max, v);
  }
  for (const [b, s] of seen) {
    assert.ok(kept.has(s.first) && kept.has(s.last), `bucket ${b} first/last`);
    const mine = Array.from(rows).filter((i) => bucketOf(i) === b).map((i) => y[i] as number);
    assert.equal(Math.min(...mine), s.min, `bucket ${b} min`);
    assert.equal(Math.max(...mine), s.max, `bucket ${b} max`);
  }
  assert.ok(Array.from(rows).every((i) => y[i] !== null), 'nulls are never drawn');
});

test('M4: a single-point spike in 10,000,000 points is in the output, zoomed out and zoomed in', () => {
  const n = 10_000_000;
  const x = new Float64Array(n), y = new Float64Array(n);
  const r = rng(7);
  for (let i = 0; i < n; i++) { x[i] = i + 1; y[i] = r() * 0.01; }
  const spike = 6_543_210, dip = 123_457;
  y[spike] = 50; y[dip] = -50;
  const all = downsample(x, [y], 1, n, 800);
  assert.ok(all[0].length <= 4 * 800 + 2, `${all[0].length}`);
  assert.ok(all[1].includes(50) && all[1].includes(-50), 'the spike and the dip are drawn');
  assert.ok(all[0].includes(spike + 1));
  const zoomed = downsample(x, [y], spike - 1000, spike + 5000, 640); // zoomed in: the visible rows only
  assert.ok(zoomed[1].includes(50));
  assert.ok(zoomed[0][0] <= spike - 1000 && zoomed[0][0] >= spike - 1002, 'one row before the left edge');
  assert.ok(zoomed[0][zoomed[0].length - 1] >= spike + 5000 && zoomed[0].length <= 4 * 640 + 2);
});

test('downsample: equal x ranges, several series share one x column, an empty range', () => {
  assert.deepEqual(visibleRows([1, 2, 2, 2, 3], 2, 2), [1, 4]);
  const x = [1, 2, 2, 2, 3];
  assert.deepEqual(downsample(x, [[5, 1, 9, 4, 6]], 2, 2, 10), [[1, 2, 2, 2, 3], [5, 1, 9, 4, 6]]); // a zero-width range is one bucket
  const one = downsample([7], [[3]], 7, 7, 100);
  assert.deepEqual(one, [[7], [3]]);
  const two = downsample([1, 2, 3, 4], [[1, null, 3, 4], [null, 2, null, null]], 1, 4, 100);
  assert.deepEqual(two, [[1, 2, 3, 4], [1, null, 3, 4], [null, 2, null, null]]);
  assert.deepEqual(downsample([], [[]], 0, 1, 10), [[], []]);
  assert.deepEqual(downsample([1, 2, 3], [[1, 2, 3]], 10, 20, 10), [[3], [3]]); // past the end: the last row, as the line's left edge
});

test('CSV: the metrics columns of a run read back equal to the events file they came from (RFC 4180)', () => {
  const dir = tempDir('csv');
  const file = path.join(dir, 'events.jsonl');
  const lines: string[] = [];
  for (let step = 1; step <= 50; step++) {
    const values: Record<string, number | null> = { reward_mean: Math.sin(step) / 3, 'reward/has,comma': step * 1e-7, 'quote"key': step % 4 ? 1 / step : null };
    if (step > 10) values.kl = step * 0.001;
    lines.push(JSON.stringify({ v: 1, type: 'metrics', time: 1.7e9 + step * 1.25, step, samples_seen: step * 8, values }));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const model = new RunModel();
  model.ingest(fs.readFileSync(file, 'utf8').split('\n').map(parseEventLine).filter((e) => e !== undefined));
  const text = metricsCsv(model.metrics);
  fs.rmSync(dir, { recursive: true, force: true });

  const rows = parseCsv(text);
  assert.deepEqual(rows[0], ['step', 'samples_seen', 'time', 'reward_mean', 'reward/has,comma', 'quote"key', 'kl']);
  assert.ok(text.endsWith('\r\n') && text.split('\r\n')[0] === 'step,samples_seen,time,reward_mean,"reward/has,comma","quote""key",kl');
  const events = lines.map((l) => JSON.parse(l) as MetricsEvent);
  assert.equal(rows.length - 1, events.length);
  events.forEach((e, i) => {
    const row = rows[i + 1];
    assert.equal(Number(row[0]), e.step); assert.equal(Number(row[1]), e.samples_seen); assert.equal(Number(row[2]), e.time);
    rows[0].slice(3).forEach((key, k) => {
      const want = e.values[key];
      assert.equal(row[3 + k] === '' ? null : Number(row[3 + k]), want === undefined ? null : want, `step ${e.step} ${key}`);
    });
  });
  assert.equal(csvField('a\nb'), '"a\nb"');
});

test('CSV of an overlay: every run\'s rows under a run column, the keys of all runs', () => {
  const a = new SeriesColumns(), b = new SeriesColumns();
  for (let step = 1; step <= 3; step++) a.push(step, step * 8, 100 + step, { reward_mean: step / 10, kl: step * 0.01 });
  for (let step = 2; step <= 4; step++) b.push(step, step * 4, 200 + step, { reward_mean: -step, 'grad,norm': step });
  const text = runsCsv([{ run: 'grpo-1', cols: a }, { run: 'rloo,"2"', cols: b }]);
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], ['run', 'step', 'samples_seen', 'time', 'reward_mean', 'kl', 'grad,norm']);
  assert.deepEqual(rows.slice(1).map((r) => r[0]), ['grpo-1', 'grpo-1', 'grpo-1', 'rloo,"2"', 'rloo,"2"', 'rloo,"2"']);
  assert.deepEqual(rows[1], ['grpo-1', '1', '8', '101', '0.1', '0.01', '']);
  assert.deepEqual(rows[6], ['rloo,"2"', '4', '16', '204', '-4', '', '4']);
  assert.ok(text.endsWith('\r\n'));
  // a run with no rows yet adds nothing but its keys
  assert.equal(parseCsv(runsCsv([{ run: 'a', cols: a }, { run: 'empty', cols: new SeriesColumns() }])).length, 4);
});

/** RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += c;
  }
  return rows;
}

test('SVG export: a polyline per series from the downsampled columns, distinct tick labels, escaped titles', () => {
  const svg = chartSvg({ title: 'Reward <run&1>', xTitle: 'cumulative KL', yTitle: 'reward_mean', width: 400, height: 190, xRange: [0, 10], yLog: false,
    columns: [[0, 5, 10], [1, null, 2], [1.5, 1.6, 1.7]], series: [{ label: 'reward_mean (EMA)', color: '#3794ff', width: 1.5 }, { label: 'raw', color: '#3794ff', width: 1, opacity: 0.33 }] });
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.ok(svg.includes('Reward &#60;run&#38;1&#62;') && !svg.includes('<run&1>'));
  assert.ok(svg.includes('>cumulative KL</text>') && svg.includes('>reward_mean</text>'));
  const first = /points="([^"]+)"/.exec(svg)![1].split(' ');
  assert.equal(first.length, 2, 'the null is skipped, not drawn at 0');
  const log = chartSvg({ title: 't', xTitle: 'x', yTitle: 'y', width: 300, height: 150, xRange: [1, 3], yLog: true, columns: [[1, 2, 3], [0, 10, 1000]], series: [{ label: 'a', color: 'red', width: 1 }] });
  assert.equal(/points="([^"]+)"/.exec(log)![1].split(' ').length, 2, 'log scale: values <= 0 are not drawn');
  const ticks = niceTicks(1.99e-4, 2.01e-4);
  assert.ok(ticks.length >= 3 && ticks.every((t) => t >= 1.99e-4 - 1e-12 && t <= 2.01e-4 + 1e-12), ticks.join(' '));
});

test('export message: validated like every webview message (format, a plain file name, PNG as a data URL)', () => {
  assert.ok(isWebviewToHost({ type: 'export', format: 'csv', name: 'run_1-metrics.csv', data: 'a,b\r\n' }));
  assert.ok(isWebviewToHost({ type: 'export', format: 'png', name: 'run 1-reward.png', data: 'data:image/png;base64,iVBOR' }));
  assert.ok(!isWebviewToHost({ type: 'export', format: 'png', name: 'r.png', data: '<svg/>' }));
  assert.ok(!isWebviewToHost({ type: 'export', format: 'exe', name: 'r.exe', data: '' }));
  for (const name of ['../x.csv', '/etc/passwd', 'a/b.csv', '.hidden', '', 'a\\b.csv']) assert.ok(!isWebviewToHost({ type: 'export', format: 'csv', name, data: '' }), name);
  assert.ok(!isWebviewToHost({ type: 'export', format: 'svg', name: 'a.svg', data: 42 }));
});
