// schemas/sample.schema.json is the contract of samples.jsonl: the lines the real trainer writes
// validate against it, and so does a line with every field the trainer may add (group, dataset
// position, entropy...); a line missing a required field or with a wrong type does not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import { SampleIndex } from '../../src/core/samples/index';
import type { SampleRecord } from '../../src/core/samples/record';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const validate = new Ajv({ strict: true }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'sample.schema.json'), 'utf8')) as object);

const full = {
  step: 3, index: 5, prompt: '2+2=', response: '4', label: '4', reward: 1, rewards: { correct: 1, format: 0 }, reward_errors: { judge: 'timeout' },
  response_length: 2, truncated: false, group: 1, sample_in_group: 1, source: { file: 'data/train.jsonl', line: 12 },
  tokens: ['4', '<eos>'], logprobs: [-0.1, -0.01], ref_logprobs: [-0.2, -0.01], kl: [0.1, 0], advantages: [0.5, 0.5], entropy: [0.7, 0.1],
};

test('a line with every field, old and new, validates; a broken one does not', () => {
  assert.ok(validate(full), JSON.stringify(validate.errors));
  for (const bad of [{ ...full, reward: '1' }, { ...full, step: 0 }, { ...full, source: { file: 'x' } }, { ...full, entropy: ['a'] }, (({ prompt: _p, ...rest }) => rest)(full)]) {
    assert.equal(validate(bad), false, JSON.stringify(bad).slice(0, 120));
  }
});

test('the real trainer\'s samples.jsonl validates line by line', { timeout: 300_000, skip: !fs.existsSync(PY) && 'no .venv' }, () => {
  const runDir = tempDir('samples-schema');
  const r = spawnSync(PY, ['-m', 'rlhf_trainer', 'run', '--config', path.join(ROOT, 'examples/arithmetic/config.yaml'), '--run-dir', runDir, '--max-steps', '2'],
    { cwd: ROOT, encoding: 'utf8', timeout: 280_000, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') } });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const lines = fs.readFileSync(path.join(runDir, 'samples.jsonl'), 'utf8').trim().split('\n');
  assert.ok(lines.length >= 2, 'the trainer logged no samples');
  for (const line of lines) assert.ok(validate(JSON.parse(line)), `${JSON.stringify(validate.errors)} ${line.slice(0, 200)}`);
  // every recorded sample carries its group, dataset line and per-token data, entropy included
  for (const line of lines) {
    const r = JSON.parse(line) as SampleRecord;
    assert.ok(Number.isInteger(r.group) && Number.isInteger(r.sample_in_group) && r.source && r.source.line >= 1, line.slice(0, 200));
    for (const k of ['tokens', 'logprobs', 'ref_logprobs', 'kl', 'advantages', 'entropy'] as const) assert.equal(r[k]?.length, r.response_length, `${k}: ${line.slice(0, 200)}`);
  }
  // and the TypeScript index reads them: every sample lands on its dataset line
  const idx = new SampleIndex(runDir);
  assert.equal(idx.poll(), lines.length);
  const train = path.join(ROOT, 'examples/arithmetic/data/train.jsonl');
  const histories = [...idx.historiesOf(train).values()];
  assert.equal(histories.reduce((n, h) => n + h.total, 0), lines.length);
  const first = JSON.parse(lines[0]) as SampleRecord;
  const row = JSON.parse(fs.readFileSync(train, 'utf8').split('\n')[first.source!.line - 1]) as { prompt: string };
  assert.equal(row.prompt, first.prompt);
  // the eval at step 0 wrote eval_samples.jsonl: its lines validate against eval-sample.schema.json (which refers to sample.schema.json)
  const schemaOf = (n: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', n), 'utf8')) as object;
  const validateEval = new Ajv({ strict: true }).addSchema(schemaOf('sample.schema.json')).compile(schemaOf('eval-sample.schema.json'));
  const evalLines = fs.readFileSync(path.join(runDir, 'eval_samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(evalLines.some((e) => e.step === 0 && e.greedy === true) && evalLines.some((e) => e.greedy === false), 'an eval at step 0 with sampled and greedy responses');
  for (const e of evalLines) assert.ok(validateEval(e), `${JSON.stringify(validateEval.errors)} ${JSON.stringify(e).slice(0, 200)}`);
  assert.ok(!validateEval({ ...evalLines[0], step: -1 }) && !validateEval({ ...evalLines[0], greedy: undefined }));
  fs.rmSync(runDir, { recursive: true, force: true });
});

test('an alert event (reward-hacking signal) validates against events.schema.json; a broken one does not', () => {
  const events = new Ajv({ strict: false }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'events.schema.json'), 'utf8')) as object);
  const alert = { v: 1, type: 'alert', time: 1.5, kind: 'length_hacking', step: 40, steps: [21, 40], message: 'response length grew +38%' };
  assert.ok(events(alert), JSON.stringify(events.errors));
  for (const bad of [{ ...alert, steps: [40] }, { ...alert, steps: undefined }, { ...alert, step: 'x' }, { ...alert, message: undefined }]) {
    assert.equal(events(JSON.parse(JSON.stringify(bad))), false, JSON.stringify(bad));
  }
});
