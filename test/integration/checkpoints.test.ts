// Checkpoints and lineage with the real trainer (project .venv): `rlhf checkpoints` lists every checkpoint
// with its step and the reward of that step, a resumed run is linked to its parent (`rlhf runs`, and the
// history the dashboard draws), Keep and Delete act on the folders, `rlhf export --format hf` writes a
// loadable folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { checkpointInfos, deleteCheckpoint, inheritedHistory, lineageOf, setKept, type CheckpointInfo } from '../../src/core/run/checkpoints';
import { listCheckpoints } from '../../src/core/run/runStore';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const env = { ...process.env, RLHF_PYTHON: PY };
const rlhf = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env, timeout: 550_000 });

test('checkpoints list, lineage of a resumed run, keep/delete, export', { timeout: 1_200_000 }, () => {
  const ws = tempDir('ckpt');
  assert.equal(rlhf(ws, 'config', 'new', '--preset', 'arithmetic-cpu', '-o', 'config.yaml').status, 0);
  const cfg = YAML.parse(fs.readFileSync(path.join(ws, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  Object.assign(cfg.train, { max_steps: 3 });
  Object.assign(cfg.checkpoint, { every_steps: 1, keep_last: 5 });
  Object.assign(cfg.eval, { every_steps: 2, max_prompts: 8 });
  fs.writeFileSync(path.join(ws, 'config.yaml'), YAML.stringify(cfg));

  const first = rlhf(ws, 'train', 'config.yaml');
  assert.equal(first.status, 0, first.stderr + first.stdout);
  const [parentId] = fs.readdirSync(path.join(ws, 'runs'));
  const parent = path.join(ws, 'runs', parentId);

  const listed = rlhf(ws, 'checkpoints', parentId, '--json');
  assert.equal(listed.status, 0, listed.stderr);
  const infos = JSON.parse(listed.stdout) as CheckpointInfo[];
  assert.deepEqual(infos.map((c) => c.step), [1, 2, 3]);
  const events = fs.readFileSync(path.join(parent, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: number; values?: Record<string, number> });
  for (const c of infos) {
    const m = events.find((e) => e.type === 'metrics' && e.step === c.step);
    assert.equal(c.metrics.reward_mean, m?.values?.reward_mean, `step ${c.step}`);
    assert.ok(c.bytes > 10_000 && c.time > 0 && !c.kept);
  }
  // the newest evaluation at or before each checkpoint's step (eval.every_steps 2, plus the one before training)
  for (const c of infos) {
    const evalSteps = events.filter((e) => e.type === 'eval' && e.step! <= c.step).map((e) => e.step);
    assert.equal(c.evalStep, evalSteps.length ? Math.max(...evalSteps as number[]) : undefined, `step ${c.step}`);
  }
  assert.equal(infos[1].evalStep, 2);
  const table = rlhf(ws, 'checkpoints', parentId);
  assert.match(table.stdout, /^CHECKPOINT\s+STEP\s+SAVED\s+SIZE\s+REWARD/m);
  assert.match(table.stdout, /^step-000002\s+2\s/m);

  // resume from step 1: a new folder linked to the parent, whose history is the parent's steps up to 1
  const ck1 = infos[0].dir;
  const resumed = rlhf(ws, 'train', 'config.yaml', '--resume', ck1);
  assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
  const childId = fs.readdirSync(path.join(ws, 'runs')).find((n) => n !== parentId)!;
  const child = path.join(ws, 'runs', childId);
  assert.deepEqual(lineageOf(child), { parentDir: parent, parentId, step: 1, checkpoint: ck1 });
  assert.equal(lineageOf(parent), undefined);
  const runs = rlhf(ws, 'runs');
  assert.match(runs.stdout, new RegExp(`^${childId}\\s.*\\s${parentId}@1$`, 'm'));
  const history = inheritedHistory(child)!;
  assert.deepEqual(history.metrics.step, [1]);
  assert.equal(inheritedHistory(parent), undefined);

  // keep protects from the CLI's and the view's listing only by the marker; delete takes the folder out atomically
  setKept(infos[2].dir, true);
  assert.equal(checkpointInfos(parent).find((c) => c.step === 3)?.kept, true);
  deleteCheckpoint(infos[1].dir);
  assert.deepEqual(listCheckpoints(parent).map((d) => path.basename(d)), ['step-000001', 'step-000003']);
  assert.ok(!fs.readdirSync(path.join(parent, 'checkpoints')).some((n) => n.startsWith('.tmp-')));

  const out = path.join(ws, 'exported');
  const exp = rlhf(ws, 'export', infos[2].dir, '--format', 'hf', '-o', out);
  assert.equal(exp.status, 0, exp.stderr);
  assert.ok(fs.existsSync(path.join(out, 'model.safetensors')) && !fs.existsSync(path.join(out, 'KEEP')));
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /\| step \| 3 \|/);
  const again = rlhf(ws, 'export', infos[2].dir, '--format', 'hf', '-o', out);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /^rlhf export: .*already exists/);
  const bad = rlhf(ws, 'export', infos[2].dir, '--format', 'gguf', '-o', out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--format must be one of hf/);
});
