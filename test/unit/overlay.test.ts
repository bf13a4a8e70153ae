// Overlays: legend labels and the config diff from the runs' configs, colours that stay with a run,
// runs joined on one x column; the block summaries that keep a live update flat in run length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downsample, m4Rows, M4Summary, visibleRows, type M4Cache } from '../../src/core/downsample';
import { assignColors, configDiff, configDiffMarkdown, differingKeys, joinColumns, RUN_PALETTE, runLabels } from '../../src/core/overlay';

const base = { name: 'cmp', seed: 1, algorithm: { estimator: 'reinforce_pp', gamma: 1, kl: { coef: 0.001, estimator: 'k1' } }, train: { lr: 2e-4 } };
const withAlg = (estimator: string, coef: number, extra: object = {}) => ({ ...base, ...extra, algorithm: { ...base.algorithm, estimator, kl: { ...base.algorithm.kl, coef } } });

test('legend labels name each run by the config keys that differ, with the paper\'s short names', () => {
  const runs = [
    { id: 'a', config: { ...withAlg('grpo', 0.001), name: 'grpo-run' } },
    { id: 'b', config: { ...withAlg('reinforce_pp', 0.01), name: 'rpp-run' } },
  ];
  assert.deepEqual(differingKeys(runs), ['algorithm.estimator', 'algorithm.kl.coef', 'name']);
  // the name differs too, but the keys that say how the runs differ are enough
  assert.deepEqual(runLabels(runs), ['estimator=grpo kl=0.001', 'estimator=reinforce_pp kl=0.01']);
  // a key only one run has shows as absent in the other; a nested key keeps enough of its path to be unique
  const more = [{ id: 'a', config: withAlg('grpo', 0.001, { train: { lr: 1e-4 } }) }, { id: 'b', config: withAlg('grpo', 0.001, { extra: { lr: 5 } }) }];
  assert.deepEqual(runLabels(more), ['extra.lr=— train.lr=0.0001', 'extra.lr=5 train.lr=0.0002']);
});

test('legend labels fall back to the name, then to the run id; long differences are cut', () => {
  assert.deepEqual(runLabels([{ id: 'r1', config: { ...base, name: 'x' } }, { id: 'r2', config: { ...base, name: 'y' } }]), ['name=x', 'name=y']);
  assert.deepEqual(runLabels([{ id: 'r1', config: base }, { id: 'r2', config: base }]), ['r1', 'r2']);
  assert.deepEqual(runLabels([{ id: 'only', config: base }]), ['only']);
  const wide = [{ id: 'a', config: { p: 1, q: 1, r: 1, s: 1, t: 1 } }, { id: 'b', config: { p: 2, q: 2, r: 2, s: 2, t: 2 } }];
  assert.equal(runLabels(wide, 2)[0], 'p=1 q=1 …');
  // a watched run of another framework has no config of ours: what it has tells it apart
  assert.deepEqual(runLabels([{ id: 'n', config: base }, { id: 'verl:x', config: { framework: 'verl' } }])[1].split(' ')[0], 'estimator=—');
});

test('config diff: only the differing keys, one column per run, as a Markdown table', () => {
  const runs = [{ id: 'run-a', config: withAlg('grpo', 0.001) }, { id: 'run-b', config: withAlg('rloo', 0.001, { seed: 2 }) }, { id: 'run-c', config: null }];
  const d = configDiff(runs);
  assert.deepEqual(d.runs, ['run-a', 'run-b', 'run-c']);
  assert.deepEqual(d.rows.find((r) => r.key === 'algorithm.estimator')?.values, ['grpo', 'rloo', '—']);
  assert.deepEqual(d.rows.find((r) => r.key === 'seed')?.values, ['1', '2', '—']);
  assert.ok(!configDiff(runs.slice(0, 2)).rows.some((r) => r.key === 'train.lr' || r.key === 'algorithm.gamma'), 'equal keys are left out');
  const md = configDiffMarkdown(configDiff(runs.slice(0, 2)));
  assert.match(md, /^\| key +\| run-a +\| run-b +\|$/m);
  assert.match(md, /^\| algorithm\.estimator \| grpo +\| rloo +\|$/m);
  assert.match(configDiffMarkdown(configDiff([runs[0], runs[0]])), /The configs are the same/);
  assert.match(configDiffMarkdown(configDiff([{ id: 'a', config: { s: 'x|y' } }, { id: 'b', config: { s: 'z' } }])), /x\\\|y/, 'a | in a value does not split the cell');
});

test('a run and its continuation: the continuation is labelled by where it resumed, not by two look-alike ids', () => {
  const parent = { id: '20240501-101500-cmp', dir: '/w/runs/20240501-101500-cmp', config: { ...base, run_dir: '/w/runs/20240501-101500-cmp' } };
  const child = { id: '20240501-113000-cmp', dir: '/w/runs/20240501-113000-cmp', config: { ...base, run_dir: '/w/runs/20240501-113000-cmp' },
    lineage: { parentDir: '/w/runs/20240501-101500-cmp', parentId: '20240501-101500-cmp', step: 120 } };
  assert.deepEqual(runLabels([parent, child]), ['20240501-101500-cmp', 'continued from 20240501-101500-cmp@120']);
  assert.deepEqual(runLabels([child, parent]), ['continued from 20240501-101500-cmp@120', '20240501-101500-cmp']);
  // a third run whose config differs: the keys first, then where the continuation started
  const other = { id: 'c', dir: '/w/runs/c', config: withAlg('grpo', 0.01) };
  assert.deepEqual(runLabels([parent, child, other]).map((l) => l.replace(/^estimator=\S+ /, '')),
    ['kl=0.001', 'kl=0.001, continued from 20240501-101500-cmp@120', 'kl=0.01']);
  // the parent not shown: the continuation is labelled as any run; the parent found by id when its folder is reached through a link
  assert.deepEqual(runLabels([child, other]).map((l) => l.includes('continued')), [false, false]);
  const linked = { ...parent, dir: '/home/u/link/20240501-101500-cmp' };
  assert.equal(runLabels([linked, child])[1], 'continued from 20240501-101500-cmp@120');
  // a folder elsewhere with the parent's id is not the parent
  assert.equal(runLabels([{ ...parent, dir: '/elsewhere/x' }, child])[1], '20240501-113000-cmp');
  assert.equal(runLabels([{ ...parent, dir: 'C:\\w\\runs\\20240501-101500-cmp\\' }, { ...child, lineage: { ...child.lineage, parentDir: 'C:\\w\\runs\\20240501-101500-cmp' } }])[1],
    'continued from 20240501-101500-cmp@120', 'Windows paths');
});

test('config diff of a run and its continuation says where the continuation resumed, not just "the same"', () => {
  const parent = { id: 'p', dir: '/w/runs/p', config: base };
  const child = { id: 'k', dir: '/w/runs/k', config: base, lineage: { parentDir: '/w/runs/p', parentId: 'p', step: 40 } };
  const d = configDiff([parent, child]);
  assert.deepEqual(d.continuations, [{ run: 'k', parent: 'p', step: 40, parentShown: true }]);
  const md = configDiffMarkdown(d);
  assert.doesNotMatch(md, /The configs are the same/);
  assert.match(md, /^Same config; k resumed from p@40 \(it continues p's history from step 40\)\.$/m);
  // a continuation with a changed key: the table, then the lineage under it
  const changed = configDiffMarkdown(configDiff([parent, { ...child, config: { ...base, train: { lr: 1e-5 } } }]));
  assert.match(changed, /^\| train\.lr +\| 0\.0002 \| 0\.00001 \|$/m);
  assert.match(changed, /^k resumed from p@40 /m);
  // its parent not among the runs: still said, by the parent's id
  assert.match(configDiffMarkdown(configDiff([child, { id: 'z', config: base }])), /^Same config; k resumed from p@40\.$/m);
});

test('colours: a run keeps its colour when others come and go; new runs take the lowest free one', () => {
  const a = assignColors({}, ['r1', 'r2', 'r3']);
  assert.deepEqual(a, { r1: 0, r2: 1, r3: 2 });
  const b = assignColors(a, ['r3', 'r4']); // r1 and r2 removed, r4 added
  assert.equal(b.r3, 2);
  assert.equal(b.r4, 0);
  const many = assignColors({}, Array.from({ length: RUN_PALETTE.length + 2 }, (_, i) => `r${i}`));
  assert.equal(new Set(Object.values(many).slice(0, RUN_PALETTE.length)).size, RUN_PALETTE.length, 'distinct while the palette lasts');
});

test('runs joined on one x column: shared steps share a row, missing values are null', () => {
  const j = joinColumns([[[1, 2, 3], [10, 20, 30]], [[2, 4], [5, 6], [7, 8]]]);
  assert.deepEqual(j, [[1, 2, 3, 4], [10, 20, 30, null], [null, 5, null, 6], [null, 7, null, 8]]);
  // a repeated x within a run (cumulative KL flat over steps without KL) keeps every point, the spike too
  const d = joinColumns([[[1, 1, 2], [0, 99, 0]], [[1, 2], [5, 6]]]);
  assert.deepEqual(d, [[1, 1, 2], [0, 99, 0], [5, null, 6]]);
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

test('summary-based M4 equals the direct M4 at every zoom, with gaps, ties, spikes and appended rows', () => {
  const r = rng(7);
  const n = 300_001;
  const x = Float64Array.from({ length: n }, (_, i) => i + (i > 150_000 ? 1000 : 0));
  const y: (number | null)[] = Array.from({ length: n }, (_, i) => (i % 97 === 0 ? null : i % 5000 < 300 ? null : Math.round(r() * 20) / 4));
  y[123_456] = 1e6; y[7] = -1e6; // one-row spikes
  const s = new M4Summary().update(y, 0);
  for (const [lo, hi, b] of [[x[0], x[n - 1], 640], [1000, 1000 + 70_000, 333], [50_123, 50_900, 800], [0, 10, 3], [200_000, 200_000, 5]] as const) {
    const [i0, i1] = visibleRows(x, lo, hi);
    assert.deepEqual(m4Rows(x, y, i0, i1, lo, hi, b, s), m4Rows(x, y, i0, i1, lo, hi, b), `[${lo}, ${hi}] at ${b} buckets`);
  }
  // live: rows appended one by one and a rewritten tail (a resumed run) keep the summary exact
  const xs = Array.from(x), ys = [...y];
  for (let k = 0; k < 300; k++) { xs.push(xs[xs.length - 1] + 1); ys.push(r() * 3); s.update(ys, ys.length - 1); }
  ys.length = xs.length = n - 5000; s.update(ys, ys.length);
  for (let k = 0; k < 70; k++) { xs.push(xs[xs.length - 1] + 1); ys.push(k === 33 ? 99 : r()); }
  s.update(ys, n - 5000);
  const full = downsample(xs, [ys], xs[0], xs[xs.length - 1], 500);
  assert.deepEqual(downsample(xs, [ys], xs[0], xs[xs.length - 1], 500, [s]), full);
  assert.ok(full[1].includes(99) && full[1].includes(1e6) && full[1].includes(-1e6), 'the spikes are drawn');
  // a summary that does not match the column (not updated) is not used: the result stays right
  ys.push(-5e6); xs.push(xs[xs.length - 1] + 1);
  assert.ok(downsample(xs, [ys], xs[0], xs[xs.length - 1], 500, [s])[1].includes(-5e6));
});

test('kept M4 buckets extended by appended rows draw what a fresh pass draws; another range or rewritten rows start over', () => {
  const r = rng(3);
  const x: number[] = [], y: (number | null)[] = [];
  const grow = (n: number) => { for (let k = 0; k < n; k++) { x.push(x.length + 1); y.push(k % 50 === 0 ? null : r() * 10 - 5); } };
  grow(50_000);
  const s = new M4Summary().update(y, 0);
  const cache: M4Cache = { generation: 0, buckets: [] };
  const range: [number, number] = [1, 60_000]; // a live run's range ends past its data
  downsample(x, [y], ...range, 400, [s], cache);
  const kept = cache.buckets[0];
  for (let k = 0; k < 40; k++) {
    const from = y.length;
    grow(k === 20 ? 3000 : 1);
    if (k === 30) y[y.length - 1] = 1e9; // a spike in the newest row
    s.update(y, from);
    assert.deepEqual(downsample(x, [y], ...range, 400, [s], cache), downsample(x, [y], ...range, 400), `append ${k}`);
  }
  assert.equal(cache.buckets[0], kept, 'the same buckets were extended, not rebuilt');
  assert.ok(downsample(x, [y], ...range, 400, [s], cache)[1].includes(1e9));
  downsample(x, [y], 1, 70_000, 400, [s], cache); // the range moved: new buckets
  assert.notEqual(cache.buckets[0], kept);
});
