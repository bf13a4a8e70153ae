// The batch arithmetic of a run config (issue #22): the same problems as the trainer's validate (the shared
// fixture trainer/tests/fixtures/batch_rules.json, which trainer/tests/test_batches.py checks config.py against),
// the rollout rule named while the train batch is wrong, and Quick Fixes that make the sizes fit.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { batchProblems, batchQuickFixes, batchSizesOf, type BatchProblem, type BatchSizes } from '../../src/core/batches';
import { applyFix, fixesOf } from '../../src/core/configCheck';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = JSON.parse(fs.readFileSync(path.join(ROOT, 'trainer', 'tests', 'fixtures', 'batch_rules.json'), 'utf8')) as
  { cases: { sizes: BatchSizes; problems: BatchProblem[] }[] };
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'config.schema.json'), 'utf8')) as object;

test('batchProblems gives the fixture\'s problems (the trainer\'s config.py is tested on the same file)', () => {
  assert.ok(FIXTURE.cases.length >= 10);
  for (const c of FIXTURE.cases) assert.deepEqual(batchProblems(c.sizes), c.problems, JSON.stringify(c.sizes));
});

test('a train batch that breaks the micro-batch names the rollout rule too, with a fix for both', () => {
  const [p] = batchProblems({ rolloutBatch: 256, samplesPerPrompt: 4, trainBatch: 100, microBatch: 8, maxEpochs: 1 });
  assert.equal(p.field, 'train.batch_size');
  assert.match(p.message, /not a multiple of micro_batch_size 8, nor does it divide a rollout batch of 1024 samples/);
  assert.deepEqual(fixesOf({ field: p.field, message: p.message }).map((f) => f.title), ['Set train.batch_size to 64']);
});

test('every problem has a Quick Fix, and applying the first fixes in turn makes the sizes fit', () => {
  const set = (s: BatchSizes, dotted: string, v: number): BatchSizes => {
    const key = ({ 'train.batch_size': 'trainBatch', 'train.micro_batch_size': 'microBatch', 'rollout.batch_size': 'rolloutBatch' } as const)[dotted];
    assert.ok(key, dotted);
    return { ...s, [key]: v };
  };
  for (let rb = 1; rb <= 24; rb++) for (const n of [1, 2, 4]) for (let tb = 1; tb <= 24; tb++) for (const mb of [1, 2, 3, 4, 8, 16, 32]) {
    let s: BatchSizes = { rolloutBatch: rb, samplesPerPrompt: n, trainBatch: tb, microBatch: mb, maxEpochs: 1 };
    for (let round = 0; round < 4 && batchProblems(s).length; round++) {
      const p = batchProblems(s)[0];
      const fixes = fixesOf({ field: p.field, message: p.message });
      assert.ok(fixes.length, `no fix in ${p.message}`);
      s = set(s, fixes[0].path.join('.'), Number(fixes[0].value));
    }
    assert.deepEqual(batchProblems(s), [], `${rb} x ${n}, ${tb}, ${mb}: still ${JSON.stringify(batchProblems(s))}`);
  }
});

test('batchSizesOf reads the config with the schema\'s defaults; batchQuickFixes edits the document', () => {
  const text = 'rollout:\n  batch_size: 256\n  n_samples_per_prompt: 4\ntrain:\n  batch_size: 100   # rollout.batch_size x n_samples_per_prompt must be a multiple\n';
  assert.deepEqual(batchSizesOf(text, SCHEMA), { rolloutBatch: 256, samplesPerPrompt: 4, trainBatch: 100, microBatch: 8, maxEpochs: 1 });
  assert.equal(batchSizesOf('rollout:\n  batch_size: many\n', SCHEMA), undefined);
  const fixes = batchQuickFixes(text, SCHEMA, 'train.batch_size');
  assert.deepEqual(fixes.map((f) => f.title), ['Set train.batch_size to 64']);
  assert.match(applyFix(text, fixes[0])!, /\n {2}batch_size: 64 {3}# rollout/);
  assert.deepEqual(batchQuickFixes(text, SCHEMA, 'rollout.max_new_tokens'), []);
});
