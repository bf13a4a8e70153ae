// Save Checkpoint Now for a run this process did not start: the real trainer, started detached with
// --no-stdin (as another window or a terminal would), takes a request file in its run folder;
// `rlhf save RUN` prints where the checkpoint landed; a finished run is refused with one clear line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { CONTROL_DIR, requestCheckpoint, NotLiveError } from '../../src/core/run/control';
import { checkpointInfos } from '../../src/core/run/checkpoints';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EX = path.join(ROOT, 'examples', 'arithmetic');


/** The embedded example as a run that would go on for hours, started detached without a stdin. */
function startDetached(ws: string): { runDir: string; pid: number; exited: Promise<number | null> } {
  const cfg = YAML.parse(fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.model.policy = path.join(EX, 'model');
  cfg.data = { ...cfg.data, prompts: path.join(EX, 'data', 'train.jsonl'), eval_prompts: null };
  cfg.rollout = { ...cfg.rollout, batch_size: 8 };
  cfg.train = { ...cfg.train, batch_size: 8, micro_batch_size: 8, max_steps: 100000, num_episodes: 100000 };
  cfg.checkpoint = { every_steps: null };
  cfg.reward = { fallback: 0, sources: [{ name: 'correct', function: `${path.join(EX, 'reward.py')}:reward_func` }] };
  fs.writeFileSync(path.join(ws, 'config.yaml'), YAML.stringify(cfg));
  const runDir = path.join(ws, 'runs', 'detached');
  const child = spawn(PY, ['-m', 'rlhf_trainer', 'run', '--config', path.join(ws, 'config.yaml'), '--run-dir', runDir, '--no-stdin'],
    { cwd: ROOT, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') }, stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { runDir, pid: child.pid!, exited };
}

const metricsSteps = (runDir: string): number => {
  try { return fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"metrics"')).length; } catch { return 0; }
};

test('a run started elsewhere saves on request (rlhf save, then a request file), and a finished run refuses', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(CLI), 'run `node esbuild.mjs` first (dist/cli.js)');
  const ws = tempDir('control');
  const run = startDetached(ws);
  try {
    await until('the first step', () => metricsSteps(run.runDir) >= 1, 240_000, 200);
    // rlhf save from another process: exit 0 once the checkpoint event has come
    const r = spawnSync(process.execPath, [CLI, 'save', 'detached', '--runs-dir', path.join(ws, 'runs')], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const m = /checkpoint at step (\d+) saved: (\S+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(fs.existsSync(path.join(m[2], 'COMPLETE')), `${m[2]} is not a complete checkpoint`);
    const infos = checkpointInfos(run.runDir);
    assert.deepEqual(infos.map((c) => [c.step, c.reason]), [[Number(m[1]), 'requested']]);
    // the request file was consumed: nothing left for the trainer to apply a second time
    assert.deepEqual(fs.readdirSync(path.join(run.runDir, CONTROL_DIR)), []);

    // a second request through the core API lands a later checkpoint, once
    const second = await requestCheckpoint(run.runDir, { timeoutMs: 300_000 });
    assert.ok(second.step > Number(m[1]), `step ${second.step} after ${m[1]}`);
    const stepsThen = metricsSteps(run.runDir);
    await until('two more steps', () => metricsSteps(run.runDir) >= stepsThen + 2, 240_000, 200);
    assert.deepEqual(checkpointInfos(run.runDir).map((c) => c.reason), ['requested', 'requested']);
  } finally {
    try { process.kill(-run.pid, 'SIGINT'); } catch { /* gone */ }
  }
  assert.equal(await run.exited, 0);

  // the run has stopped: refused with one line naming the run and its state, nothing left behind
  const r = spawnSync(process.execPath, [CLI, 'save', 'detached', '--runs-dir', path.join(ws, 'runs')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr.trim(), /^rlhf save: detached is not running \(it is stopped\): only a live run can save a checkpoint now/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  await assert.rejects(requestCheckpoint(run.runDir), NotLiveError);
  assert.deepEqual(fs.readdirSync(path.join(run.runDir, CONTROL_DIR)), []);
  const missing = spawnSync(process.execPath, [CLI, 'save', 'nope', '--runs-dir', path.join(ws, 'runs')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no run nope in /);
  fs.rmSync(ws, { recursive: true, force: true });
});
