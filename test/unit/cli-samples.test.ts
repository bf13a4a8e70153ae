// `rlhf samples`, `rlhf labels export`, `rlhf metrics` and `rlhf try`'s argument checks as real processes,
// over a run folder in the trainer's formats (events.jsonl, samples.jsonl, labels.jsonl).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Labels } from '../../src/core/samples/labels';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const rlhf = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: ROOT });

/** A run folder of 2 steps × 2 samples of one prompt each: rewards 1, 0 at step 1 and 0.5, 1 at step 2. */
function makeRun(): string {
  const dir = tempDir('cli-samples');
  const rewards = [[1, 0], [0.5, 1]];
  const events: string[] = [], samples: string[] = [];
  rewards.forEach((rs, s) => {
    const step = s + 1;
    events.push(JSON.stringify({ v: 1, type: 'metrics', time: 1000 + step, step, samples_seen: 2 * step, values: { reward_mean: (rs[0] + rs[1]) / 2, 'odd,key': step } }));
    rs.forEach((reward, index) => samples.push(JSON.stringify({ step, index, prompt: `${step}+x=`, response: String(step + index), label: String(step + index),
      reward, rewards: { correct: reward }, response_length: 2, truncated: false })));
  });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'samples.jsonl'), samples.join('\n') + '\n');
  return dir;
}

test('rlhf samples filters by step and reward; --json lines parse', () => {
  const run = makeRun();
  const r = rlhf('samples', run, '--steps', '2:', '--min-reward', '0.75', '--json');
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { step: number; reward: number; response: string });
  assert.deepEqual(rows.map((x) => [x.step, x.reward, x.response]), [[2, 1, '3']]);
  const text = rlhf('samples', run, '--step', '1');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /1\+x= -> 1/);
  assert.doesNotMatch(text.stdout, /2\+x=/);
});

test('rlhf metrics prints the events as CSV, one row per step', () => {
  const r = rlhf('metrics', makeRun());
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split(/\r?\n/);
  assert.equal(lines.length, 3);
  const head = lines[0].split(',');
  assert.ok(head.includes('reward_mean') && lines[0].includes('"odd,key"'), lines[0]);
  assert.equal(lines[2].split(',')[head.indexOf('reward_mean')], '0.75');
});

test('rlhf labels export writes prompt/chosen/rejected pairs from the run\'s labels', () => {
  const run = makeRun();
  const labels = new Labels(run);
  const lines = fs.readFileSync(path.join(run, 'samples.jsonl'), 'utf8').split('\n');
  const offsetOf = (i: number) => lines.slice(0, i).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  const sample = (i: number) => ({ ...(JSON.parse(lines[i]) as { step: number; index: number; prompt: string; response: string }), offset: offsetOf(i) });
  const pairsOf = () => {
    const r = rlhf('labels', 'export', run, '-o', out);
    assert.equal(r.status, 0, r.stderr);
    const text = fs.readFileSync(out, 'utf8').trim();
    return text ? text.split('\n').map((l) => JSON.parse(l) as { prompt: string; chosen: string; rejected: string }) : [];
  };
  const out = path.join(run, 'pairs.jsonl');
  const [a, b] = [sample(2), sample(3)]; // step 2: responses '2' and '3' of prompt '2+x='
  labels.mark(a, a.prompt, a.response, 'bad');
  labels.mark(b, b.prompt, b.response, 'good');
  assert.deepEqual(pairsOf(), [{ prompt: '2+x=', chosen: '3', rejected: '2' }]);
  labels.mark(a, a.prompt, a.response, 'good'); // the last label wins: two good, no pair
  assert.deepEqual(pairsOf(), []);
  labels.prefer(a.prompt, a, b);
  assert.deepEqual(pairsOf(), [{ prompt: '2+x=', chosen: '2', rejected: '3' }]);
});

test('bad arguments exit 2 with one line', () => {
  const run = makeRun();
  for (const args of [['samples', run, '--steps', 'x'], ['samples', run, '--min-reward', 'high'], ['samples', run, '--step', '1', '--steps', '1:2'],
    ['labels', 'export', run], ['try', run], ['try', run, '--prompt', 'x', '--top-p', 'wide'], ['export', run, '--format', 'gguf', '-o', run],
    ['export', run, '--format', 'hf', '--int8', '-o', run], ['metrics', path.join(run, 'nope')]]) {
    const r = rlhf(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.trim().split('\n').length <= 2 && !/\n\s+at /.test(r.stderr), `${args.join(' ')}: ${r.stderr}`);
  }
});
