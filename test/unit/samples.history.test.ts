// A prompt's history, as the editor's dataset lenses read it: samples.jsonl lines keyed by the dataset
// file and line the trainer records, the first and the latest step's rows per line, kept up to date by
// the index's incremental poll; the lens title, the hover and diff text, the datasets a run config names.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SampleIndex } from '../../src/core/samples/index';
import { datasetsOfRunConfig, historyMarkdown, historyText, lensTitle } from '../../src/core/samples/promptHistory';
import type { SampleRecord } from '../../src/core/samples/record';
import { runAlerts, samplesCommand } from '../../src/core/samples/samplesCommand';
import { tempDir } from '../helpers';

const DATA = '/data/train.jsonl';

/** One step as the trainer writes it: 2 prompts (dataset lines 7 and 3) x 2 samples, group and source set. */
function step(s: number, rewards: number[], file = DATA): string {
  return rewards.map((reward, index) => JSON.stringify({
    step: s, index, prompt: index < 2 ? 'a=' : 'b=', response: `r${s}.${index}`, reward, rewards: { correct: reward },
    response_length: 2, truncated: false, group: index >> 1, sample_in_group: index & 1, source: { file, line: index < 2 ? 7 : 3 },
  }) + '\n').join('');
}

test('each dataset line keeps its first and latest step\'s rows, updated by the incremental poll', () => {
  const run = tempDir('history');
  const file = path.join(run, 'samples.jsonl');
  fs.writeFileSync(file, step(1, [1, 0, 0, 0]) + step(2, [1, 1, 0, 1]));
  const idx = new SampleIndex(run);
  assert.equal(idx.poll(), 8);
  const h7 = idx.historyOf(DATA, 7)!;
  assert.deepEqual([h7.firstStep, h7.first, h7.lastStep, h7.last, h7.total], [1, [0, 1], 2, [4, 5], 4]);
  assert.deepEqual(idx.rewards(h7.last), [1, 1]);
  assert.deepEqual(idx.historyOf(DATA, 3)!.last, [6, 7]);
  assert.equal(idx.historyOf(DATA, 4), undefined, 'a line never sampled has no history');
  assert.equal(idx.historyOf('/data/other.jsonl', 7), undefined, 'the file is part of the key');
  assert.deepEqual([...idx.historiesOf(DATA).keys()].sort(), [3, 7]);

  // a live run: a torn line changes nothing, the completed step moves "latest" and keeps "first"
  const next = step(5, [0, 0, 1, 1]);
  fs.appendFileSync(file, next.slice(0, 50));
  assert.equal(idx.poll(), 0);
  assert.equal(idx.historyOf(DATA, 7)!.lastStep, 2);
  fs.appendFileSync(file, next.slice(50));
  assert.equal(idx.poll(), 4);
  const after = idx.historyOf(DATA, 7)!;
  assert.deepEqual([after.firstStep, after.first, after.lastStep, after.last, after.total], [1, [0, 1], 5, [8, 9], 6]);
  assert.equal(lensTitle(idx.rewards(after.last), after.lastStep), '↳ reward 0.00 (2 samples, step 5)');
  assert.equal(lensTitle(idx.rewards(idx.historyOf(DATA, 3)!.last), 5), '↳ reward 1.00 (2 samples, step 5)');
});

test('a relative source file is resolved against the run folder; lines without a source are left out', () => {
  const run = tempDir('history');
  const legacy = JSON.stringify({ step: 1, index: 0, prompt: 'c=', response: 'x', reward: 1, rewards: {} }) + '\n';
  fs.writeFileSync(path.join(run, 'samples.jsonl'), legacy + step(1, [1, 0, 1, 0], 'data/p.jsonl'));
  const idx = new SampleIndex(run);
  idx.poll();
  assert.deepEqual(idx.sourceFiles(), [path.join(run, 'data', 'p.jsonl')]);
  assert.deepEqual(idx.historyOf(path.join(run, 'data', 'p.jsonl'), 7)!.last, [1, 2]);
});

test('the history text lists a step\'s responses best first; the hover fences them as text', () => {
  const recs = [0, 1].map((i): SampleRecord => ({ step: 4, index: i, prompt: '2+2=', response: i ? 'four ```' : '5', reward: i, rewards: { correct: i }, sample_in_group: i, truncated: i === 0 }));
  const text = historyText(recs, 4);
  assert.match(text, /^step 4: 2 responses, mean reward 0\.500\nprompt: 2\+2=\n/);
  assert.ok(text.indexOf('four') < text.indexOf('\n5\n'), text);
  assert.match(text, /sample 0: reward 0\.000 \(correct 0\), truncated\n5\n/);
  const md = historyMarkdown(recs, 4);
  assert.match(md, /\*\*Latest responses, step 4\*\* \(2\)/);
  assert.match(md, /````text\nfour ```\n````/, 'a fence longer than any backtick run in the response');
});

test('a run config names its dataset files; relative ones resolve against the run folder', () => {
  assert.deepEqual(datasetsOfRunConfig('data:\n  prompts: /abs/train.jsonl\n  eval_prompts: eval.jsonl\n', '/runs/r1'), ['/abs/train.jsonl', '/runs/r1/eval.jsonl']);
  assert.deepEqual(datasetsOfRunConfig('data:\n  prompts: /abs/train.jsonl\n  eval_prompts: null\n', '/runs/r1'), ['/abs/train.jsonl']);
  assert.deepEqual(datasetsOfRunConfig(': not [yaml', '/r'), []);
  assert.deepEqual(datasetsOfRunConfig('name: x\n', '/r'), []);
});

test('rlhf samples lists the run\'s reward-hacking alerts after its table (stderr), not in --json output', () => {
  const run = tempDir('history');
  fs.writeFileSync(path.join(run, 'samples.jsonl'), step(1, [1, 0, 1, 0]));
  const alert = { v: 1, type: 'alert', time: 2, kind: 'length_hacking', step: 40, steps: [21, 40], message: 'response length grew +38%' };
  fs.writeFileSync(path.join(run, 'events.jsonl'), [{ v: 1, type: 'metrics', time: 1, step: 1, samples_seen: 4, values: {} }, alert, 'not json']
    .map((e) => typeof e === 'string' ? e : JSON.stringify(e)).join('\n') + '\n' + JSON.stringify({ ...alert, kind: 'eval_divergence' }).slice(0, 30));
  assert.deepEqual(runAlerts(run).map((a) => [a.kind, a.steps]), [['length_hacking', [21, 40]]], 'a torn last line is not an alert');
  const collect = () => { const parts: string[] = []; return { write: (s: string) => parts.push(s), text: () => parts.join('') }; };
  const out = collect(), err = collect();
  assert.equal(samplesCommand({ run }, out, err), 0);
  assert.match(err.text(), new RegExp(`alert length_hacking at steps 21-40: response length grew \\+38% \\(rlhf samples ${run.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --step 40\\)`));
  const jout = collect(), jerr = collect();
  samplesCommand({ run, json: true }, jout, jerr);
  assert.equal(jerr.text(), '');
});

test('an alert whose message has a character split between two 4 MiB reads is read whole', () => {
  const run = tempDir('history');
  const alert = JSON.stringify({ v: 1, type: 'alert', time: 2, kind: 'length_hacking', step: 40, steps: [21, 40], message: '— length grew' }) + '\n';
  const logLine = (k: number) => JSON.stringify({ v: 1, type: 'log', time: 1, level: 'info', message: 'x'.repeat(k) }) + '\n';
  // a log line long enough that the first byte of the 3-byte U+2014 is the last byte of the first 4 MiB read
  const k = 4 * 2 ** 20 - 1 - Buffer.byteLength(alert.slice(0, alert.indexOf('—'))) - Buffer.byteLength(logLine(0));
  fs.writeFileSync(path.join(run, 'events.jsonl'), logLine(k) + alert);
  assert.equal(fs.readFileSync(path.join(run, 'events.jsonl'))[4 * 2 ** 20 - 1], 0xe2, 'the character straddles the boundary');
  assert.deepEqual(runAlerts(run).map((a) => a.message), ['— length grew']);
});
