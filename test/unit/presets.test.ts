// Presets fit the chosen model: its context length from config.json scales the preset's prompt and response
// lengths (issue #22: paper-math for the 64-position example model wrote max_new_tokens 1024).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { findPreset, fitLengths, modelPositions, renderPreset } from '../../src/core/presets';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');

function modelDir(conf: object): string {
  const dir = tempDir('rlhf-preset-model-');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(conf));
  return dir;
}

const lengths = (text: string) => {
  const c = YAML.parse(text) as { data: { max_prompt_tokens: number }; rollout: { max_new_tokens: number } };
  return { prompt: c.data.max_prompt_tokens, response: c.rollout.max_new_tokens };
};

test('paper-math for a 64-position model: prompt + response scaled to fit, and a comment says why', () => {
  const model = modelDir({ model_type: 'llama', max_position_embeddings: 64 });
  const text = renderPreset(findPreset('paper-math')!, { root: ROOT, model });
  const l = lengths(text);
  assert.deepEqual(l, { prompt: 32, response: 32 }); // Table 1's 1024 : 1024, scaled to 64 positions
  assert.match(text, /# adapted to the model: it has 64 positions \(max_position_embeddings in its config.json\)/);
  assert.match(text, /max_new_tokens: 32 +# the preset's 1024, scaled to the model's 64 positions/);
});

test('a model with room for the preset keeps its lengths, without a comment', () => {
  const model = modelDir({ n_positions: 4096 });
  const text = renderPreset(findPreset('paper-general')!, { root: ROOT, model });
  assert.deepEqual(lengths(text), { prompt: 1024, response: 1024 });
  assert.doesNotMatch(text, /adapted to the model/);
});

test('modelPositions: config.json keys (text_config first), a model id in the local Hugging Face cache, unknown models', () => {
  assert.deepEqual(modelPositions(modelDir({ text_config: { max_position_embeddings: 512 }, max_position_embeddings: 9 })), { positions: 512, key: 'max_position_embeddings' });
  assert.deepEqual(modelPositions(modelDir({ n_ctx: 128 })), { positions: 128, key: 'n_ctx' });
  assert.equal(modelPositions(modelDir({ hidden_size: 8 })), undefined);
  const hub = tempDir('rlhf-preset-hub-');
  const snap = path.join(hub, 'models--org--tiny', 'snapshots', 'abc');
  fs.mkdirSync(snap, { recursive: true });
  fs.writeFileSync(path.join(snap, 'config.json'), JSON.stringify({ max_position_embeddings: 256 }));
  assert.deepEqual(modelPositions('org/tiny', { HF_HUB_CACHE: hub }), { positions: 256, key: 'max_position_embeddings' });
  assert.equal(modelPositions('org/absent', { HF_HUB_CACHE: hub }), undefined);
  const text = renderPreset(findPreset('compare-grpo')!, { root: ROOT, model: 'org/tiny', env: { HF_HUB_CACHE: hub } });
  assert.deepEqual(lengths(text), { prompt: 128, response: 128 });
});

test('fitLengths keeps the proportion, fills the positions and leaves at least one token to each', () => {
  assert.deepEqual(fitLengths(1024, 1024, 64), { prompt: 32, response: 32, scaled: true });
  assert.deepEqual(fitLengths(1024, 3072, 64), { prompt: 16, response: 48, scaled: true });
  assert.deepEqual(fitLengths(1024, 1024, undefined), { prompt: 1024, response: 1024, scaled: false });
  assert.deepEqual(fitLengths(1024, 1024, 2048), { prompt: 1024, response: 1024, scaled: false });
  assert.deepEqual(fitLengths(1024, 1, 2), { prompt: 1, response: 1, scaled: true });
});
