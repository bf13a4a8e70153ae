// ONNX reward models as rules: a tiny Bradley-Terry reward model (LlamaForSequenceClassification,
// one label, the example's char tokenizer) built from a config and exported by
// `python -m rlhf_trainer.onnx_export` (real processes, which also write PyTorch's scores); the
// onnxruntime-node scores, batched with padding, equal PyTorch's within 1e-4, and the rule engine adds
// an onnx_model rule to the sandboxed rules' weighted sum and breakdown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { loadOnnxRewardModel, scoreSamples } from '../../src/core/onnx/rewardModel';
import { RewardEngine } from '../../src/core/rewards/engine';
import { rulesFromSpecs } from '../../src/core/rewards/load';
import YAML from 'yaml';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const WORKER = path.join(ROOT, 'dist', 'reward-eval-worker.js');

interface Scored { prompt: string; response: string; score: number }

function pythonMissing(): string | undefined {
  if (!fs.existsSync(PY)) return `${PY} is missing (npm run setup creates it)`;
  const r = spawnSync(PY, ['-c', 'import onnx, onnxruntime, torch, transformers'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `.venv lacks onnx/onnxruntime (pip install -r trainer/requirements.txt): ${r.stderr.trim().split('\n').pop()}`;
}
const skipReason = pythonMissing();

function python(args: string[]): string {
  const r = spawnSync(PY, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${args.slice(0, 2).join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tmp = '';
let exported = '';
let reference: Scored[] = [];

before(() => {
  if (skipReason) return;
  tmp = tempDir('onnx-reward');
  const built = path.join(tmp, 'reward-model');
  python(['-c', 'import sys; from pathlib import Path; from rlhf_trainer.onnx_export import create_tiny_reward_model; '
    + 'create_tiny_reward_model(Path(sys.argv[1]), Path(sys.argv[2]))', built, path.join(ROOT, 'examples', 'arithmetic', 'model')]);
  // lengths from 2 to 30 characters, so batches are padded
  const samples = Array.from({ length: 24 }, (_, i) => ({ prompt: `${i}+${i * 7 % 50}=`, response: String(i * 13).repeat(1 + (i % 7)) }));
  const file = path.join(tmp, 'samples.jsonl');
  fs.writeFileSync(file, samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  exported = path.join(tmp, 'reward-onnx');
  const log = python(['-m', 'rlhf_trainer.onnx_export', built, '-o', exported, '--reference-prompts', file]);
  assert.match(log, /tracing reward model LlamaForSequenceClassification/);
  reference = JSON.parse(fs.readFileSync(path.join(exported, 'onnx', 'reference_scores.json'), 'utf8')) as Scored[];
});

test('ONNX reward model scores (batched, padded) equal PyTorch scores within 1e-4', { skip: skipReason, timeout: 120_000 }, async () => {
  const model = await loadOnnxRewardModel(exported, { device: 'cpu' });
  try {
    for (const batch of [1, 5, 24]) {
      const got = await scoreSamples(model, reference, batch);
      got.forEach((s, i) => assert.ok(Math.abs(s - reference[i].score) <= 1e-4, `batch ${batch}, sample ${i}: ${s} vs PyTorch ${reference[i].score}`));
    }
    // not a constant: the scores tell samples apart
    assert.ok(new Set(reference.map((r) => r.score.toFixed(4))).size > 10);
  } finally {
    await model.session.release();
  }
});

test('rule engine: an onnx_model rule is scored beside the sandboxed rules, weighted and in the breakdown', { skip: skipReason, timeout: 120_000 }, async () => {
  const rules = rulesFromSpecs([
    { name: 'correct', kind: 'answer_match', extract: 'full' },
    { name: 'rm', kind: 'onnx_model', path: path.relative(tmp, exported), weight: 0.5, batch_size: 4 },
  ], tmp);
  const engine = new RewardEngine(rules, { workerScript: WORKER, workers: 1 });
  try {
    await engine.ready();
    const samples = reference.slice(0, 6).map((r, i) => ({ prompt: r.prompt, response: r.response, label: i % 2 ? r.response : 'nope' }));
    const results = await engine.evaluate(samples);
    results.forEach((res, i) => {
      assert.equal(res.error, undefined);
      assert.equal(res.breakdown.correct, i % 2);
      assert.ok(Math.abs(res.breakdown.rm - reference[i].score) <= 1e-4, `${res.breakdown.rm} vs ${reference[i].score}`);
      assert.ok(Math.abs(res.reward - (i % 2 + 0.5 * reference[i].score)) <= 1e-4);
    });
  } finally {
    await engine.close();
  }
});

test('rule engine: an onnx_model rule whose folder has no export fails to load with one line naming the rule', { skip: skipReason }, async () => {
  const engine = new RewardEngine(rulesFromSpecs([{ name: 'rm', kind: 'onnx_model', path: 'missing' }], tmp), { workerScript: WORKER, workers: 1 });
  try {
    await assert.rejects(engine.ready(), (e: Error) => {
      assert.equal(e.message, `rule rm: ${path.join(tmp, 'missing')}: no onnx/model.onnx; export it first: rlhf export ${path.join(tmp, 'missing')} --format onnx -o ${path.join(tmp, 'missing')}  (or: python -m rlhf_trainer.onnx_export ${path.join(tmp, 'missing')} -o ${path.join(tmp, 'missing')})`);
      return true;
    });
  } finally {
    await engine.close();
  }
});

test('the trainer scores with an onnx_model rule through its reward worker (real trainer, 2 steps)', { skip: skipReason, timeout: 300_000 }, async () => {
  const ex = path.join(ROOT, 'examples', 'arithmetic');
  const cfg = YAML.parse(fs.readFileSync(path.join(ex, 'config.yaml'), 'utf8')) as {
    model: { policy: string }; data: { prompts: string; eval_prompts: string | null }; checkpoint: { every_steps: number | null };
    reward: { rules: object[] };
  };
  cfg.model.policy = path.join(ex, 'model');
  cfg.data.prompts = path.join(ex, 'data', 'train.jsonl');
  cfg.data.eval_prompts = null;
  cfg.checkpoint.every_steps = null;
  cfg.reward.rules.push({ name: 'rm', kind: 'onnx_model', path: exported, weight: 0.5 });
  const config = path.join(tmp, 'config.yaml');
  fs.writeFileSync(config, YAML.stringify(cfg));
  const runDir = path.join(tmp, 'run');
  python(['-m', 'rlhf_trainer', 'run', '--config', config, '--run-dir', runDir, '--max-steps', '2']);
  const samples = fs.readFileSync(path.join(runDir, 'samples.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { prompt: string; response: string; label: string; reward: number });
  assert.ok(samples.length >= 8);
  const model = await loadOnnxRewardModel(exported, { device: 'cpu' });
  try {
    const scores = await scoreSamples(model, samples);
    samples.forEach((s, i) => {
      const expected = (s.response.trim() === s.label ? 1 : 0) + 0.5 * scores[i];
      assert.ok(Math.abs(s.reward - expected) <= 1e-4, `sample ${i} (${s.prompt}${s.response}): reward ${s.reward}, expected ${expected}`);
    });
  } finally {
    await model.session.release();
  }
});
