// The editor's lenses on both of a run's prompt files: data.prompts lines from samples.jsonl, the eval
// set's lines from eval_samples.jsonl (the evals at step 0 and later, sampled and greedy responses), read
// from real run folders as the trainer lays them out and kept up to date by the incremental poll.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Labels } from '../../src/core/samples/labels';
import { kindMarkdown, PromptLenses } from '../../src/core/samples/promptLenses';
import { tempDir } from '../helpers';

interface Line { step: number; line: number; reward: number; greedy?: boolean }

function lines(file: string, rows: Line[]): string {
  return rows.map((r, index) => JSON.stringify({
    step: r.step, index, prompt: `p${r.line}`, response: `s${r.step}.${index}${r.greedy ? ' greedy' : ''}`, reward: r.reward,
    rewards: { correct: r.reward }, response_length: 2, truncated: false, group: 0, sample_in_group: 0,
    source: { file, line: r.line }, ...(r.greedy === undefined ? {} : { greedy: r.greedy }),
  }) + '\n').join('');
}

/** A run folder: config.yaml naming both files (relative, as a user writes them), and what the trainer wrote. */
function makeRun(root: string, name: string, train: Line[], evals: Line[]): { run: string; trainFile: string; evalFile: string } {
  const run = path.join(root, name);
  fs.mkdirSync(run, { recursive: true });
  const trainFile = path.join(root, 'data', 'train.jsonl'), evalFile = path.join(root, 'data', 'eval.jsonl');
  fs.mkdirSync(path.dirname(trainFile), { recursive: true });
  fs.writeFileSync(trainFile, '{"prompt":"p1"}\n{"prompt":"p2"}\n');
  fs.writeFileSync(evalFile, '{"prompt":"p1"}\n{"prompt":"p2"}\n{"prompt":"p3"}\n');
  fs.writeFileSync(path.join(run, 'config.yaml'), 'data:\n  prompts: ../data/train.jsonl\n  eval_prompts: ../data/eval.jsonl\n');
  fs.writeFileSync(path.join(run, 'samples.jsonl'), lines(trainFile, train));
  if (evals.length) fs.writeFileSync(path.join(run, 'eval_samples.jsonl'), lines(evalFile, evals));
  return { run, trainFile, evalFile };
}

const EVAL0: Line[] = [{ step: 0, line: 3, reward: 0 }, { step: 0, line: 3, reward: 0 }, { step: 0, line: 3, reward: 1, greedy: true }];
const EVAL50: Line[] = [{ step: 50, line: 3, reward: 1 }, { step: 50, line: 3, reward: 1 }, { step: 50, line: 3, reward: 0 },
  { step: 50, line: 3, reward: 1, greedy: true }, { step: 50, line: 1, reward: 0.5 }];

test('eval-set lines show the latest eval\'s mean reward, count and step; training lines keep their own lenses', () => {
  const root = tempDir('lenses');
  const { run, trainFile, evalFile } = makeRun(root, 'run-a', [{ step: 1, line: 2, reward: 1 }, { step: 2, line: 2, reward: 0 }], [...EVAL0, ...EVAL50]);
  const lenses = new PromptLenses(() => [{ dir: run }]);

  const onEval = lenses.lenses(evalFile);
  assert.deepEqual(onEval.map((l) => [l.kind, l.line, l.title, l.firstStep, l.lastStep]), [
    ['eval', 3, '↳ eval reward 0.75 (4 samples, step 50)', 0, 50],
    ['eval', 1, '↳ eval reward 0.50 (1 sample, step 50)', 50, 50],
  ]);
  assert.ok(onEval.every((l) => l.run === run));
  assert.deepEqual(lenses.lenses(trainFile).map((l) => [l.kind, l.line, l.title]), [['train', 2, '↳ reward 0.00 (1 sample, step 2)']]);

  // the hover: the latest eval's responses (the greedy one among them), headed as eval responses
  const [latest] = lenses.latest(evalFile, 3);
  assert.equal(latest.kind, 'eval');
  assert.equal(latest.step, 50);
  assert.deepEqual(latest.records.map((r) => r.response), ['s50.3', 's50.4', 's50.5', 's50.6 greedy']);
  assert.match(kindMarkdown(latest.kind, latest.records, latest.step), /^\*\*Latest eval responses, step 50\*\* \(4\)/);
  assert.deepEqual(lenses.latest(evalFile, 2), []);

  // Show history: the earliest eval (step 0, before training) against the latest
  const first = lenses.records(run, 'eval', evalFile, 3, 'first')!;
  assert.equal(first.step, 0);
  assert.deepEqual(first.records.map((r) => r.reward), [0, 0, 1]);
});

test('a live run\'s next eval moves the lens on the next poll; the run that evaluated last wins a shared eval file', () => {
  const root = tempDir('lenses');
  const a = makeRun(root, 'run-a', [], EVAL0);
  const b = makeRun(root, 'run-b', [], []);
  const lenses = new PromptLenses(() => [{ dir: a.run }, { dir: b.run }]);
  assert.deepEqual(lenses.lenses(a.evalFile).map((l) => l.title), ['↳ eval reward 0.33 (3 samples, step 0)']);

  fs.appendFileSync(path.join(a.run, 'eval_samples.jsonl'), lines(a.evalFile, EVAL50).split('\n').slice(0, 4).join('\n') + '\n');
  assert.equal(lenses.poll([a.evalFile]), true);
  assert.deepEqual(lenses.lenses(a.evalFile).map((l) => l.title), ['↳ eval reward 0.75 (4 samples, step 50)']);
  assert.equal(lenses.poll([a.evalFile]), false);

  // run-b starts and writes its first eval later: its lenses replace run-a's on the shared file
  const later = new Date(Date.now() + 5000);
  fs.writeFileSync(path.join(b.run, 'eval_samples.jsonl'), lines(b.evalFile, [{ step: 0, line: 2, reward: 1 }]));
  fs.utimesSync(path.join(b.run, 'eval_samples.jsonl'), later, later);
  assert.deepEqual(lenses.lenses(a.evalFile).map((l) => [l.run, l.line, l.title]), [[b.run, 2, '↳ eval reward 1.00 (1 sample, step 0)']]);
});

test('a training response is labelled from the dataset hover into the run\'s labels.jsonl, as the sample browser reads it', () => {
  const root = tempDir('lenses');
  const { run, trainFile } = makeRun(root, 'run-a', [{ step: 1, line: 2, reward: 1 }, { step: 1, line: 2, reward: 0 }], []);
  const lenses = new PromptLenses(() => [{ dir: run }]);
  const [latest] = lenses.latest(trainFile, 2);
  assert.deepEqual([latest.run, latest.rows.length, latest.records.length], [run, 2, 2]);
  const best = latest.records.findIndex((r) => r.reward === 1), worst = 1 - best;
  assert.equal(lenses.label(run, latest.rows[best], 'good'), 'good');
  assert.equal(lenses.label(run, latest.rows[worst], 'bad'), 'bad');
  const labels = new Labels(run);
  assert.deepEqual(labels.pairs(), [{ prompt: 'p2', chosen: latest.records[best].response, rejected: latest.records[worst].response }]);
  assert.equal(lenses.label(run, 99, 'good'), undefined); // not a row of the run: nothing written
  assert.equal(fs.readFileSync(path.join(run, 'labels.jsonl'), 'utf8').trim().split('\n').length, 2);
});
