// The Ray run mirror without a cluster: the job log's tagged lines rebuild a run folder byte for byte, a log read
// twice changes nothing, a partial last line waits, and the package a job carries is the same zip for the same files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DOWNLOAD_JOB_FILES, RayError, checkConfigPaths, normalizeAddress, packageEntries, rayCheckpoints, remoteOnlyCheckpoints, zipEntries } from '../../src/core/launch/ray';
import { COMPLETE_MARKER } from '../../src/core/run/names';
import { spawnSync } from 'node:child_process';
import { announcedCheckpointsAsync } from '../../src/core/run/checkpoints';
import { applyLog, readRayInfo, writeRayInfo } from '../../src/core/launch/rayMirror';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const b64 = (s: string) => Buffer.from(s).toString('base64');

function runDir(): string {
  const dir = tempDir('mirror');
  writeRayInfo(dir, { address: 'http://127.0.0.1:8265', submission_id: 'raysubmit_x', cluster_run_dir: '/c/run', workers: 2, gpus_per_worker: 0, log_offset: 0, complete: false });
  return dir;
}

test('tagged lines rebuild the files; a log applied again or re-read from 0 changes nothing; other lines go to trainer.log', () => {
  const dir = runDir();
  const ev1 = '{"v":1,"type":"metrics","step":1}\n';
  const ev2 = '{"v":1,"type":"metrics","step":2}\n';
  const log = ['\x1b[36m(RayTrainWorker pid=1)\x1b[0m step 1/2',
    `@@rlhf1 A events.jsonl 0 ${b64(ev1)}`,
    `@@rlhf1 W status.json ${b64(JSON.stringify({ state: 'running', pid: 4242, step: 1 }))}`,
    `@@rlhf1 A events.jsonl ${ev1.length} ${b64(ev2)}`].join('\n') + '\n';
  assert.equal(applyLog(dir, log + '@@rlhf1 A events.jsonl 99'), false); // the partial last line waits
  assert.equal(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'), ev1 + ev2);
  const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(status.pid, null, 'the cluster\'s pid is not a process here');
  assert.deepEqual(status.job, { target: 'ray', id: 'raysubmit_x', nodes: 2, procs_per_node: 1, address: 'http://127.0.0.1:8265' });
  assert.equal(fs.readFileSync(path.join(dir, 'trainer.log'), 'utf8'), '(RayTrainWorker pid=1) step 1/2\n');
  assert.equal(readRayInfo(dir)?.log_offset, log.length);
  assert.equal(applyLog(dir, log + '@@rlhf1 END\n'), true);
  // a reload that lost the offset reads the whole log again: the appends are already there
  writeRayInfo(dir, { ...readRayInfo(dir)!, log_offset: 0 });
  applyLog(dir, log);
  assert.equal(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'), ev1 + ev2);
});

test('the package: trainer, schemas, rule engine and the config folder; the same files give the same zip', async () => {
  const dir = tempDir('pkg');
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'data: {prompts: data/train.jsonl}\n');
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', 'train.jsonl'), '{"prompt":"1+1=","answer":"2"}\n');
  fs.mkdirSync(path.join(dir, 'runs', 'old'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'runs', 'old', 'events.jsonl'), '');
  const worker = path.join(dir, 'dist', 'reward-worker.js');
  fs.mkdirSync(path.dirname(worker));
  fs.writeFileSync(worker, '');
  fs.writeFileSync(path.join(dir, 'dist', 'reward-eval-worker.js'), '');
  const layout = { trainerDir: path.join(ROOT, 'trainer'), schemasDir: path.join(ROOT, 'schemas'), rewardWorker: worker };
  const entries = packageEntries(layout, path.join(dir, 'config.yaml'));
  const names = [...entries.keys()];
  for (const n of ['rlhf_trainer/ray_entry.py', 'rlhf_trainer/__main__.py', 'schemas/config.schema.json', 'dist/reward-worker.js', 'run/config.yaml', 'run/data/train.jsonl']) {
    assert.ok(names.includes(n), `${n} is not in the package`);
  }
  assert.ok(!names.some((n) => n.startsWith('run/runs/') || n.includes('__pycache__')), names.join(' '));
  const a = await zipEntries(entries);
  const b = await zipEntries(entries);
  assert.ok(a.zip.equals(b.zip));
  assert.match(a.name, /^_ray_pkg_[0-9a-f]{16}\.zip$/);
  assert.throws(() => packageEntries({ ...layout, rewardWorker: path.join(dir, 'nope.js') }, path.join(dir, 'config.yaml')), /npm run build/);
});

test('config paths that leave the folder and bad addresses are one line each', () => {
  const dir = tempDir('paths');
  fs.writeFileSync(path.join(dir, 'c.yaml'), 'model: {policy: /models/llama}\ndata: {prompts: ../x.jsonl}\n');
  assert.throws(() => checkConfigPaths(path.join(dir, 'c.yaml')), (e: unknown) => e instanceof RayError && /data\.prompts: \.\.\/x\.jsonl is outside the config's folder/.test(e.message));
  assert.equal(normalizeAddress('127.0.0.1:8265/'), 'http://127.0.0.1:8265');
  assert.throws(() => normalizeAddress('http://user:secret@head:8265'), (e: unknown) => e instanceof RayError && !e.message.includes('secret') && /RLHF_RAY_TOKEN/.test(e.message));
  assert.throws(() => normalizeAddress('ray://head:10001'), /http\(s\)/);
});

test('a Ray run\'s checkpoints on the cluster are the announced ones not downloaded yet, newest first (the Runs view\'s Download rows)', async () => {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-raycks-'));
  const ev = (step: number) => JSON.stringify({ v: 1, type: 'checkpoint', time: 0, step, path: `/cluster/runs/r/checkpoints/step-${String(step).padStart(6, '0')}` });
  fs.writeFileSync(path.join(run, 'events.jsonl'), [ev(2), ev(4), ev(6), ev(4)].join('\n') + '\n');
  const local = path.join(run, 'checkpoints', 'step-000004');
  fs.mkdirSync(local, { recursive: true });
  fs.writeFileSync(path.join(local, 'COMPLETE'), '');
  fs.mkdirSync(path.join(run, 'checkpoints', 'step-000006')); // a download cut short: no COMPLETE, still on the cluster only
  const announced = await announcedCheckpointsAsync(run);
  assert.deepEqual(announced.map((c) => c.step), [2, 4, 6]);
  assert.deepEqual(rayCheckpoints(run), announced);
  assert.deepEqual(remoteOnlyCheckpoints(run, announced).map((c) => c.step), [6, 2]);
});

test("a checkpoint download job's package is enough: python -m rlhf_trainer.ray_mirror runs from those files alone", (t) => {
  const probe = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) { t.skip('no python3 on PATH'); return; }
  const dir = tempDir('download-job');
  fs.mkdirSync(path.join(dir, 'rlhf_trainer'));
  for (const f of DOWNLOAD_JOB_FILES) fs.copyFileSync(path.join(ROOT, 'trainer', 'rlhf_trainer', f), path.join(dir, 'rlhf_trainer', f));
  const ckpt = path.join(dir, 'step-000001');
  fs.mkdirSync(ckpt);
  fs.writeFileSync(path.join(ckpt, 'weights.bin'), 'w');
  fs.writeFileSync(path.join(ckpt, COMPLETE_MARKER), '');
  const r = spawnSync('python3', ['-m', 'rlhf_trainer.ray_mirror', ckpt], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^@@rlhf1 A checkpoints\/step-000001\/weights\.bin 0 /);
  assert.match(lines.at(-2) ?? '', /step-000001\/COMPLETE/);
  assert.equal(lines.at(-1), '@@rlhf1 END');
});
