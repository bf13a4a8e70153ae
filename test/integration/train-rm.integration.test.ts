// Integration: `rlhf train-rm` with the real trainer (project .venv), no mocks. A small preference file
// trains a reward model as a run (run folder, rm_* metrics and held-out accuracy that validate against the
// events schema, `reward model: PATH`); that folder, added to a policy config by Use as Reward Model's
// edit, is a reward source the trainer's validate accepts. Bad input is the trainer's one line, before any
// run folder exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import YAML from 'yaml';
import { addRewardModelSource } from '../../src/core/rewardModel';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const env = { ...process.env, RLHF_PYTHON: PY };
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env, timeout: 600_000 });
const schema = (n: string): object => JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', n), 'utf8')) as object;

/** Pairs where the chosen answer is the sum and the rejected one the sum with '??' after it (a rule a model can learn). */
function pairs(file: string, from: number, n: number): void {
  const rows = Array.from({ length: n }, (_, i) => {
    const a = (from + i * 7) % 50, b = (from + i * 13) % 50;
    return JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: `${a + b}??` });
  });
  fs.writeFileSync(file, rows.join('\n') + '\n');
}

test('rlhf train-rm trains a reward model as a run, ends with reward model: PATH, and the folder is a reward source a policy config validates with',
  { timeout: 900_000 }, () => {
    const ws = tempDir('train-rm');
    pairs(path.join(ws, 'prefs.jsonl'), 0, 24);
    pairs(path.join(ws, 'held-out.jsonl'), 3, 8);
    const r = cli(ws, 'train-rm', '--data', 'prefs.jsonl', '--eval', 'held-out.jsonl', '--max-steps', '3', '--batch-size', '8');
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const runs = fs.readdirSync(path.join(ws, 'runs'));
    assert.equal(runs.length, 1);
    assert.match(runs[0], /^\d{8}-\d{6}-rm-prefs$/);
    const run = path.join(ws, 'runs', runs[0]);
    assert.match(r.stdout, /run completed at step 3; accuracy \d\.\d{3} -> \d\.\d{3}/);
    assert.match(r.stdout, /held-out accuracy \d\.\d{3} \(step 0\) -> \d\.\d{3} \(step 3\)/);
    const model = /^reward model: (.+)$/m.exec(r.stdout)?.[1];
    assert.ok(model, r.stdout);
    assert.equal(path.resolve(ws, model), path.join(run, 'reward_model'));
    assert.ok(fs.existsSync(path.join(run, 'reward_model', 'config.json')));

    // the config it trained with is in the run folder, every key of the schema filled, and validates
    const written = YAML.parse(fs.readFileSync(path.join(run, 'reward-model.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.equal(written.kind, 'reward_model');
    assert.deepEqual(Object.keys(written.train).sort(), Object.keys((schema('reward-model-config.schema.json') as { properties: { train: { properties: object } } }).properties.train.properties).sort());
    assert.equal(written.train.lr, 1e-3); // the embedded example model's default (read back as a number, not a string)
    assert.equal(cli(ws, 'validate', path.join(run, 'reward-model.yaml')).status, 0);

    // events: the rm_* metrics every step and the held-out accuracy, all valid against the events schema
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(schema('events.schema.json'));
    const events = fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; values?: Record<string, number> });
    for (const e of events) assert.ok(validate(e), JSON.stringify(validate.errors) + JSON.stringify(e).slice(0, 200));
    const metrics = events.filter((e) => e.type === 'metrics');
    assert.equal(metrics.length, 3);
    for (const m of metrics) for (const k of ['rm_loss', 'rm_accuracy', 'rm_margin', 'rm_chosen', 'rm_rejected', 'lr', 'grad_norm']) assert.equal(typeof m.values?.[k], 'number', k);
    assert.ok(events.some((e) => e.type === 'eval' && typeof e.values?.eval_rm_accuracy === 'number'));
    const status = JSON.parse(fs.readFileSync(path.join(run, 'status.json'), 'utf8')) as { state: string; reward_model: string };
    assert.ok(ajv.validate(schema('status.schema.json'), status), JSON.stringify(ajv.errors));
    assert.equal(status.state, 'completed');
    assert.equal(status.reward_model, path.join(run, 'reward_model'));

    // Use as Reward Model's edit on a policy config: the trainer's validate loads it as a reward source
    const policy = path.join(ws, 'policy.yaml');
    const text = fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8').replace('policy: model', `policy: ${JSON.stringify(path.join(EX, 'model'))}`)
      .replace('prompts: data/train.jsonl', `prompts: ${JSON.stringify(path.join(EX, 'data', 'train.jsonl'))}`)
      .replace('eval_prompts: data/eval.jsonl', 'eval_prompts: null');
    fs.writeFileSync(policy, addRewardModelSource(text, policy, status.reward_model, 'prefs_rm').text);
    const v = cli(ws, 'validate', 'policy.yaml');
    assert.equal(v.status, 0, v.stderr + v.stdout);
    assert.deepEqual((YAML.parse(fs.readFileSync(policy, 'utf8')) as { reward: { sources: unknown[] } }).reward.sources,
      [{ name: 'prefs_rm', reward_model: path.join('runs', runs[0], 'reward_model') }]);
  });

test('rlhf train-rm on bad input: a missing file or a pair without a field is one line naming it, and no run folder is left', { timeout: 300_000 }, () => {
  const ws = tempDir('train-rm-bad');
  const missing = cli(ws, 'train-rm', '--data', 'nope.jsonl');
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /^rlhf train-rm: nope\.jsonl: no such preference file/);
  const usage = cli(ws, 'train-rm');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /give the preference pairs: --data PREFS\.jsonl/);

  fs.writeFileSync(path.join(ws, 'prefs.jsonl'), `${JSON.stringify({ prompt: '1+1=', chosen: '2', rejected: '3' })}\n${JSON.stringify({ prompt: '1+2=', chosen: '3' })}\n`);
  const bad = cli(ws, 'train-rm', '--data', 'prefs.jsonl');
  assert.equal(bad.status, 2, bad.stdout);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /^rlhf train-rm: .*prefs\.jsonl:2: .*rejected/);
  assert.ok(!fs.existsSync(path.join(ws, 'runs')) || fs.readdirSync(path.join(ws, 'runs')).length === 0, 'a refused config leaves no run folder');
});
