// Integration: the rlhf CLI drives the real trainer (project .venv) end to end; every event it
// writes validates against schemas/events.schema.json with ajv (the Python tests use jsonschema).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import YAML from 'yaml';
import { configDocs } from '../../scripts/config-docs.mjs';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EX = path.join(ROOT, 'examples', 'arithmetic');
/** A JSON Schema from schemas/ (ajv checks the schema itself). */
const schema = (n: string): object => {
  const s: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', n), 'utf8'));
  assert.ok(typeof s === 'object' && s !== null, `${n} is not a JSON object`);
  return s;
};

/** The sections of examples/arithmetic/config.yaml that these tests change (the rest is kept as it is). */
interface ExampleConfig {
  model: { policy: string };
  data: { prompts: string; eval_prompts: string | null };
  train: { max_steps: number; num_episodes: number };
  checkpoint: { every_steps: number | null };
  algorithm: { estimator: string };
}
function readExampleConfig(): ExampleConfig {
  const cfg: unknown = YAML.parse(fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8'));
  assert.ok(typeof cfg === 'object' && cfg !== null, 'config.yaml is not a mapping');
  for (const section of ['model', 'data', 'train', 'checkpoint', 'algorithm']) {
    const v = (cfg as Record<string, unknown>)[section];
    assert.ok(typeof v === 'object' && v !== null, `config.yaml has no ${section} section`);
  }
  return cfg as ExampleConfig;
}

function workspace(maxSteps: number, extra: (cfg: ExampleConfig) => void = () => undefined): string {
  const ws = tempDir('cli');
  const cfg = readExampleConfig();
  cfg.model.policy = path.join(EX, 'model');
  cfg.data.prompts = path.join(EX, 'data', 'train.jsonl');
  cfg.data.eval_prompts = null;
  cfg.train.max_steps = maxSteps;
  cfg.checkpoint.every_steps = null;
  extra(cfg);
  fs.writeFileSync(path.join(ws, 'config.yaml'), YAML.stringify(cfg));
  return ws;
}

test('rlhf train runs the real trainer; events validate against the schema', { timeout: 300_000 }, () => {
  const ws = workspace(3);
  const r = spawnSync(process.execPath, [CLI, 'train', 'config.yaml'], { cwd: ws, encoding: 'utf8', env: { ...process.env, RLHF_PYTHON: PY }, timeout: 280_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /run completed at step 3; reward \d\.\d{3} -> \d\.\d{3}/);
  const runs = fs.readdirSync(path.join(ws, 'runs'));
  assert.equal(runs.length, 1);
  assert.match(runs[0], /^\d{8}-\d{6}-arithmetic$/);
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(schema('events.schema.json'));
  const lines = fs.readFileSync(path.join(ws, 'runs', runs[0], 'events.jsonl'), 'utf8').trim().split('\n');
  for (const line of lines) assert.ok(validate(JSON.parse(line)), JSON.stringify(validate.errors) + line.slice(0, 200));
  const status = JSON.parse(fs.readFileSync(path.join(ws, 'runs', runs[0], 'status.json'), 'utf8')) as { state: string };
  assert.ok(ajv.validate(schema('status.schema.json'), status));
  assert.equal(status.state, 'completed');
  const list = spawnSync(process.execPath, [CLI, 'runs'], { cwd: ws, encoding: 'utf8' });
  assert.match(list.stdout, new RegExp(`${runs[0]}\\s+completed\\s+3/3\\s+\\d\\.\\d{3}\\s+1`));
});

test('rlhf train with a bad config fails with the trainer\'s one-line message, before a run folder exists', { timeout: 120_000 }, () => {
  const ws = workspace(3, (cfg) => { cfg.algorithm.estimator = 'grpo'; });
  const r = spawnSync(process.execPath, [CLI, 'train', 'config.yaml'], { cwd: ws, encoding: 'utf8', env: { ...process.env, RLHF_PYTHON: PY } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /config\.yaml:\d+: rollout\.n_samples_per_prompt: estimator 'grpo' .* needs n_samples_per_prompt >= 2/);
  assert.equal(fs.existsSync(path.join(ws, 'runs')), false);
  const noPy = spawnSync(process.execPath, [CLI, 'train', 'config.yaml', '--python', '/no/such/python'], { cwd: ws, encoding: 'utf8' });
  assert.equal(noPy.status, 2);
  assert.match(noPy.stderr, /was not found[\s\S]*fix: Set rlhf.pythonPath/);
});

test('Ctrl-C on rlhf train stops the run gracefully with a checkpoint', { timeout: 300_000 }, async () => {
  const ws = workspace(100000, (cfg) => { cfg.train.num_episodes = 1000; });
  const child = spawn(process.execPath, [CLI, 'train', 'config.yaml'], { cwd: ws, env: { ...process.env, RLHF_PYTHON: PY } });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const runsDir = path.join(ws, 'runs');
  await until('the first metrics event', () => {
    const runs = fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [];
    const ev = runs.length ? path.join(runsDir, runs[0], 'events.jsonl') : '';
    return ev !== '' && fs.existsSync(ev) && fs.readFileSync(ev, 'utf8').includes('"type":"metrics"');
  }, 240_000, 100);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /stopping: finishing the current step/);
  assert.match(out, /run stopped at step \d+/);
  assert.match(out, /checkpoint: runs\/.*step-\d{6}/);
});

test('docs/config.md is generated from the current schema', () => {
  const current = fs.readFileSync(path.join(ROOT, 'docs', 'config.md'), 'utf8');
  assert.equal(current, configDocs(schema('config.schema.json')), 'run: node scripts/config-docs.mjs');
});
