// The editor's ▷ (startTraining with checks 'in-trainer', issue #22) with the real trainer: the run is listed,
// live and `starting`, the moment the trainer is spawned, before the trainer has checked anything; a config the
// trainer refuses marks that run failed with the trainer's own message; an interpreter that cannot run fails
// the start with the probe's StartError and the run folder says why.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import type { TrainerHandle } from '../../src/core/launcher';
import { displayState, listRuns, readStatus, summarize } from '../../src/core/run/runStore';
import { installLayout, StartError, startTraining } from '../../src/core/training';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const layout = installLayout(ROOT);

function workspace(edit: (cfg: Record<string, Record<string, unknown>>) => void = () => undefined): { config: string; runs: string } {
  const ws = tempDir('atonce');
  const cfg = YAML.parse(fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.model.policy = path.join(EX, 'model');
  cfg.data.prompts = path.join(EX, 'data', 'train.jsonl');
  cfg.data.eval_prompts = null;
  cfg.train.max_steps = 1;
  cfg.checkpoint.every_steps = null;
  edit(cfg);
  const config = path.join(ws, 'config.yaml');
  fs.writeFileSync(config, YAML.stringify(cfg));
  return { config, runs: path.join(ws, 'runs') };
}

test('▷ lists the run, live and starting, when the trainer is spawned: before its checks, and it then trains', { timeout: 300_000 }, async () => {
  const { config, runs } = workspace();
  let seen: { state?: string; alive: boolean; events: boolean; listed: string[] } | undefined;
  const handle = await startTraining({ python: PY, layout, config, runsDir: runs, checks: 'in-trainer', onLaunched: (h) => {
    const s = summarize(h.runDir);
    seen = { state: s.status?.state, alive: s.alive, events: fs.existsSync(path.join(h.runDir, 'events.jsonl')), listed: listRuns(runs).map(displayState) };
  } });
  assert.deepEqual(seen, { state: 'starting', alive: true, events: false, listed: ['starting'] });
  assert.equal(readStatus(handle.runDir)?.pid !== undefined, true);
  handle.child.ref();
  assert.equal(await handle.exited, 0, fs.readFileSync(path.join(handle.runDir, 'trainer.log'), 'utf8').slice(-2000));
  assert.equal(readStatus(handle.runDir)?.state, 'completed');
});

test('▷ with a config the trainer refuses: that run is failed with the trainer\'s message, and run_finished says so', { timeout: 300_000 }, async () => {
  const { config, runs } = workspace((cfg) => { cfg.algorithm.estimator = 'grpo'; });
  const handle: TrainerHandle = await startTraining({ python: PY, layout, config, runsDir: runs, checks: 'in-trainer' });
  handle.child.ref();
  assert.equal(await handle.exited, 2);
  const status = readStatus(handle.runDir);
  assert.equal(status?.state, 'failed');
  assert.match(status?.error ?? '', /^the trainer refused the config: .*config\.yaml:\d+: rollout\.n_samples_per_prompt: estimator 'grpo' .* needs n_samples_per_prompt >= 2/);
  const events = fs.readFileSync(path.join(handle.runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; error?: string });
  assert.equal(events.at(-1)?.type, 'run_finished');
  assert.equal(events.at(-1)?.error, status?.error);
  assert.deepEqual(listRuns(runs).map(displayState), ['failed']);
});

test('▷ with an interpreter that does not exist: the probe\'s StartError, and the run folder records why', { timeout: 120_000 }, async () => {
  const { config, runs } = workspace();
  const err = await startTraining({ python: '/no/such/python', layout, config, runsDir: runs, checks: 'in-trainer' }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof StartError, String(err));
  assert.equal(err.reason, 'python');
  assert.match(err.message, /was not found/);
  const [run] = listRuns(runs);
  await until('the failure recorded', () => run && readStatus(run.dir)?.state === 'failed');
  assert.match(readStatus(run.dir)?.error ?? '', /^not started: Python interpreter '\/no\/such\/python' was not found/);
});
