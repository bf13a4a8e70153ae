// The `slurm` target: a batch job (RUN/job.sbatch: srun starts one torchrun per node, torchrun's c10d
// rendezvous on the first node starts the ranks), submitted with `sbatch --parsable` from this machine (a
// login node; the run folder is on the cluster's shared filesystem). The job id is in status.json before
// the job can start; the trainer keeps it there. Liveness asks Slurm (sacct, else scontrol, else the
// job-completion log) and reads the trainer's heartbeat; never a pid. An end Slurm caused (cancel, time
// limit, preemption, a failed start) is recorded as `failed` with Slurm's own state and reason.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeControlRequest, isLiveRun } from '../run/control';
import { readStatus, recordUnreportedEnd } from '../run/runStore';
import { followRun } from './follow';
import {
  heartbeatFresh, noteStopRequested, readSchedulerView, writeSchedulerView,
  type JobInfo, type LaunchTarget, type Liveness, type SchedulerView, type StartRequest, type StopOutcome,
} from './target';
import { atomicWrite } from '../run/atomic';
import { CHECKPOINT_PREFIX, CHECKPOINTS_DIR, COMPLETE_MARKER, STATUS_FILE, TRAINER_LOG } from '../run/names';

export interface SlurmOptions {
  /** --nodes (default 1). */
  nodes?: number;
  /** --gpus-per-node; 0 or absent: CPU ranks (gloo), `procs` per node. */
  gpusPerNode?: number;
  /** Ranks per node without GPUs (rlhf train --nproc); with GPUs it is gpusPerNode. */
  procs?: number;
  partition?: string;
  /** --time, Slurm's format (MINUTES, HH:MM:SS, D-HH:MM). */
  time?: string;
  account?: string;
  /** Slurm may requeue the job (preemption, a node failure); a requeued job resumes from its newest checkpoint. */
  requeue?: boolean;
}

declare module './target' {
  interface TargetOptions {
    /** The `slurm` target's options (rlhf train --slurm, rlhf.slurm.*). */
    slurm?: SlurmOptions;
  }
}

/** A mistake that is the user's or the cluster's to fix: its message is the whole line to show. */
export class SlurmError extends Error {}

export { SBATCH_FILE } from '../run/names';
import { SBATCH_FILE, slurmOutName } from '../run/names';
/** Slurm's own output of the job (the trainer's is in trainer.log). */
export const slurmOutFile = (runDir: string, jobId: string): string => path.join(runDir, slurmOutName(jobId));

interface Cmd { code: number | null; stdout: string; stderr: string; missing: boolean }

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Cmd> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr, missing: e?.code === 'ENOENT' });
    });
  });
}

/** The last `sbatch: error: …` line (Slurm says the cause on the line before the generic one), else the last line. */
function slurmError(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error/i.test(l)).map((l) => l.replace(/^\w+: error: /, ''));
  return errors[0] ?? lines.pop() ?? 'no message';
}

const sh = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Ranks per node: the GPUs, else the CPU processes asked for. */
export const procsPerNode = (o: SlurmOptions): number => (o.gpusPerNode && o.gpusPerNode > 0 ? o.gpusPerNode : Math.max(1, o.procs ?? 1));

/** The variables of the trainer's environment that the job sets itself (its paths; never anything else of the caller's). */
const TRAINER_VARS = ['RLHF_SCHEMAS_DIR', 'RLHF_NODE', 'RLHF_REWARD_WORKER', 'ELECTRON_RUN_AS_NODE', 'PYTHONUNBUFFERED', 'TOKENIZERS_PARALLELISM'];

/** RUN/job.sbatch: one option per line, commented; readable and runnable by hand (`sbatch RUN/job.sbatch`). */
export function renderSbatch(req: StartRequest, o: SlurmOptions): string {
  const runDir = path.resolve(req.runDir);
  const id = path.basename(runDir);
  const nodes = o.nodes ?? 1;
  const per = procsPerNode(o);
  const gpus = o.gpusPerNode ?? 0;
  const opt = (flag: string, comment: string) => `#SBATCH ${flag.padEnd(40)} # ${comment}`;
  const lines = [
    '#!/bin/bash',
    `# RLHF Studio run ${id} on Slurm: written by \`rlhf train --slurm\` (or Start Training), submitted with sbatch --parsable.`,
    '# The run folder is on the shared filesystem: rank 0 writes events, samples, status and checkpoints there.',
    opt(`--job-name=rlhf-${id}`, 'squeue shows the run it belongs to'),
    opt(`--nodes=${nodes}`, 'machines'),
    opt('--ntasks-per-node=1', 'one torchrun per node; it starts that node\'s ranks'),
    gpus > 0 ? opt(`--gpus-per-node=${gpus}`, 'one rank per GPU (NCCL)') : opt(`--cpus-per-task=${per}`, `${per} CPU rank${per === 1 ? '' : 's'} per node (gloo)`),
    ...(o.partition ? [opt(`--partition=${o.partition}`, 'the partition (queue)')] : []),
    ...(o.time ? [opt(`--time=${o.time}`, 'the time limit: Slurm stops the job then (SIGTERM: the trainer checkpoints)')] : []),
    ...(o.account ? [opt(`--account=${o.account}`, 'charged to this account')] : []),
    opt(`--output=${path.join(runDir, slurmOutName('%j'))}`, 'srun\'s and torchrun\'s own output; the trainer\'s is trainer.log'),
    o.requeue ? opt('--requeue', 'preempted or failed nodes: Slurm requeues the job, which resumes from its newest checkpoint')
      : opt('--no-requeue', 'a preempted job ends (recorded as failed with Slurm\'s reason)'),
    opt('--signal=TERM@120', 'SIGTERM 2 minutes before the time limit: the trainer finishes its step and checkpoints'),
    '',
    'set -euo pipefail',
    '# the trainer sources of the install that submitted this job, and what the trainer needs to find',
    `export PYTHONPATH=${sh(req.trainerDir)}\${PYTHONPATH:+:$PYTHONPATH}`,
    ...TRAINER_VARS.filter((k) => req.env[k] !== undefined).map((k) => `export ${k}=${sh(String(req.env[k]))}`),
    '',
    '# torchrun\'s c10d rendezvous on the first node of the allocation, on a port picked from the job id',
    'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    'port=$((20000 + SLURM_JOB_ID % 20000))',
    '',
    `resume=(${req.resume ? `--resume ${sh(path.resolve(req.resume))}` : ''})`,
    '# a requeued job (preemption, node failure) resumes from the newest complete checkpoint of this run',
    'if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then',
    `  latest=$(ls -d ${sh(path.join(runDir, CHECKPOINTS_DIR))}/${CHECKPOINT_PREFIX}*/${COMPLETE_MARKER} 2>/dev/null | sort | tail -n 1 || true)`,
    '  if [ -n "$latest" ]; then resume=(--resume "$(dirname "$latest")"); fi',
    'fi',
    '',
    `cd ${sh(path.dirname(req.config))}`,
    'srun --kill-on-bad-exit=1 \\',
    `  ${sh(req.python)} -u -m torch.distributed.run \\`,
    '    --nnodes "$SLURM_NNODES" \\',
    `    --nproc-per-node ${per} \\`,
    '    --rdzv-backend c10d \\',
    '    --rdzv-endpoint "$head:$port" \\',
    '    --rdzv-id "$SLURM_JOB_ID" \\',
    '    -m rlhf_trainer run \\',
    `    --config ${sh(req.config)} \\`,
    `    --run-dir ${sh(runDir)} \\`,
    '    --no-stdin \\',
    '    "${resume[@]}"',
    '',
  ];
  return lines.join('\n');
}

/** Slurm's clients are there and the partition exists; SlurmError with the line to fix otherwise. */
export async function checkSlurm(o: SlurmOptions, env?: NodeJS.ProcessEnv): Promise<void> {
  const info = await run('sinfo', ['-h', '-o', '%P'], env);
  const sbatch = await run('sbatch', ['--version'], env);
  if (sbatch.missing) {
    throw new SlurmError('no sbatch on the PATH: run this on a Slurm login node (in VS Code: Remote-SSH into it), or add Slurm\'s bin folder to PATH');
  }
  if (info.missing || info.code !== 0) throw new SlurmError(`Slurm does not answer: sinfo ${info.missing ? 'is not on the PATH' : `says: ${slurmError(info.stderr)}`}; check that slurmctld runs and munge works on this machine`);
  if (o.partition) {
    const parts = info.stdout.split('\n').map((p) => p.trim().replace(/\*$/, '')).filter(Boolean);
    if (!parts.includes(o.partition)) {
      throw new SlurmError(`Slurm has no partition '${o.partition}'; pick one of: ${parts.join(', ') || '(none listed by sinfo)'} (--partition, rlhf.slurm.partition)`);
    }
  }
}

/** Writes job.sbatch and status.json (starting, the job not yet submitted), submits; the job id. On a rejected submit, no run folder is left. */
async function submit(req: StartRequest, o: SlurmOptions): Promise<string> {
  const runDir = path.resolve(req.runDir);
  if (/\s/.test(runDir)) throw new SlurmError(`the run folder ${runDir} has whitespace in its path, which #SBATCH lines cannot hold; use a runs folder without spaces`);
  await checkSlurm(o, req.env);
  // the start made the folder empty just before (an exclusive mkdir): a rejected submit removes it; a folder with files was someone's
  const existed = fs.existsSync(runDir) && fs.readdirSync(runDir).length > 0;
  fs.mkdirSync(runDir, { recursive: true });
  const job: JobInfo = { target: 'slurm', id: null, nodes: o.nodes ?? 1, procs_per_node: procsPerNode(o), address: o.partition ?? null };
  const writeStatus = (j: JobInfo) => {
    atomicWrite(path.join(runDir, STATUS_FILE), JSON.stringify({ state: 'starting', pid: null, step: 0, updated: Date.now() / 1000, error: null, job: j }, null, 1));
  };
  const script = path.join(runDir, SBATCH_FILE);
  fs.writeFileSync(script, renderSbatch(req, o));
  writeStatus(job);
  const r = await run('sbatch', ['--parsable', script], req.env, 120_000);
  const id = r.stdout.trim().split(';')[0];
  if (r.code !== 0 || !/^\d+(_\d+)?$/.test(id)) {
    if (!existed) fs.rmSync(runDir, { recursive: true, force: true }); // nothing half-created
    throw new SlurmError(`Slurm rejected the job: ${slurmError(r.stderr || r.stdout)}`);
  }
  // the trainer keeps `job` when it writes status.json (it may already have started)
  const s = readStatus(runDir);
  if (s && !s.job) writeStatus({ ...job, id });
  else if (s) {
    atomicWrite(path.join(runDir, STATUS_FILE), JSON.stringify({ ...s, job: { ...job, id } }, null, 1));
  }
  writeSchedulerView(runDir, { state: 'PENDING', reason: 'submitted', nodes: null, checked: Date.now() / 1000, ended: false });
  return id;
}

// ---- what Slurm says about a job ------------------------------------------------------------------------

/** Slurm states after which the job does not run again (a requeued job goes back to PENDING instead). */
const ENDED = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'PREEMPTED', 'NODE_FAIL', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY', 'SPECIAL_EXIT', 'REVOKED']);

const MEANING: Record<string, string> = {
  CANCELLED: 'cancelled (scancel, or an administrator)',
  TIMEOUT: 'it reached its time limit (--time)',
  PREEMPTED: 'preempted by another job',
  NODE_FAIL: 'a node of the job failed',
  BOOT_FAIL: 'a node of the job failed to boot',
  DEADLINE: 'it reached its deadline',
  OUT_OF_MEMORY: 'it ran out of memory',
  FAILED: 'the job script exited non-zero',
};

/** `key=value` fields of scontrol's and the completion log's one-line records. */
function fields(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of line.trim().split(/\s+/)) {
    const i = part.indexOf('=');
    if (i > 0) m.set(part.slice(0, i), part.slice(i + 1));
  }
  return m;
}

interface SlurmJobState { state: string; reason: string | null; nodes: number | null; exitCode: string | null; source: string }

function stateOf(word: string): string { return word.split(/\s+/)[0].replace(/\+$/, ''); }

/** What Slurm says about job `id`: sacct (accounting), else scontrol (jobs in memory), else the completion log; undefined when none knows it. */
export async function querySlurmJob(id: string, env?: NodeJS.ProcessEnv): Promise<SlurmJobState | undefined> {
  const acct = await run('sacct', ['-X', '-n', '-P', '-j', id, '-o', 'State,Reason,NNodes,ExitCode'], env);
  const row = acct.code === 0 ? acct.stdout.trim().split('\n').filter(Boolean).pop() : undefined;
  if (row) {
    const [state, reason, nodes, exitCode] = row.split('|');
    // `CANCELLED by 1000`: the uid that cancelled it is Slurm's reason
    const by = state.includes(' by ') ? state.slice(state.indexOf(' by ') + 1) : '';
    return { state: stateOf(state), reason: [by, reason && reason !== 'None' ? reason : ''].filter(Boolean).join('; ') || null,
      nodes: Number(nodes) || null, exitCode: exitCode || null, source: 'sacct' };
  }
  const ctl = await run('scontrol', ['show', 'job', '-o', id], env);
  if (ctl.code === 0 && ctl.stdout.includes('JobState=')) {
    const f = fields(ctl.stdout);
    const reason = f.get('Reason');
    return { state: stateOf(f.get('JobState') ?? 'UNKNOWN'), reason: reason && reason !== 'None' ? reason : null,
      nodes: Number(f.get('NumNodes')) || null, exitCode: f.get('ExitCode') ?? null, source: 'scontrol' };
  }
  const conf = await run('scontrol', ['show', 'config'], env);
  const loc = /^JobCompLoc\s*=\s*(\S+)/m.exec(conf.stdout)?.[1];
  if (/^JobCompType\s*=\s*jobcomp\/filetxt/m.test(conf.stdout) && loc) {
    let text = '';
    try { text = fs.readFileSync(loc, 'utf8'); } catch { /* not readable from here */ }
    const line = text.split('\n').filter((l) => l.startsWith(`JobId=${id} `)).pop();
    if (line) {
      const f = fields(line);
      return { state: stateOf(f.get('JobState') ?? 'UNKNOWN'), reason: null, nodes: Number(f.get('NodeCnt')) || null, exitCode: f.get('ExitCode') ?? null, source: 'jobcomp' };
    }
  }
  return undefined;
}

/** One line for status.json's error: Slurm's state, what it means, Slurm's reason and exit code. */
export function slurmEndReason(id: string, s: SlurmJobState, stopBy?: string): string {
  const signal = /^\d+:(\d+)$/.exec(s.exitCode ?? '')?.[1];
  const details = [s.reason ? `reason: ${s.reason}` : 'reason: None', s.exitCode ? `exit code ${s.exitCode}${signal && signal !== '0' ? ` (signal ${signal})` : ''}` : '']
    .filter(Boolean).join(', ');
  const meaning = stopBy && s.state === 'CANCELLED' ? `cancelled by ${stopBy}: the trainer had not stopped within the stop timeout` : MEANING[s.state] ?? 'ended by Slurm';
  return `Slurm job ${id} ${s.state}: ${meaning} (${details}); steps after the last checkpoint are lost`;
}

function jobIdOf(runDir: string): string | undefined {
  const j = readStatus(runDir)?.job;
  return j?.target === 'slurm' && j.id ? j.id : undefined;
}

async function slurmLiveness(runDir: string): Promise<Liveness> {
  const id = jobIdOf(runDir);
  if (!id) return { alive: false };
  const s = await querySlurmJob(id);
  const now = Date.now() / 1000;
  if (!s) {
    // Slurm has forgotten the job (no accounting, purged): only the heartbeat can tell
    return { alive: heartbeatFresh(runDir, now) };
  }
  writeSchedulerView(runDir, { state: s.state, reason: s.reason, nodes: s.nodes, checked: now, ended: ENDED.has(s.state) });
  const view = readSchedulerView(runDir)!; // with the stop note
  if (view.ended) recordSlurmEnd(runDir, id, s, view);
  return { alive: !view.ended, view };
}

/**
 * The end of a job Slurm has let go: a trainer that did not record its end (killed, never started) is `failed`
 * with Slurm's reason; one that stopped on Slurm's SIGTERM (cancel, time limit, preemption) said `stopped`,
 * but the job did not end because anyone here asked: `failed` too. A stop that was asked for stays `stopped`.
 */
function recordSlurmEnd(runDir: string, id: string, s: SlurmJobState, view: SchedulerView): void {
  const asked = !!view.stop_requested;
  if (s.state === 'COMPLETED') {
    // the script exited 0: the trainer recorded its end; `stopped` that nobody here asked for came from a signal
    // (--signal=TERM@120 before the time limit, a preemption notice, an administrator): not the user's stop
    recordUnreportedEnd(runDir, {
      reason: readStatus(runDir)?.state === 'stopped'
        ? `Slurm job ${id} COMPLETED after the trainer stopped on a signal nobody here asked for: the time limit's warning (--signal=TERM@120), a preemption or an administrator (scancel --signal); its last checkpoint is kept`
        : `Slurm job ${id} COMPLETED but the trainer did not record its end; trainer.log and slurm-${id}.out say why`,
      exitCode: null, signal: null }, { overrideStopped: !asked });
    return;
  }
  // FAILED: the script exited non-zero, and the trainer's own error says why; any other end (cancel, time limit,
  // preemption, a node lost) is Slurm's doing, whatever a rank that lost its peer recorded
  recordUnreportedEnd(runDir, { reason: slurmEndReason(id, s, asked ? 'a stop request' : undefined), exitCode: null, signal: null },
    { overrideStopped: !asked, overrideFailed: !asked && s.state !== 'FAILED' });
}

/** The run's control request, then scancel after the timeout; waits for Slurm to let the job go. */
async function slurmStop(runDir: string, o: { timeoutMs: number; onStage?: (s: string) => void; by: string }): Promise<StopOutcome> {
  const id = jobIdOf(runDir);
  if (!id) return 'not-running';
  const first = await slurmLiveness(runDir);
  if (!first.alive) return 'not-running';
  noteStopRequested(runDir);
  const ended = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!(await slurmLiveness(runDir)).alive) return true;
      await sleep(1000);
    }
    return false;
  };
  // a job still waiting in the queue has no trainer to ask: it is cancelled at once
  if (first.view?.state !== 'PENDING' && isLiveRun(runDir)) {
    writeControlRequest(runDir, { type: 'stop' });
    o.onStage?.(`stop requested (slurm job ${id}): finishing the step and checkpointing`);
    if (await ended(o.timeoutMs)) return 'graceful';
  }
  o.onStage?.(`cancelling slurm job ${id} (scancel)`);
  const r = await run('scancel', [id]);
  if (r.code !== 0) throw new SlurmError(`scancel ${id} failed: ${slurmError(r.stderr)}`);
  // Slurm sends SIGTERM (the trainer checkpoints), then SIGKILL after its KillWait
  await ended(Math.max(o.timeoutMs, 60_000));
  return 'cancelled';
}

export const slurmTarget: LaunchTarget = {
  kind: 'slurm',
  async start(req) {
    const id = await submit(req, req.slurm ?? {});
    const h = await followRun(slurmTarget, req.runDir, 2000, id);
    return h ?? { runDir: req.runDir, target: 'slurm', jobId: id, exited: Promise.resolve(readStatus(req.runDir)?.state === 'failed' ? 1 : 0) };
  },
  stop: slurmStop,
  liveness: slurmLiveness,
  logs(runDir) {
    const id = jobIdOf(runDir);
    return [path.join(runDir, TRAINER_LOG), ...(id ? [slurmOutFile(runDir, id)] : [])];
  },
  reattach: (runDir, pollMs) => followRun(slurmTarget, runDir, pollMs, jobIdOf(runDir)),
};
