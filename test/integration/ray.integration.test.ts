// Integration: the `ray` target against a real Ray head on this machine (scripts/setup-ray.sh: .venv-ray with ray
// pinned, a head on 127.0.0.1 with 2 CPUs). Jobs are submitted over HTTP from Node; the run folder on the cluster's
// storage (a temporary folder here) comes back through the job's log into a local mirror.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { RayError, RayJobs, downloadRayCheckpoint, rayTarget } from '../../src/core/launch/ray';
import { readRayInfo, writeRayInfo } from '../../src/core/launch/rayMirror';
import { readSchedulerView } from '../../src/core/launch/target';
import { parseEventLine, type TrainerEvent } from '../../src/core/protocol';
import { listCheckpoints, readStatus } from '../../src/core/run/runStore';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const VENV = path.join(ROOT, '.venv-ray');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const skip = fs.existsSync(path.join(VENV, 'bin', 'ray')) ? false
  : '.venv-ray is absent: run scripts/setup-ray.sh (ray pinned in a test venv, a local head on 127.0.0.1) to run the Ray tests';

let address = '';
const tmp = tempDir('ray');
const storage = path.join(tmp, 'cluster-storage');
const runsDir = path.join(tmp, 'runs');

before(() => {
  if (skip) return;
  // idempotent: starts the head when it is not up, and waits for its dashboard and job agent
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'setup-ray.sh')], { encoding: 'utf8', timeout: 900_000 });
  assert.equal(r.status, 0, `scripts/setup-ray.sh failed:\n${r.stdout}${r.stderr}`);
  address = fs.readFileSync(path.join(VENV, 'head-address'), 'utf8').trim();
});
const submitted: string[] = [];
after(async () => {
  // a test that failed half-way must not leave its job running on the head
  for (const id of submitted) await new RayJobs(address).stop(id).catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of the embedded example (model, data, reward) with a short run; the folder is what travels to the job. */
function example(name: string, maxSteps: number, every: number): string {
  const dir = path.join(tmp, name);
  fs.cpSync(EX, dir, { recursive: true, dereference: true });
  const cfg = YAML.parse(fs.readFileSync(path.join(dir, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.train.max_steps = maxSteps;
  cfg.eval.every_steps = every;
  cfg.checkpoint.every_steps = every;
  fs.writeFileSync(path.join(dir, 'config.yaml'), YAML.stringify(cfg));
  return path.join(dir, 'config.yaml');
}

const layout = { trainerDir: path.join(ROOT, 'trainer'), schemasDir: path.join(ROOT, 'schemas'), rewardWorker: path.join(ROOT, 'dist', 'reward-worker.js') };
const request = (config: string, runId: string, addr = address) => ({ python: '', ...layout, config, env: {}, runDir: path.join(runsDir, runId),
  ray: { address: addr, workers: 2, storage, stopTimeoutS: 120 } });

function events(runDir: string): TrainerEvent[] {
  return fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => parseEventLine(l)!);
}

test('a 2-worker job of the embedded example runs to completion; the mirrored run folder has every metrics step', { skip, timeout: 1_200_000 }, async () => {
  const config = example('complete', 6, 3);
  const h = await rayTarget.start(request(config, 'ray-complete'));
  submitted.push(h.jobId!);
  assert.match(h.jobId ?? '', /^raysubmit_/);
  assert.equal(await h.exited, 0, fs.readFileSync(path.join(h.runDir, 'trainer.log'), 'utf8').slice(-3000));
  const status = readStatus(h.runDir);
  assert.equal(status?.state, 'completed', JSON.stringify(status));
  assert.deepEqual(status?.job, { target: 'ray', id: h.jobId, nodes: 2, procs_per_node: 1, address });
  assert.equal(readSchedulerView(h.runDir)?.state, 'SUCCEEDED');
  const evs = events(h.runDir);
  const started = evs.find((e) => e.type === 'run_started') as { world_size?: number } | undefined;
  assert.equal(started?.world_size, 2, 'both Ray workers are ranks of one process group');
  assert.deepEqual(evs.filter((e) => e.type === 'metrics').map((e) => (e as { step: number }).step), [1, 2, 3, 4, 5, 6]);
  assert.ok(evs.some((e) => e.type === 'samples'));
  // the mirror is the cluster's folder, byte for byte (the cluster's storage is a folder on this machine here)
  const remote = path.join(storage, 'ray-complete');
  for (const f of ['events.jsonl', 'samples.jsonl', 'eval_samples.jsonl', 'config.yaml']) {
    assert.ok(fs.readFileSync(path.join(h.runDir, f)).equals(fs.readFileSync(path.join(remote, f))), `${f} differs from the cluster's`);
  }
  // the checkpoints stay on the cluster: the mirrored events say where
  const ckpts = evs.filter((e) => e.type === 'checkpoint').map((e) => (e as { path: string }).path);
  assert.deepEqual(ckpts.map((p) => path.basename(p)), ['step-000003', 'step-000006']);
  for (const p of ckpts) assert.ok(fs.existsSync(path.join(p, 'COMPLETE')), `${p} is not a complete checkpoint`);

  // a reload: a fresh local folder with only what the start wrote re-attaches and rebuilds the same mirror from the log
  const again = path.join(runsDir, 'ray-complete-reattached');
  fs.mkdirSync(again, { recursive: true });
  writeRayInfo(again, { ...readRayInfo(h.runDir)!, log_offset: 0, complete: false });
  assert.equal((await rayTarget.liveness(again)).alive, false);
  assert.ok(fs.readFileSync(path.join(again, 'events.jsonl')).equals(fs.readFileSync(path.join(h.runDir, 'events.jsonl'))));
  assert.equal(readStatus(again)?.state, 'completed');

  // Download: a checkpoint comes from the cluster's storage through a job's log, whole, and is then a local checkpoint
  const local = await downloadRayCheckpoint(h.runDir, layout, 3);
  assert.equal(local, path.join(h.runDir, 'checkpoints', 'step-000003'));
  const files = fs.readdirSync(ckpts[0]).sort();
  assert.deepEqual(fs.readdirSync(local).sort(), files);
  for (const f of files) assert.ok(fs.readFileSync(path.join(local, f)).equals(fs.readFileSync(path.join(ckpts[0], f))), `${f} differs`);
  assert.deepEqual(listCheckpoints(h.runDir), [local]);
});

test('Stop ends a running job through the trainer\'s graceful path: a stop checkpoint, state stopped', { skip, timeout: 1_200_000 }, async () => {
  const config = example('stop', 400, 1000);
  const h = await rayTarget.start(request(config, 'ray-stop'));
  submitted.push(h.jobId!);
  const deadline = Date.now() + 900_000;
  // the mirror follows the job while h.exited polls it; stop once two steps have come back
  while ((readStatus(h.runDir)?.step ?? 0) < 2) {
    if (Date.now() > deadline) assert.fail(`no step 2 mirrored in time: ${fs.readFileSync(path.join(h.runDir, 'trainer.log'), 'utf8').slice(-2000)}`);
    await sleep(500);
  }
  const stages: string[] = [];
  const outcome = await rayTarget.stop(h.runDir, { timeoutMs: 120_000, by: 'the Ray test', onStage: (s) => stages.push(s) });
  assert.equal(outcome, 'graceful', `${stages.join('\n')}\n${JSON.stringify(readStatus(h.runDir))}`);
  await h.exited;
  const status = readStatus(h.runDir);
  assert.equal(status?.state, 'stopped');
  assert.ok(status.step < 400);
  const ck = events(h.runDir).filter((e) => e.type === 'checkpoint');
  assert.equal(ck.length, 1);
  assert.equal((ck[0] as { reason?: string }).reason, 'stop');
  assert.equal((ck[0] as { step: number }).step, status.step);
  assert.ok(fs.existsSync(path.join((ck[0] as { path: string }).path, 'COMPLETE')));
  assert.equal(readSchedulerView(h.runDir)?.state, 'STOPPED');
  assert.equal(await rayTarget.stop(h.runDir, { timeoutMs: 1000, by: 'the Ray test' }), 'not-running');
});

test('an unreachable Ray address: one line naming it and what to check; nothing created', { skip, timeout: 120_000 }, () => {
  const dead = 'http://127.0.0.1:59999';
  const runs = path.join(tmp, 'runs-unreachable');
  const r = spawnSync(process.execPath, [CLI, 'train', path.join(EX, 'config.yaml'), '--ray', dead, '--runs-dir', runs], { encoding: 'utf8', timeout: 100_000 });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^rlhf train: cannot reach the Ray dashboard at http:\/\/127\.0\.0\.1:59999 \(ECONNREFUSED\); check that the Ray head is running/);
  assert.equal(fs.existsSync(runs), false, 'no run folder for a job that was never submitted');
});

test('a job the head rejects at submit: one line with its reason, and no run folder', { skip, timeout: 300_000 }, async () => {
  const jobs = new RayJobs(address);
  const body = { entrypoint: 'true', submission_id: `raysubmit_rlhftest${Date.now()}` };
  await jobs.submit(body);
  // the same submission id again: the head refuses it
  await assert.rejects(jobs.submit(body), (e: unknown) => e instanceof RayError && /^the Ray head rejected the job \(HTTP 500\): ValueError: Job with submission_id \S+ already exists/.test(e.message)
    && !e.message.includes('\n'));
  const runs = path.join(tmp, 'runs-rejected');
  // a config whose data lies outside its folder cannot travel: refused before anything is uploaded or created
  const config = example('outside', 2, 1);
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('data/train.jsonl', '../complete/data/train.jsonl'));
  await assert.rejects(rayTarget.start({ ...request(config, 'x'), runDir: path.join(runs, 'x') }),
    (e: unknown) => e instanceof RayError && /data\.prompts: \.\.\/complete\/data\/train\.jsonl is outside the config's folder/.test(e.message));
  assert.equal(fs.existsSync(runs), false);
});
