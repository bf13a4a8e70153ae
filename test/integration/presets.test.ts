// Presets and validation from the terminal, with the real trainer (project .venv): every preset written by
// `rlhf config new` validates and trains one step of the embedded model on CPU; a table of bad configs
// each gives its message at its line from `rlhf validate` (exit 2); the Quick Fix edits are the ones the
// messages name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { PRESETS, guessKeys, jsonlKeys } from '../../src/core/presets';
import { applyFix, fixesOf, parseTrainerProblem } from '../../src/core/configCheck';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const env = { ...process.env, RLHF_PYTHON: PY };
const rlhf = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env, timeout: 280_000 });

test('every preset is written, validates with the trainer and trains one step of the embedded model', { timeout: 1_800_000 }, () => {
  const ws = tempDir('presets');
  const listed = rlhf(ws, 'config', 'presets');
  assert.equal(listed.status, 0, listed.stderr);
  for (const p of PRESETS) assert.match(listed.stdout, new RegExp(`^${p.name} `, 'm'));
  assert.ok(PRESETS.length >= 7);
  for (const p of PRESETS) {
    const file = `${p.name}.yaml`;
    const made = rlhf(ws, 'config', 'new', '--preset', p.name, '-o', file);
    assert.equal(made.status, 0, made.stderr);
    const v = rlhf(ws, 'validate', file);
    assert.equal(v.status, 0, `${p.name}: ${v.stderr}`);
    assert.match(v.stdout, /: ok/);
    const cfg = YAML.parse(fs.readFileSync(path.join(ws, file), 'utf8')) as { algorithm: { estimator: string }; rollout: { n_samples_per_prompt: number; batch_size: number }; train: { batch_size: number }; data: { eval_prompts: string | null } };
    assert.equal(cfg.algorithm.estimator, p.estimator);
    assert.equal(cfg.rollout.batch_size, p.rolloutBatch);
    // one step: no held-out evaluation (it would be most of the time), the preset's batch sizes as written
    // (the text is edited, not re-serialised: PyYAML reads YAML 1.2's `5e-7` as a string)
    const text = fs.readFileSync(path.join(ws, file), 'utf8');
    assert.ok(cfg.data.eval_prompts && /^ {2}eval_prompts: .*$/m.test(text));
    fs.writeFileSync(path.join(ws, `${p.name}-step.yaml`), text.replace(/^ {2}eval_prompts: .*$/m, '  eval_prompts: null'));
    const run = spawnSync(PY, ['-m', 'rlhf_trainer', 'run', '--config', `${p.name}-step.yaml`, '--run-dir', path.join(ws, 'runs', p.name), '--max-steps', '1', '--no-stdin'],
      { cwd: ws, encoding: 'utf8', timeout: 600_000, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer'), RLHF_REWARD_WORKER: path.join(ROOT, 'dist', 'reward-worker.js') } });
    assert.equal(run.status, 0, `${p.name}: ${run.stdout.slice(-2000)}`);
    const events = fs.readFileSync(path.join(ws, 'runs', p.name, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: number; config?: { algorithm: { estimator: string } } });
    assert.ok(events.some((e) => e.type === 'metrics' && e.step === 1), `${p.name}: no metrics for step 1`);
    assert.equal(events.find((e) => e.type === 'run_started')?.config?.algorithm.estimator, p.estimator);
  }
  // written files are not overwritten
  const again = rlhf(ws, 'config', 'new', '--preset', PRESETS[0].name, '-o', `${PRESETS[0].name}.yaml`);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists/);
});

/** A bad config: the edit to the embedded preset, the field and the line `rlhf validate` must name, and a word of the message. */
const BAD: { name: string; edit: (text: string) => string; field: string; key: string; message: RegExp; fix?: string }[] = [
  { name: 'grpo with one sample per prompt', edit: (t) => t.replace('estimator: reinforce_pp', 'estimator: grpo'), field: 'rollout.n_samples_per_prompt',
    key: 'n_samples_per_prompt:', message: /needs n_samples_per_prompt >= 2/, fix: 'Set rollout.n_samples_per_prompt to 4' },
  { name: 'rollout not a multiple of the train batch', edit: (t) => t.replace('batch_size: 128', 'batch_size: 100'), field: 'train.batch_size',
    key: '  batch_size: 64', message: /not a multiple of train.batch_size 64/, fix: 'Set rollout.batch_size to 128' },
  { name: 'prompt + response beyond the positions', edit: (t) => t.replace('max_new_tokens: 6', 'max_new_tokens: 100'), field: 'rollout.max_new_tokens',
    key: 'max_new_tokens:', message: /beyond the model's 64 positions/ },
  { name: 'missing prompt file', edit: (t) => t.replace(/prompts: ".*train\.jsonl"/, 'prompts: "nowhere.jsonl"'), field: 'data.prompts',
    key: '  prompts:', message: /prompt file .*nowhere\.jsonl not found/ },
  { name: 'unknown key (schema)', edit: (t) => t.replace('  temperature: 1.0', '  temperature: 1.0\n  temprature: 0.7'), field: 'rollout',
    key: 'temprature:', message: /unknown key 'temprature'/ },
  { name: 'a rule that does not compile', edit: (t) => t.replace('      extract: full', '      extract: full\n    - name: bad\n      kind: regex\n      pattern: "(["'),
    field: 'reward.rules[1]', key: '    - name: bad', message: /regular expression|regex|pattern/i },
];

test('bad configs: rlhf validate names each problem at its line (exit 2)', { timeout: 600_000 }, () => {
  const ws = tempDir('bad');
  assert.equal(rlhf(ws, 'config', 'new', '--preset', 'arithmetic-cpu', '-o', 'good.yaml').status, 0);
  const good = fs.readFileSync(path.join(ws, 'good.yaml'), 'utf8');
  for (const bad of BAD) {
    const text = bad.edit(good);
    assert.notEqual(text, good, `${bad.name}: the edit changed nothing`);
    fs.writeFileSync(path.join(ws, 'bad.yaml'), text);
    const r = rlhf(ws, 'validate', 'bad.yaml');
    assert.equal(r.status, 2, `${bad.name}: ${r.stdout}${r.stderr}`);
    const line = text.split('\n').findIndex((l) => l.includes(bad.key)) + 1;
    const first = r.stderr.trim().split('\n')[0];
    assert.ok(first.startsWith(`bad.yaml:${line}: ${bad.field}: `), `${bad.name}: expected bad.yaml:${line}: ${bad.field}: …, got ${first}`);
    assert.match(first, bad.message, bad.name);
    if (bad.fix) {
      const fix = fixesOf(parseTrainerProblem(first)).find((f) => f.title === bad.fix);
      assert.ok(fix, `${bad.name}: no fix '${bad.fix}' in ${JSON.stringify(fixesOf(parseTrainerProblem(first)))}`);
      fs.writeFileSync(path.join(ws, 'fixed.yaml'), applyFix(text, fix)!);
      const fixed = rlhf(ws, 'validate', 'fixed.yaml');
      assert.equal(fixed.status, 0, `${bad.name}: after ${fix.title}: ${fixed.stderr}`);
    }
  }
});

test('dataset keys are picked from the first rows', () => {
  const dir = tempDir('keys');
  const file = path.join(dir, 'd.jsonl');
  fs.writeFileSync(file, '{"id": 1, "question": "2+2?", "solution": "4"}\nnot json\n{"question": "x", "meta": {"a": 1}}\n');
  assert.deepEqual(jsonlKeys(file), ['id', 'question', 'solution']);
  assert.deepEqual(guessKeys(jsonlKeys(file)), { prompt: 'question', label: 'solution' });
  assert.deepEqual(guessKeys(['text_in', 'text_out']), { prompt: 'text_in', label: 'text_out' });
});
