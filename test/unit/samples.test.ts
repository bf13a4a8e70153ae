// The sample index, the labels and the terminal commands on real files: a samples.jsonl written
// line by line the way the trainer writes it (torn last line included), the labels.jsonl a
// browser appends to, and the prompt/chosen/rejected file the export writes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SampleIndex, histogram, jsonField } from '../../src/core/samples/index';
import { Labels } from '../../src/core/samples/labels';
import { labelsExportCommand, parseStepRange, samplesCommand } from '../../src/core/samples/samplesCommand';
import { tempDir } from '../helpers';

function tmpRun(): string { return tempDir('samples'); }

/** A trainer-like line: 2 prompts x 2 samples per step; sample 0 of each step carries per-token data. */
function line(step: number, index: number, extra: Record<string, unknown> = {}): string {
  const p = index < 2 ? `${step}+1=` : `${step}+2=`;
  const ok = index % 2 === 0;
  const rec: Record<string, unknown> = { step, index, prompt: p, response: ok ? 'right answer' : 'wrong "quoted" answer\nline two', label: 'x',
    reward: ok ? 1 : 0, rewards: { correct: ok ? 1 : 0, format: 1 }, response_length: ok ? 3 : 7, truncated: index === 3, ...extra };
  if (index === 0) Object.assign(rec, { tokens: ['a', 'b', '<eos>'], logprobs: [-1, -2, -0.1], ref_logprobs: [-1, -1.5, -0.1], kl: [0, 0.5, 0], advantages: [0.5, 0.5, 0.5] });
  return JSON.stringify(rec) + '\n';
}
const stepLines = (step: number) => [0, 1, 2, 3].map((i) => line(step, i)).join('');

test('the index reads incrementally, waits for a torn last line, and answers filters, sorts and groups', () => {
  const run = tmpRun();
  const file = path.join(run, 'samples.jsonl');
  const idx = new SampleIndex(run);
  assert.equal(idx.poll(), 0); // no file yet
  fs.writeFileSync(file, stepLines(1) + stepLines(2));
  assert.equal(idx.poll(), 8);
  const torn = line(3, 0);
  fs.appendFileSync(file, torn.slice(0, 40));
  assert.equal(idx.poll(), 0, 'a torn line is not indexed');
  assert.equal(idx.skipped, 0, 'nor counted as garbage');
  fs.appendFileSync(file, torn.slice(40) + 'not json\n' + [1, 2, 3].map((i) => line(3, i)).join(''));
  assert.equal(idx.poll(), 4);
  assert.equal(idx.skipped, 1);
  assert.equal(idx.size, 12);
  assert.deepEqual(idx.steps(), [[1, 4], [2, 4], [3, 4]]);

  // full records come back from the file by offset
  const rec = idx.read(idx.query({ stepMin: 3, stepMax: 3 }).rows[0])!;
  assert.equal(rec.step, 3); assert.deepEqual(rec.kl, [0, 0.5, 0]);

  assert.equal(idx.query({ stepMin: 2, stepMax: 3 }).rows.length, 8);
  assert.equal(idx.query({ rewardMin: 0.5 }).rows.length, 6);
  assert.equal(idx.query({ truncatedOnly: true }).rows.length, 3);
  assert.deepEqual(idx.rules, ['correct', 'format']);
  assert.equal(idx.query({ rule: 'correct' }).rows.length, 6);
  assert.equal(idx.query({ rule: 'format' }).rows.length, 0);
  assert.equal(idx.query({ rule: 'nope' }).rows.length, 0);
  // text search unescapes JSON: a quote and a newline in the response are found
  assert.equal(idx.query({ text: 'WRONG "QUOTED"' }).rows.length, 6);
  assert.equal(idx.query({ text: 'answer\nline' }).rows.length, 6);
  assert.equal(idx.query({ prompt: '2+2=' }).rows.length, 2);
  const capped = idx.query({ text: 'answer' }, undefined, 5);
  assert.equal(capped.rows.length, 5); assert.equal(capped.capped, true);

  const byReward = idx.query({}, { key: 'reward', desc: true }).rows;
  assert.deepEqual([...byReward].map((r) => idx.read(r)!.reward), [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  const byLen = idx.query({ stepMin: 1, stepMax: 1 }, { key: 'length', desc: false }).rows;
  assert.deepEqual([...byLen].map((r) => idx.read(r)!.response_length), [3, 3, 7, 7]);
  const byAdv = idx.query({}, { key: 'advantage', desc: true }).rows;
  assert.deepEqual([...byAdv].slice(0, 3).map((r) => idx.read(r)!.index), [0, 0, 0], 'samples with per-token data first');
  const stepDesc = idx.query({}, { key: 'step', desc: true }).rows;
  assert.equal(idx.read(stepDesc[0])!.step, 3);

  // the group: the samples of one prompt in one step, best first
  const row = idx.query({ stepMin: 2, stepMax: 2, text: 'wrong' }).rows[0];
  const group = idx.groupOf(row).map((r) => idx.read(r)!);
  assert.deepEqual(group.map((g) => [g.step, g.index, g.reward]), [[2, 0, 1], [2, 1, 0]]);
  assert.deepEqual(idx.rowsOfPrompt('2+1=').map((r) => idx.where(r)!.step), [2, 2]);
  const s = idx.summaries([row])[0];
  assert.deepEqual(s.failing, ['correct']);
  assert.equal(s.hasTokens, false);
  assert.equal(idx.rowAt(idx.where(row)!.offset), row);

  // rewritten from the start (a new run in the same folder): indexed again
  fs.writeFileSync(file, stepLines(1));
  idx.poll();
  assert.equal(idx.size, 4);
});

test('the recorded group id, when present, decides the group over the prompt text', () => {
  const run = tmpRun();
  fs.writeFileSync(path.join(run, 'samples.jsonl'), [0, 1, 2, 3].map((i) => line(1, i, { group: i % 2, prompt: 'same' })).join(''));
  const idx = new SampleIndex(run); idx.poll();
  assert.deepEqual(idx.groupOf(0).map((r) => idx.where(r)!.index), [0, 2]);
});

test('a line longer than the read chunk is indexed; a torn one waits', () => {
  const run = tmpRun();
  const file = path.join(run, 'samples.jsonl');
  const big = line(1, 1, { response: 'x'.repeat(5 * 2 ** 20) });
  fs.writeFileSync(file, line(1, 0) + big.slice(0, 4.5 * 2 ** 20));
  const idx = new SampleIndex(run);
  assert.equal(idx.poll(), 1);
  fs.appendFileSync(file, big.slice(4.5 * 2 ** 20) + line(1, 2));
  assert.equal(idx.poll(), 2);
  assert.equal(idx.read(1)!.response.length, 5 * 2 ** 20);
});

test('jsonField reads a top-level string without parsing the line', () => {
  const l = JSON.stringify({ step: 1, prompt: 'say "hi"\\n', response: 'plain' });
  assert.equal(jsonField(l, 'prompt'), 'say "hi"\\n');
  assert.equal(jsonField(l, 'response'), 'plain');
  assert.equal(jsonField(l, 'label'), '');
});

test('labels survive a reload, the last label of a sample wins, and the export pairs good x bad and preferences', () => {
  const run = tmpRun();
  const a = new Labels(run);
  const ref = (index: number, offset: number) => ({ step: 1, index, offset });
  a.mark(ref(0, 0), 'P', 'good one', 'bad');
  a.mark(ref(0, 0), 'P', 'good one', 'good'); // changed her mind
  a.mark(ref(1, 100), 'P', 'bad one', 'bad');
  a.mark(ref(2, 200), 'P', 'bad two', 'bad');
  a.mark(ref(3, 300), 'Q', 'other', 'good'); // no bad answer to Q: no pair
  a.mark(ref(4, 400), 'P', 'withdrawn', 'good');
  a.mark(ref(4, 400), 'P', 'withdrawn', 'none');
  a.prefer('P', { ...ref(1, 100), response: 'bad one' }, { ...ref(2, 200), response: 'bad two' });
  assert.throws(() => a.prefer('P', { ...ref(1, 100), response: 'x' }, { ...ref(1, 100), response: 'x' }), /itself/);
  assert.throws(() => a.prefer('P', { ...ref(1, 100), response: 'x' }, { ...ref(2, 200), response: 'x' }), /same text/);
  fs.appendFileSync(a.file, '{"torn": tr'); // a crash mid-write
  const b = new Labels(run);
  assert.equal(b.skipped, 1);
  assert.equal(b.verdict(0), 'good');
  assert.equal(b.verdict(400), undefined);
  assert.deepEqual(b.counts, { good: 2, bad: 2, preferences: 1 });
  assert.deepEqual(b.pairs(), [
    { prompt: 'P', chosen: 'bad one', rejected: 'bad two' },
    { prompt: 'P', chosen: 'good one', rejected: 'bad one' },
    { prompt: 'P', chosen: 'good one', rejected: 'bad two' },
  ]);
  const outFile = path.join(run, 'prefs.jsonl');
  const out: string[] = [];
  assert.equal(labelsExportCommand({ run, output: outFile }, { write: (s: string) => out.push(s) }, { write: () => undefined }), 0);
  assert.match(out.join(''), /wrote 3 preference pairs to .*prefs\.jsonl \(from 1 preference, 2 good and 2 bad labels\)/);
  const lines = fs.readFileSync(outFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  for (const l of lines) assert.deepEqual(Object.keys(l), ['prompt', 'chosen', 'rejected']);
  const err: string[] = [];
  assert.equal(labelsExportCommand({ run, output: path.join(run, 'no', 'such', 'dir.jsonl') }, { write: () => undefined }, { write: (s: string) => err.push(s) }), 1);
  assert.match(err.join(''), /^rlhf labels export: cannot write .*dir\.jsonl: ENOENT; pick a writable path with -o\n$/);
});

test('rlhf samples prints the selected samples as a table or JSON lines', () => {
  const run = tmpRun();
  fs.writeFileSync(path.join(run, 'samples.jsonl'), stepLines(1) + stepLines(2) + stepLines(3));
  const go = (o: Partial<Parameters<typeof samplesCommand>[0]>) => {
    const out: string[] = [], err: string[] = [];
    const code = samplesCommand({ run, ...o }, { write: (s: string) => out.push(s) }, { write: (s: string) => err.push(s) });
    return { code, out: out.join(''), err: err.join('') };
  };
  const t = go({ step: 2, minReward: 0.5 });
  assert.equal(t.code, 0);
  assert.equal(t.out.trim().split('\n').length, 3); // header + 2
  assert.match(t.out, /^ {5}2 {4}0 {4}1\.000 {5}3 {2}2\+1= -> right answer$/m);
  assert.equal(t.err, '2 of 12 samples\n');
  const j = go({ steps: parseStepRange('2:'), prompt: '+2', json: true });
  assert.deepEqual(j.out.trim().split('\n').map((l) => { const r = JSON.parse(l) as { step: number; index: number }; return [r.step, r.index]; }), [[2, 2], [2, 3], [3, 2], [3, 3]]);
  assert.equal(go({ step: 1, steps: [1, 2] }).code, 2);
  const missing = go({ run: path.join(run, 'nope') });
  assert.equal(missing.code, 1);
  assert.match(missing.err, /nope\/samples\.jsonl does not exist; RUN must be a run folder/);
  assert.deepEqual(parseStepRange('3:7'), [3, 7]);
  assert.equal(parseStepRange('7:3'), undefined);
  assert.equal(parseStepRange('x'), undefined);
});

test('reward histogram: equal-width bins over the range, the maximum in the last bin, one bin when all equal, NaN skipped', () => {
  assert.deepEqual(histogram([0, 0.5, 1, 1, NaN], 4), { lo: 0, hi: 1, counts: [1, 0, 1, 2] });
  assert.deepEqual(histogram([0.25, 0.25], 10), { lo: 0.25, hi: 0.25, counts: [2] });
  assert.equal(histogram([], 10), null);
  assert.equal(histogram([NaN], 10), null);
  const h = histogram(Array.from({ length: 1000 }, (_, i) => i), 10)!;
  assert.deepEqual(h.counts, new Array(10).fill(100));
});
