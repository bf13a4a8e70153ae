// The checks the editor runs on every edit without Python (issue #22): the batch rules at the line of the
// value they are about, with the trainer's messages (the shared fixture trainer/tests/fixtures/batch_rules.json,
// which trainer/tests/test_batches.py checks config.py against); schema problems first; the trainer's answers
// kept by text and model folder; and the trainer's refusal of a config read back from trainer.log.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import type { BatchProblem, BatchSizes } from '../../src/core/batches';
import { parseTrainerProblem } from '../../src/core/configCheck';
import { refusedConfigProblems } from '../../src/core/launcher';
import { batchLineProblems, modelStamp, quickProblems, ValidationCache } from '../../src/core/quickCheck';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = JSON.parse(fs.readFileSync(path.join(ROOT, 'trainer', 'tests', 'fixtures', 'batch_rules.json'), 'utf8')) as
  { cases: { sizes: BatchSizes; problems: BatchProblem[] }[] };
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'config.schema.json'), 'utf8')) as object;
const EXAMPLE = fs.readFileSync(path.join(ROOT, 'examples', 'arithmetic', 'config.yaml'), 'utf8');

/** The example config with these batch sizes written in it. */
function withSizes(s: BatchSizes): string {
  const doc = YAML.parseDocument(EXAMPLE);
  doc.setIn(['rollout', 'batch_size'], s.rolloutBatch);
  doc.setIn(['rollout', 'n_samples_per_prompt'], s.samplesPerPrompt);
  doc.setIn(['train', 'batch_size'], s.trainBatch);
  doc.setIn(['train', 'micro_batch_size'], s.microBatch);
  doc.setIn(['train', 'max_epochs'], s.maxEpochs);
  return doc.toString();
}

test('every edit\'s check without Python finds the fixture\'s batch problems, with the trainer\'s messages, at the line of their field', () => {
  assert.ok(FIXTURE.cases.length >= 10);
  for (const c of FIXTURE.cases) {
    const text = withSizes(c.sizes);
    const found = quickProblems(text, SCHEMA);
    assert.deepEqual(found.map((p) => ({ field: p.field, message: p.message })), c.problems, JSON.stringify(c.sizes));
    for (const p of found) {
      const key = p.field!.split('.').pop()!;
      const line = text.split('\n')[p.line! - 1];
      assert.match(line, new RegExp(`^\\s+${key}: `), `${p.field} at line ${p.line}: ${line}`);
    }
  }
});

test('the problems read like the trainer\'s validate lines, so one Quick Fix path serves both', () => {
  const text = withSizes({ rolloutBatch: 128, samplesPerPrompt: 1, trainBatch: 60, microBatch: 60, maxEpochs: 1 });
  const [p] = batchLineProblems(text, SCHEMA);
  const asTrainer = parseTrainerProblem(`config error: config.yaml:${p.line}: ${p.field}: ${p.message}`);
  assert.deepEqual(asTrainer, p);
});

test('a config that fails the schema gets the schema problems, not batch arithmetic on values it does not hold', () => {
  const text = EXAMPLE.replace(/^( {2}batch_size:) 64$/m, '$1 sixty');
  const found = quickProblems(text, SCHEMA);
  assert.ok(found.length >= 1);
  assert.ok(found.every((p) => p.field === 'train.batch_size' && !/rollout batch/.test(p.message)), JSON.stringify(found));
  assert.deepEqual(batchLineProblems(text, SCHEMA), []);
});

test('the trainer\'s answers are kept by text and model folder: a changed config.json or tokenizer asks again', () => {
  const ws = tempDir('quick');
  const model = path.join(ws, 'model');
  fs.mkdirSync(model);
  fs.writeFileSync(path.join(model, 'config.json'), '{}');
  const file = path.join(ws, 'config.yaml');
  const text = 'model:\n  policy: model\ntrain:\n  batch_size: 8\n';
  const cache = new ValidationCache<string>();
  const key = cache.key(file, text);
  cache.set(key, 'answer');
  assert.equal(cache.get(cache.key(file, text)), 'answer');
  assert.equal(cache.get(cache.key(file, text.replace('8', '16'))), undefined, 'another text');
  assert.match(modelStamp(text, file), /config\.json:/);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(model, 'config.json'), later, later);
  assert.equal(cache.get(cache.key(file, text)), undefined, 'config.json changed');
  cache.set(cache.key(file, text), 'again');
  fs.writeFileSync(path.join(model, 'tokenizer_config.json'), '{}');
  assert.equal(cache.get(cache.key(file, text)), undefined, 'a tokenizer file appeared');
  assert.equal(modelStamp('model: [unclosed', file), '');
  const small = new ValidationCache<number>(2);
  small.set('a', 1); small.set('b', 2); small.set('c', 3);
  assert.equal(small.get('a'), undefined);
  assert.equal(small.get('c'), 3);
});

test('a config the trainer refused is read back from trainer.log: its problems once each (torchrun prints one copy per rank)', () => {
  const run = tempDir('refused');
  assert.deepEqual(refusedConfigProblems(run, 2), [], 'no trainer.log');
  fs.writeFileSync(path.join(run, 'trainer.log'), [
    'some warning',
    'config error: /w/config.yaml:20: rollout.n_samples_per_prompt: estimator \'grpo\' needs n_samples_per_prompt >= 2',
    'config error: /w/config.yaml:20: rollout.n_samples_per_prompt: estimator \'grpo\' needs n_samples_per_prompt >= 2',
    'config error: /w/config.yaml:9: data.prompts: no such file',
    'error: --resume: no such checkpoint',
    '',
  ].join('\n'));
  assert.deepEqual(refusedConfigProblems(run, 1), ['/w/config.yaml:20: rollout.n_samples_per_prompt: estimator \'grpo\' needs n_samples_per_prompt >= 2',
    '/w/config.yaml:9: data.prompts: no such file']);
  assert.equal(refusedConfigProblems(run, 2).length, 3, 'exit 2: an argument error is a refusal too');
  const size = fs.statSync(path.join(run, 'trainer.log')).size;
  fs.appendFileSync(path.join(run, 'trainer.log'), 'Traceback (most recent call last):\nRuntimeError: boom\n');
  assert.deepEqual(refusedConfigProblems(run, 1, size), [], 'an earlier start\'s lines are not this trainer\'s');
});
