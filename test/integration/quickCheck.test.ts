// The editor's checks without Python (src/core/quickCheck.ts, issue #22) against the trainer's own validate on
// the same text: the batch rules, and the prompt-length check from the model facts `validate --facts` printed
// for the valid config (kept per model folder), give the problem the trainer gives, at the same line.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { parseTrainerProblem, trainerValidate } from '../../src/core/configCheck';
import { batchLineProblems, factsKey, positionProblems } from '../../src/core/quickCheck';
import { installLayout } from '../../src/core/training';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const layout = installLayout(ROOT);
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'config.schema.json'), 'utf8')) as object;

const ws = tempDir('quickcheck');
const file = path.join(ws, 'config.yaml');
function write(edit: (doc: YAML.Document) => void): string {
  const doc = YAML.parseDocument(fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8'));
  doc.setIn(['model', 'policy'], path.join(EX, 'model'));
  doc.setIn(['data', 'prompts'], path.join(EX, 'data', 'train.jsonl'));
  doc.setIn(['data', 'eval_prompts'], path.join(EX, 'data', 'eval.jsonl'));
  edit(doc);
  const text = doc.toString();
  fs.writeFileSync(file, text);
  return text;
}
const trainerProblems = async () => (await trainerValidate(PY, layout, file)).problems.map(parseTrainerProblem);

test('the checks without Python give the trainer\'s problems for the batch rules and, from kept facts, the prompt lengths', { timeout: 600_000 }, async () => {
  const valid = write(() => undefined);
  const answer = await trainerValidate(PY, layout, file, { facts: true });
  assert.deepEqual(answer.problems, []);
  const facts = answer.facts;
  assert.ok(facts && facts.positions === 64 && facts.longest_prompt > 0, JSON.stringify(facts));
  const key = factsKey(valid, file);
  assert.notEqual(key, '');

  const tooLong = write((d) => d.setIn(['rollout', 'max_new_tokens'], 62));
  assert.equal(factsKey(tooLong, file), key, 'the same model folder and prompts: the kept facts apply');
  const ts = positionProblems(tooLong, SCHEMA, facts);
  assert.equal(ts.length, 1);
  assert.deepEqual(await trainerProblems(), ts);

  const capped = write((d) => { d.setIn(['rollout', 'max_new_tokens'], 62); d.setIn(['data', 'max_prompt_tokens'], 4); });
  const tsCapped = positionProblems(capped, SCHEMA, facts);
  assert.match(tsCapped[0]?.message ?? '', /\(after data\.max_prompt_tokens\)/);
  assert.deepEqual(await trainerProblems(), tsCapped);
  assert.notEqual(factsKey(write((d) => d.setIn(['data', 'prompt_key'], 'question')), file), key, 'another prompt key: facts asked again');

  const batch = write((d) => { d.setIn(['train', 'batch_size'], 60); d.setIn(['train', 'micro_batch_size'], 16); });
  const tsBatch = batchLineProblems(batch, SCHEMA);
  assert.deepEqual(tsBatch.map((p) => p.field), ['train.batch_size']);
  assert.deepEqual(await trainerProblems(), tsBatch);
});
