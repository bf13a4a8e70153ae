// Export as verl job: the overrides a config maps to, the Parquet data as verl reads it, every
// override checked against verl's own ppo_trainer.yaml (Hydra, in .venv-checks), and the
// exported reward function scoring through a real `rlhf serve-rewards` server.
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import YAML from 'yaml';
import { openExternalRun } from '../../src/core/adapters/index';
import { readAll } from '../../src/core/adapters/watchCommand';
import { Float, PROJECT_NAME, exportOpenRlhfJob, exportVerlJob, hydraArg, verlOverrides, withDefaults } from '../../src/core/exportJob';
import { RewardEngine } from '../../src/core/rewards/engine';
import { loadRules } from '../../src/core/rewards/load';
import { serveRewards } from '../../src/core/rewards/serve';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const CONFIG = path.join(ROOT, 'examples/arithmetic/config.yaml');
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas/config.schema.json'), 'utf8')) as Record<string, unknown>;
// verl's and OpenRLHF's own config and parser: .venv-checks (scripts/setup-checks.sh, made by npm test), else .venv-fixtures
const FIXTURE_PY = ['.venv-checks', '.venv-fixtures'].map((v) => path.join(ROOT, v, 'bin/python')).find((p) => fs.existsSync(p)) ?? path.join(ROOT, '.venv-checks/bin/python');
const WORKER = path.join(ROOT, 'dist/reward-eval-worker.js');
const tmp = (): string => tempDir('export');
const paths = { modelPath: '/m', trainFile: '/d/train.parquet', valFile: '/d/val.parquet', rewardFile: '/r.py', outDir: '/out', nnodes: 1, gpusPerNode: 8, rolloutEngine: 'vllm' };

function overridesOf(patch: Record<string, unknown>): Map<string, string> {
  const cfg = withDefaults(SCHEMA, { ...(YAML.parse(fs.readFileSync(CONFIG, 'utf8')) as object), ...patch }) as Record<string, unknown>;
  return new Map(verlOverrides(cfg, paths).overrides.map((o) => [o[0], hydraArg(o).slice(o[0].length + 1)]));
}

test('the arithmetic config maps onto verl\'s keys: estimator, KL in the reward, batch sizes in prompts, file logger', () => {
  const o = overridesOf({});
  assert.equal(o.get('algorithm.adv_estimator'), 'reinforce_plus_plus');
  assert.equal(o.get('algorithm.use_kl_in_reward'), 'true');
  assert.equal(o.get('algorithm.kl_ctrl.kl_coef'), '0.001');
  assert.equal(o.get('algorithm.kl_penalty'), 'kl');
  assert.equal(o.get('actor_rollout_ref.actor.use_kl_loss'), 'false');
  assert.equal(o.get('data.train_batch_size'), '128');
  assert.equal(o.get('actor_rollout_ref.actor.ppo_mini_batch_size'), '64');
  assert.equal(o.get('actor_rollout_ref.rollout.temperature'), '1.0'); // a float stays a float
  assert.equal(o.get('actor_rollout_ref.actor.optim.lr'), '0.0002');
  assert.equal(o.get('trainer.logger'), '[console,file]');
  assert.equal(o.get('trainer.rollout_data_dir'), '/out/rollouts');
  assert.equal(o.get('trainer.total_training_steps'), '200');
});

test('estimators and KL modes: GRPO n=4 counts mini-batches in prompts; KL as a loss with k3; Dr. GRPO', () => {
  const g = overridesOf({ rollout: { batch_size: 32, n_samples_per_prompt: 4 }, algorithm: { estimator: 'grpo', kl: { coef: 0.04, mode: 'loss', estimator: 'k3' } } });
  assert.equal(g.get('algorithm.adv_estimator'), 'grpo');
  assert.equal(g.get('actor_rollout_ref.rollout.n'), '4');
  assert.equal(g.get('actor_rollout_ref.actor.ppo_mini_batch_size'), '16'); // train.batch_size 64 samples / 4
  assert.equal(g.get('actor_rollout_ref.actor.use_kl_loss'), 'true');
  assert.equal(g.get('actor_rollout_ref.actor.kl_loss_type'), 'low_var_kl');
  assert.equal(g.get('algorithm.use_kl_in_reward'), 'false');
  const d = overridesOf({ rollout: { n_samples_per_prompt: 4 }, algorithm: { estimator: 'dr_grpo' } });
  assert.equal(d.get('algorithm.norm_adv_by_std_in_grpo'), 'false');
  assert.equal(d.get('actor_rollout_ref.actor.loss_agg_mode'), 'seq-mean-token-sum-norm');
  assert.equal(overridesOf({ algorithm: { estimator: 'reinforce_pp_baseline' } }).get('algorithm.adv_estimator'), 'reinforce_plus_plus_baseline');
  assert.equal(overridesOf({ algorithm: { estimator: 'rloo' } }).get('algorithm.adv_estimator'), 'rloo');
});

test('Hydra values are quoted when its grammar needs it', () => {
  assert.equal(hydraArg(['a.b', 'two words']), "a.b='two words'");
  assert.equal(hydraArg(['a.b', "it's"]), "a.b='it\\'s'");
  assert.equal(hydraArg(['a.b', 'true']), "a.b='true'"); // the string, not the boolean
  assert.equal(hydraArg(['a.b', new Float(3)]), 'a.b=3.0');
  assert.equal(hydraArg(['a.b', null]), 'a.b=null');
});

test('export writes verl\'s Parquet layout, the reward function, run.sh and warnings for options verl lacks', async () => {
  const out = tmp();
  const job = exportVerlJob({ configFile: CONFIG, schema: SCHEMA, outDir: out });
  for (const f of ['data/train.parquet', 'data/val.parquet', 'reward_fn.py', 'run.sh', 'overrides.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  const buf = fs.readFileSync(path.join(out, 'data/train.parquet'));
  const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) }) as Record<string, unknown>[];
  const first = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/arithmetic/data/train.jsonl'), 'utf8').split('\n')[0]) as { prompt: string; answer: string };
  assert.equal(rows.length, 4000);
  assert.deepEqual(rows[0].prompt, [{ role: 'user', content: first.prompt }]);
  assert.deepEqual(rows[0].reward_model, { style: 'rule', ground_truth: first.answer });
  assert.equal(rows[0].data_source, 'arithmetic');
  assert.equal((rows[0].extra_info as Record<string, unknown>).prompt_text, first.prompt);
  const val = fs.readFileSync(path.join(out, 'data/val.parquet'));
  assert.equal((await parquetReadObjects({ file: val.buffer.slice(val.byteOffset, val.byteOffset + val.byteLength) })).length, 100); // eval.max_prompts
  assert.ok(job.warnings.some((w) => w.startsWith('algorithm.reward_clip')));
  assert.ok(job.warnings.some((w) => w.startsWith('data.apply_chat_template')));
  const sh = fs.readFileSync(path.join(out, 'run.sh'), 'utf8');
  assert.match(sh, /^export VERL_FILE_LOGGER_ROOT=/m);
  assert.match(sh, /python3 -m verl\.trainer\.main_ppo \\\n {2}algorithm\.adv_estimator=reinforce_plus_plus/);
  assert.match(sh, /# warning: algorithm\.reward_clip/);
});

test('every override exists in verl\'s ppo_trainer.yaml with the type of its default (Hydra, .venv-checks)', (t) => {
  if (!fs.existsSync(FIXTURE_PY)) { t.skip('.venv-checks is missing (bash scripts/setup-checks.sh): verl\'s config cannot be loaded'); return; }
  for (const patch of [{}, { rollout: { n_samples_per_prompt: 4 }, algorithm: { estimator: 'grpo', kl: { mode: 'loss', estimator: 'k3' }, dual_clip: 3 } }]) {
    const cfgFile = path.join(tmp(), 'config.yaml');
    const base = YAML.parse(fs.readFileSync(CONFIG, 'utf8')) as Record<string, unknown>;
    const data = base.data as Record<string, string>;
    fs.writeFileSync(cfgFile, YAML.stringify({ ...base, ...patch, model: { policy: path.join(ROOT, 'examples/arithmetic/model') },
      data: { ...data, prompts: path.join(ROOT, 'examples/arithmetic', data.prompts), eval_prompts: path.join(ROOT, 'examples/arithmetic', data.eval_prompts) } }));
    const out = tmp();
    const job = exportVerlJob({ configFile: cfgFile, schema: SCHEMA, outDir: out });
    const r = spawnSync(FIXTURE_PY, [path.join(ROOT, 'test/fixtures/frameworks/check_verl_overrides.py'), out], { encoding: 'utf8', timeout: 300_000 });
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { checked: number; unknown: string[]; wrong_type: unknown[]; compose_error: string | null; data: Record<string, { rows: number; ok: boolean }> };
    assert.equal(r.status, 0, `check failed: ${r.stdout}\n${r.stderr.slice(-2000)}`);
    assert.equal(report.checked, job.overrides.length);
    assert.deepEqual(report.unknown, []);
    assert.deepEqual(report.wrong_type, []);
    assert.equal(report.compose_error, null);
    assert.deepEqual([report.data.train.rows, report.data.train.ok, report.data.val.ok], [4000, true, true]);
  }
});

test('the exported reward function scores through rlhf serve-rewards (real HTTP server, Python client)', async (t) => {
  const py = fs.existsSync(FIXTURE_PY) ? FIXTURE_PY : path.join(ROOT, '.venv/bin/python');
  if (!fs.existsSync(py)) { t.skip('no Python venv (.venv or .venv-fixtures) to run the reward function'); return; }
  const out = tmp();
  exportVerlJob({ configFile: CONFIG, schema: SCHEMA, outDir: out });
  const engine = new RewardEngine(loadRules(CONFIG), { workerScript: WORKER, workers: 1 });
  const srv = await serveRewards(engine, { token: 'tok' });
  try {
    const script = `import importlib.util,json,sys
spec=importlib.util.spec_from_file_location('r', sys.argv[1]); m=importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
print(json.dumps([m.compute_score('arithmetic', '5', '5', {'prompt_text': '2+3='}), m.compute_score('arithmetic', '6', '5', {'prompt_text': '2+3='})]))`;
    const child = spawn(py, ['-c', script, path.join(out, 'reward_fn.py')], { env: { ...process.env, RLHF_REWARD_URL: srv.url } });
    let stdout = ''; let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout.trim()), [1, 0]);
  } finally { await srv.close(); await engine.close(); }
});

test('an exported job\'s folder is watched as a verl run once verl writes its file log and rollout dumps there', async () => {
  const out = tmp();
  const job = exportVerlJob({ configFile: CONFIG, schema: SCHEMA, outDir: out });
  assert.throws(() => openExternalRun(out), /no run files/); // nothing logged yet: data, reward_fn.py, run.sh only
  // where verl writes with this job's settings: $VERL_FILE_LOGGER_ROOT/<project>/<experiment>.jsonl and rollout_data_dir/<step>.jsonl
  const fixture = path.join(ROOT, 'test/fixtures/frameworks/verl');
  const rolloutDir = job.overrides.find(([k]) => k === 'trainer.rollout_data_dir')![1] as string;
  fs.mkdirSync(path.join(job.env.VERL_FILE_LOGGER_ROOT, PROJECT_NAME), { recursive: true });
  fs.copyFileSync(path.join(fixture, 'arith/grpo_tiny.jsonl'), path.join(job.env.VERL_FILE_LOGGER_ROOT, PROJECT_NAME, 'arithmetic.jsonl'));
  fs.mkdirSync(rolloutDir);
  fs.copyFileSync(path.join(fixture, 'rollout_data/2.jsonl'), path.join(rolloutDir, '2.jsonl'));
  const run = openExternalRun(out);
  await readAll(run);
  assert.equal(run.framework, 'verl');
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4, 5]);
  assert.equal(run.sampleCounts.get(2), 3);
});

test('OpenRLHF target: every flag is one of train_ppo_ray\'s own parser and the whole command parses (.venv-checks)', (t) => {
  const out = tmp();
  const job = exportOpenRlhfJob({ configFile: CONFIG, schema: SCHEMA, outDir: out });
  const args = new Map<string, string[]>();
  for (const a of job.args) { if (a.startsWith('--')) args.set(a, []); else [...args.values()].pop()!.push(a); }
  assert.deepEqual(args.get('--algo.advantage.estimator'), ['reinforce']);
  assert.deepEqual(args.get('--algo.kl.init_coef'), ['0.001']);
  assert.deepEqual(args.get('--reward.clip_range'), ['-10', '10']);
  assert.deepEqual(args.get('--logger.tensorboard_dir'), [path.join(out, 'tensorboard')]);
  assert.match(args.get('--reward.remote_url')![0], /^\$\{RLHF_REWARD_URL/);
  assert.match(fs.readFileSync(path.join(out, 'run.sh'), 'utf8'), /--reward\.remote_url "\$\{RLHF_REWARD_URL:\?/);
  assert.ok(job.warnings.some((w) => w.startsWith('train.max_steps')));
  if (!fs.existsSync(FIXTURE_PY)) { t.skip('.venv-checks is missing (bash scripts/setup-checks.sh): OpenRLHF\'s parser cannot be loaded'); return; }
  for (const patch of [{}, { rollout: { n_samples_per_prompt: 4 }, algorithm: { estimator: 'grpo', eps_clip_high: 0.28, kl: { mode: 'loss', estimator: 'k3' }, std_norm: false } }]) {
    const cfgFile = path.join(tmp(), 'config.yaml');
    const base = YAML.parse(fs.readFileSync(CONFIG, 'utf8')) as Record<string, unknown>;
    const data = base.data as Record<string, string>;
    fs.writeFileSync(cfgFile, YAML.stringify({ ...base, ...patch, data: { ...data, prompts: path.join(ROOT, 'examples/arithmetic', data.prompts), eval_prompts: path.join(ROOT, 'examples/arithmetic', data.eval_prompts) } }));
    const dir = tmp();
    const j = exportOpenRlhfJob({ configFile: cfgFile, schema: SCHEMA, outDir: dir });
    const r = spawnSync(FIXTURE_PY, [path.join(ROOT, 'test/fixtures/frameworks/check_openrlhf_args.py'), dir], { encoding: 'utf8', timeout: 120_000 });
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { checked: number; unknown: string[]; error: string | null; parsed: Record<string, unknown> };
    assert.equal(r.status, 0, `check failed: ${r.stdout}\n${r.stderr.slice(-2000)}`);
    assert.equal(report.checked, j.args.filter((a) => a.startsWith('--')).length);
    assert.deepEqual(report.unknown, []);
    assert.equal(report.error, null);
  }
});
