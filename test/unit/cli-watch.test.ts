// `rlhf watch` and `rlhf export-job` as real processes: a TRL fixture folder (written by TRL's own
// GRPOTrainer) read into the run model and printed as JSON; a config exported as a verl job.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const rlhf = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: ROOT });
const tmp = () => tempDir('cli-watch');
type Json = Record<string, unknown>;

test('rlhf watch DIR --once --json prints the TRL run: framework, steps, latest metrics, samples per step', () => {
  const fix = path.join(ROOT, 'test/fixtures/frameworks/trl');
  const exp = JSON.parse(fs.readFileSync(path.join(fix, 'expected.json'), 'utf8')) as { log_history: Json[]; completions: Record<string, { rows: number; first: Json }> };
  const r = rlhf('watch', fix, '--once', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const d = JSON.parse(r.stdout) as { framework: string; steps: number; lastStep: number; latest: Record<string, number>; samplesPerStep: Record<string, number>; lastSamples: { step: number; items: Json[] } };
  const logged = exp.log_history.filter((e) => 'reward' in e);
  assert.equal(d.framework, 'trl');
  assert.equal(d.steps, logged.length);
  const last = logged[logged.length - 1];
  assert.equal(d.lastStep, last.step);
  assert.ok(Math.abs(d.latest.reward_mean - (last.reward as number)) < 1e-6, `reward_mean ${d.latest.reward_mean} vs ${String(last.reward)}`);
  assert.deepEqual(d.samplesPerStep, Object.fromEntries(Object.entries(exp.completions).map(([s, c]) => [s, c.rows])));
  const newest = Object.keys(exp.completions).map(Number).sort((a, b) => b - a)[0];
  assert.equal(d.lastSamples.step, newest);
  assert.equal(d.lastSamples.items[0].prompt, exp.completions[newest].first.prompt);
});

test('rlhf watch without --once prints a line per step and stops on SIGINT with exit 0', async () => {
  const child = spawn(process.execPath, [CLI, 'watch', path.join(ROOT, 'test/fixtures/frameworks/prime-rl'), '--interval', '100'], { cwd: ROOT });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await until(() => `step 3 in: ${out}`, () => /^step 3 /m.test(out));
  assert.match(out, /^watching .*\(prime-rl\); Ctrl-C to stop\n/);
  assert.match(out, /^step 1 .*reward_mean/m);
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});

test('rlhf watch on a folder with no run files exits 2 with one line', () => {
  const r = rlhf('watch', tmp(), '--once');
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^rlhf watch: .*no run files of verl, openrlhf, trl, prime-rl, nemo-rl found.*\n$/);
});

test('rlhf export-job CONFIG --engine verl -o DIR writes the job and prints its command (and --engine openrlhf)', () => {
  const out = tmp();
  const r = rlhf('export-job', 'examples/arithmetic/config.yaml', '--engine', 'verl', '-o', out, '--gpus-per-node', '8', '--rollout', 'sglang');
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['run.sh', 'overrides.json', 'reward_fn.py', 'data/train.parquet']) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.match(r.stdout, /python3 -m verl\.trainer\.main_ppo/);
  assert.match(r.stdout, /trainer\.n_gpus_per_node=8/);
  assert.match(r.stdout, /actor_rollout_ref\.rollout\.name=sglang/);
  assert.match(r.stdout, /^warning: /m);
  const overrides = (JSON.parse(fs.readFileSync(path.join(out, 'overrides.json'), 'utf8')) as { overrides: string[] }).overrides;
  assert.ok(overrides.includes('trainer.n_gpus_per_node=8'));

  const o2 = tmp();
  const r2 = rlhf('export-job', 'examples/arithmetic/config.yaml', '--engine', 'openrlhf', '-o', o2, '--nnodes', '2');
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /python3 -m openrlhf\.cli\.train_ppo_ray/);
  assert.ok(fs.existsSync(path.join(o2, 'run.sh')));
});

test('export-job: bad flags and a bad config exit 2 with one line', () => {
  for (const [args, want] of [
    [['export-job', 'examples/arithmetic/config.yaml', '--engine', 'ray', '-o', 'x'], /^rlhf export-job: --engine must be one of verl, openrlhf, not 'ray'$/m],
    [['export-job', 'examples/arithmetic/config.yaml', '--engine', 'verl'], /^rlhf export-job: give the output folder: -o DIR$/m],
    [['export-job', 'examples/arithmetic/config.yaml', '--engine', 'verl', '-o', 'x', '--gpus', '8'], /^rlhf export-job: Unknown option '--gpus'/m],
    [['export-job', 'examples/arithmetic/config.yaml', '--engine', 'verl', '-o', 'x', '--nnodes', '0'], /--nnodes must be a whole number from 1/],
    [['export-job', 'no-such.yaml', '--engine', 'verl', '-o', 'x'], /^rlhf export-job: no-such\.yaml: no such file$/m],
    [['export-job', 'README.md', '--engine', 'verl', '-o', tmp()], /^rlhf export-job: README\.md: /m],
    [['watch', 'x', '--framework', 'ray'], /^rlhf watch: --framework must be one of verl, openrlhf, trl, prime-rl, nemo-rl, not 'ray'$/m],
    [['watch', 'x', '--interval', 'fast'], /--interval must be a whole number/],
    [['watch'], /^rlhf watch: give DIR$/m],
  ] as [string[], RegExp][]) {
    const r = rlhf(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, want, args.join(' '));
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  }
  assert.ok(!fs.existsSync(path.join(ROOT, 'x')), 'nothing written for a refused command');
});

test('rlhf --help lists watch and export-job with their flags', () => {
  const r = rlhf('--help');
  for (const w of ['rlhf watch DIR', '--once', '--framework NAME', '--interval MS', 'rlhf export-job CONFIG', '-o, --out DIR', '--nnodes N', '--gpus-per-node G', '--rollout']) assert.ok(r.stdout.includes(w), w);
});
