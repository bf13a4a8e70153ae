// Integration: `rlhf train --slurm` against the real one-node Slurm on this machine (scripts/setup-slurm.sh:
// slurmctld + slurmd + munge from Debian's packages, CPU only) and the real trainer (gloo, 2 ranks). No mocked
// scheduler: jobs are submitted with sbatch, watched with scontrol, stopped with `rlhf stop`, cancelled with scancel.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir, until as waitUntil } from '../helpers';
import Ajv from 'ajv';
import YAML from 'yaml';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EX = path.join(ROOT, 'examples', 'arithmetic');

const sinfo = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
const skip = sinfo.status === 0 && /idle|mixed|allocated/.test(sinfo.stdout) ? false
  : 'no Slurm answers on this machine: run `bash scripts/setup-slurm.sh` (as root) first; .ci/run does';

/** A workspace with the embedded example's config: absolute paths (the job runs from the config's folder), no eval. */
function workspace(maxSteps: number, everySteps: number | null = null): string {
  const ws = tempDir('slurm');
  const cfg = YAML.parse(fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.model.policy = path.join(EX, 'model');
  cfg.data.prompts = path.join(EX, 'data', 'train.jsonl');
  cfg.data.eval_prompts = null;
  cfg.train.max_steps = maxSteps;
  cfg.checkpoint.every_steps = everySteps;
  fs.writeFileSync(path.join(ws, 'config.yaml'), YAML.stringify(cfg));
  return ws;
}

const env = { ...process.env, RLHF_PYTHON: PY };
const cli = (ws: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeout?: number } = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: ws, encoding: 'utf8', env: o.env ?? env, timeout: o.timeout ?? 900_000 });
const runsOf = (ws: string): string[] => { try { return fs.readdirSync(path.join(ws, 'runs')); } catch { return []; } };
const statusOf = (dir: string): Record<string, unknown> & { state?: string; step?: number; error?: string; job?: { target: string; id: string }; last_checkpoint?: string } => {
  try { return JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as ReturnType<typeof statusOf>; } catch { return {}; }
};

/** The run's last log lines (the trainer's and Slurm's), for a failure message. */
const logsOf = (dir?: string) => (dir ? ['trainer.log', ...fs.readdirSync(dir).filter((f) => f.startsWith('slurm-'))]
  .map((f) => { try { return fs.readFileSync(path.join(dir, f), 'utf8').slice(-2000); } catch { return ''; } }).join('\n') : '');
/** Polls until `cond` holds (generous deadline; no fixed sleeps), failing with `what` and the run's last log lines. */
const until = (what: string, cond: () => boolean, dir?: string, ms = 600_000) => waitUntil(() => `${what}\n${logsOf(dir)}`, cond, ms, 500);

/** `rlhf train --slurm` in the background (it follows the job); resolves the new run folder once it has its job id. */
async function submit(ws: string, extra: string[] = []): Promise<{ dir: string; child: ChildProcess; out: () => string }> {
  const before = new Set(runsOf(ws));
  let out = '';
  const child = spawn(process.execPath, [CLI, 'train', 'config.yaml', '--slurm', '--nproc', '2', ...extra], { cwd: ws, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const fresh = () => runsOf(ws).filter((r) => !before.has(r));
  await until('the submit', () => (fresh().length === 1 && !!statusOf(path.join(ws, 'runs', fresh()[0])).job?.id) || child.exitCode !== null, undefined, 300_000);
  assert.equal(child.exitCode, null, out);
  return { dir: path.join(ws, 'runs', fresh()[0]), child, out: () => out };
}

/** `rlhf stop RUN`, gracefully; then waits for the following `rlhf train` to see the job end. */
async function stopGracefully(ws: string, dir: string, child: ChildProcess): Promise<void> {
  const stop = cli(ws, ['stop', path.basename(dir)]);
  assert.equal(stop.status, 0, stop.stderr);
  assert.match(stop.stdout, /stop requested \(slurm job \d+\)/);
  assert.match(stop.stdout, /stopped \(graceful\)/);
  await until('rlhf train to follow the job to its end', () => child.exitCode !== null, dir);
}

const events = (dir: string): Record<string, unknown>[] =>
  fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

const TIMING = new Set(['rollout_s', 'reward_s', 'experience_s', 'train_s', 'step_s', 'tokens_per_s', 'peak_memory_mb']);
function metrics(dir: string): Map<number, Record<string, number | null>> {
  const m = new Map<number, Record<string, number | null>>();
  for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { type: string; step: number; values: Record<string, number | null> };
    if (e.type === 'metrics') m.set(e.step, e.values);
  }
  return m;
}

test('a 2-rank Slurm job of the example runs to completion with the metrics of --nproc 2 on this machine', { skip, timeout: 1_800_000 }, () => {
  const ws = workspace(3, 2);
  const r = cli(ws, ['train', 'config.yaml', '--slurm', '--nproc', '2']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const [id] = runsOf(ws);
  const dir = path.join(ws, 'runs', id);
  const status = statusOf(dir);
  assert.equal(status.state, 'completed', JSON.stringify(status));
  assert.equal(status.job?.target, 'slurm');
  assert.match(status.job?.id ?? '', /^\d+$/);
  assert.match(r.stdout, new RegExp(`slurm job ${status.job.id} submitted`));
  assert.ok(new Ajv({ strict: false }).validate(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'status.schema.json'), 'utf8')) as object, status));
  const script = fs.readFileSync(path.join(dir, 'job.sbatch'), 'utf8');
  assert.match(script, /--rdzv-backend c10d/);
  assert.match(script, /^#SBATCH --cpus-per-task=2 /m);
  // the job ran the ranks: rank 0 says so in its run_started, and Slurm's accounting of the job is COMPLETED
  const started = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.type === 'run_started');
  assert.equal(started?.world_size, 2);
  const list = cli(ws, ['runs']);
  assert.match(list.stdout, new RegExp(`${id}\\s+completed\\s+3/3.*slurm ${status.job.id} · COMPLETED`));

  // the same config, two ranks under torchrun on this machine
  const local = workspace(3, 2);
  const l = cli(local, ['train', 'config.yaml', '--nproc', '2']);
  assert.equal(l.status, 0, l.stderr + l.stdout);
  const a = metrics(path.join(local, 'runs', runsOf(local)[0]));
  const b = metrics(dir);
  assert.deepEqual([...b.keys()], [1, 2, 3]);
  assert.deepEqual([...a.keys()], [1, 2, 3]);
  for (const [step, va] of a) {
    const vb = b.get(step)!;
    const keys = Object.keys(va).filter((k) => !TIMING.has(k)).sort();
    assert.deepEqual(Object.keys(vb).filter((k) => !TIMING.has(k)).sort(), keys);
    for (const k of keys) {
      const x = va[k], y = vb[k];
      if (x === null || y === null) { assert.equal(y, x, `${k} at step ${step}`); continue; }
      assert.ok(Math.abs(y - x) <= 1e-4 * Math.abs(x) + 1e-6, `${k} at step ${step}: slurm ${y}, torchrun ${x}`);
    }
  }
  assert.ok((a.get(1)!.reward_std ?? 0) > 0, 'the comparison is not between two no-ops');
});

test('a Slurm run stopped with rlhf stop checkpoints, ends stopped, and resumes from that checkpoint as a new job', { skip, timeout: 1_800_000 }, async () => {
  const ws = workspace(200);
  const { dir, child, out } = await submit(ws);
  await until('step 1', () => (statusOf(dir).step ?? 0) >= 1 || child.exitCode !== null, dir);
  assert.equal(child.exitCode, null, out());
  await stopGracefully(ws, dir, child);
  const s = statusOf(dir);
  assert.equal(s.state, 'stopped', JSON.stringify(s));
  const ckpt = s.last_checkpoint!;
  assert.ok(ckpt && fs.existsSync(path.join(ckpt, 'COMPLETE')), JSON.stringify(s));
  assert.match(cli(ws, ['runs']).stdout, new RegExp(`${path.basename(dir)}\\s+stopped.*slurm ${s.job!.id} · COMPLETED`));

  // resumed: a new run folder and a new job, continuing after the checkpoint's step
  const stoppedAt = s.step!;
  const r = await submit(ws, ['--resume', ckpt]);
  assert.notEqual(statusOf(r.dir).job!.id, s.job!.id);
  await until(`a step after ${stoppedAt}`, () => (statusOf(r.dir).step ?? 0) > stoppedAt || r.child.exitCode !== null, r.dir);
  const started = events(r.dir).find((e) => e.type === 'run_started');
  assert.equal(started?.resumed_from, fs.realpathSync(ckpt));
  assert.equal(Math.min(...metrics(r.dir).keys()), stoppedAt + 1);
  await stopGracefully(ws, r.dir, r.child);
  assert.equal(statusOf(r.dir).state, 'stopped');
});

test('a Slurm job cancelled with scancel is recorded failed with Slurm\'s state and reason, never lost', { skip, timeout: 1_800_000 }, async () => {
  const ws = workspace(200);
  const { dir, child, out } = await submit(ws);
  await until('step 1', () => (statusOf(dir).step ?? 0) >= 1 || child.exitCode !== null, dir);
  assert.equal(child.exitCode, null, out());
  const id = statusOf(dir).job!.id;
  assert.equal(spawnSync('scancel', [id]).status, 0);
  await until('rlhf train to see the job end', () => child.exitCode !== null, dir);
  assert.equal(child.exitCode, 1, out());
  const s = statusOf(dir);
  assert.equal(s.state, 'failed', JSON.stringify(s));
  assert.match(s.error ?? '', new RegExp(`^Slurm job ${id} CANCELLED: cancelled \\(scancel, or an administrator\\)`));
  assert.match(out(), /run failed: Slurm job \d+ CANCELLED/);
  const list = cli(ws, ['runs']).stdout;
  assert.match(list, new RegExp(`${path.basename(dir)}\\s+failed.*slurm ${id} · CANCELLED`));
  assert.doesNotMatch(list, /lost/);
  // the dashboards read the same end from events.jsonl
  const finished = events(dir).filter((e) => e.type === 'run_finished').pop();
  assert.equal(finished?.status, 'failed');
});

test('bad Slurm input: one line naming what to fix, and no run folder left behind', { skip, timeout: 600_000 }, () => {
  const ws = workspace(3);
  // a PATH without Slurm's clients (node itself is started by its absolute path)
  const noSbatch = cli(ws, ['train', 'config.yaml', '--slurm'], { env: { ...env, PATH: tempDir('empty-path') } });
  assert.equal(noSbatch.status, 2);
  assert.equal(noSbatch.stderr, 'rlhf train: no sbatch on the PATH: run this on a Slurm login node (in VS Code: Remote-SSH into it), or add Slurm\'s bin folder to PATH\n');
  const partition = cli(ws, ['train', 'config.yaml', '--slurm', '--partition', 'nosuch']);
  assert.equal(partition.status, 2);
  assert.match(partition.stderr, /^rlhf train: Slurm has no partition 'nosuch'; pick one of: \S+.* \(--partition, rlhf\.slurm\.partition\)\n$/);
  // more nodes than the partition has (EnforcePartLimits=ALL): Slurm refuses the job at submit, and the run folder it was for is removed
  const rejected = cli(ws, ['train', 'config.yaml', '--slurm', '--nodes', '64']);
  assert.equal(rejected.status, 2, rejected.stdout);
  assert.match(rejected.stderr, /^rlhf train: Slurm rejected the job: \S/);
  assert.equal(rejected.stderr.trim().split('\n').length, 1, rejected.stderr);
  assert.deepEqual(runsOf(ws), []);
  const flagAlone = cli(ws, ['train', 'config.yaml', '--partition', 'debug']);
  assert.equal(flagAlone.status, 2);
  assert.match(flagAlone.stderr, /^rlhf train: --partition goes with --slurm\n/);
  // --dry-run prints the script and submits nothing
  const dry = cli(ws, ['train', 'config.yaml', '--slurm', '--nodes', '2', '--gpus-per-node', '4', '--time', '1:00:00', '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^#!\/bin\/bash\n/);
  for (const line of [/^#SBATCH --nodes=2 /m, /^#SBATCH --gpus-per-node=4 /m, /^#SBATCH --time=1:00:00 /m, /--nproc-per-node 4 /, /^srun /m]) assert.match(dry.stdout, line);
  assert.deepEqual(runsOf(ws), []);
});

test('a --requeue job that Slurm requeues resumes from its newest checkpoint, in the same run folder and job', { skip, timeout: 1_800_000 }, async () => {
  const ws = workspace(200, 1);
  const { dir, child, out } = await submit(ws, ['--requeue']);
  assert.match(fs.readFileSync(path.join(dir, 'job.sbatch'), 'utf8'), /^#SBATCH --requeue /m);
  await until('a checkpoint', () => !!statusOf(dir).last_checkpoint || child.exitCode !== null, dir);
  assert.equal(child.exitCode, null, out());
  const id = statusOf(dir).job!.id;
  // what a preemption does to a --requeue job: Slurm ends it (SIGTERM: the trainer checkpoints) and queues it again
  const requeue = spawnSync('scontrol', ['requeue', id], { encoding: 'utf8' });
  assert.equal(requeue.status, 0, requeue.stderr);
  // Slurm holds a requeued job for two minutes (Reason=BeginTime); a preempted job on a real cluster waits for
  // its turn anyway, so the test lets it begin as soon as it is back in the queue
  await until('the job back in the queue', () => /JobState=PENDING/.test(spawnSync('scontrol', ['show', 'job', id], { encoding: 'utf8' }).stdout), dir);
  const release = spawnSync('scontrol', ['update', `JobId=${id}`, 'StartTime=now'], { encoding: 'utf8' });
  assert.equal(release.status, 0, release.stderr);
  const started = () => events(dir).filter((e) => e.type === 'run_started');
  await until('the requeued job to start the trainer again', () => started().length === 2 || child.exitCode !== null, dir);
  assert.equal(child.exitCode, null, out());
  const resumedFrom = started()[1].resumed_from as string;
  assert.match(resumedFrom, new RegExp(`^${fs.realpathSync(dir)}/checkpoints/step-\\d{6}$`));
  const from = Number(/step-(\d+)$/.exec(resumedFrom)![1]);
  await until(`a step after ${from} in the requeued job`, () => events(dir).filter((e) => e.type === 'metrics').length > 0 &&
    (events(dir).filter((e) => e.type === 'metrics').pop()!.step as number) > from && started().length === 2, dir);
  assert.equal(statusOf(dir).job!.id, id);
  await stopGracefully(ws, dir, child);
  assert.equal(statusOf(dir).state, 'stopped');
});
