// Starting a run, shared by the extension and the CLI: check the interpreter, validate the config
// with the trainer itself (one source of truth), pick the run folder, launch. The editor's ▷ starts at
// once instead (checks 'in-trainer'): the run folder and the trainer first, the trainer's own checks (it
// runs every one of them before training) decide, and a config it refuses marks that run failed with its
// message (issue #22: the run row within a second, one Python start instead of three).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { createRunDir, killRun, launchTrainer, type TrainerHandle } from './launcher';
import { targetFor } from './launch';
import type { RayOptions } from './launch/ray';
import { checkSlurm, renderSbatch, SlurmError, type SlurmOptions } from './launch/slurm';
import type { RunHandle, StartRequest, TargetKind } from './launch/target';
import { probeBeforeTorch, probePython } from './python';
import { chooseNode, trainerEnv, type NodeCommand } from './trainerEnv';
import { newRunId, recordUnreportedEnd } from './run/runStore';

export interface InstallLayout { root: string; trainerDir: string; schemasDir: string; rewardWorker: string; requirements: string }

/** Where the trainer sources and schemas live, from the folder that holds dist/. */
export function installLayout(root: string): InstallLayout {
  const trainerDir = path.join(root, 'trainer');
  return { root, trainerDir, schemasDir: path.join(root, 'schemas'), rewardWorker: path.join(root, 'dist', 'reward-worker.js'),
    requirements: path.join(trainerDir, 'requirements.txt') };
}

export class StartError extends Error {
  /** reason 'python': the interpreter is missing or lacks packages; a set-up or another interpreter fixes it. */
  constructor(message: string, readonly fix?: string, readonly reason?: 'python' | 'config') { super(message); }
}

/** The trainer's environment for this install, the same for validate and run. */
export function layoutEnv(layout: InstallLayout, node: NodeCommand, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return trainerEnv({ trainerDir: layout.trainerDir, schemasDir: layout.schemasDir, rewardWorker: layout.rewardWorker, node, base });
}

/**
 * The problems a failed `validate` printed: one `config error: FILE:LINE: field: message` line each, or,
 * when it printed none of those (a crash), its last stderr line, else `fallback`. Never empty.
 */
export function validateProblems(stderr: string, fallback: string): string[] {
  const lines = stderr.trim().split('\n');
  const problems = lines.filter((l) => /^(config error|error): /.test(l));
  return problems.length ? problems : [lines.filter(Boolean).pop() ?? fallback];
}

/**
 * `validate` with the trainer itself, before a start (no estimates: nobody reads them there); with
 * `resume`, also the per-key rules for a config changed since that checkpoint. Rejects with the first problem.
 */
export async function validateConfig(python: string, layout: InstallLayout, config: string, node: NodeCommand = chooseNode(), resume?: string): Promise<void> {
  const r = await runTrainerModule(python, layout, 'rlhf_trainer', ['validate', '--config', config, '--no-estimates', ...(resume ? ['--resume', resume] : [])],
    { node, timeoutMs: 120_000 });
  if (r.code === 0) return;
  const problems = validateProblems(r.stderr, `the trainer's validate exited with code ${r.code}`);
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more: rlhf validate, or the editor, lists them all)` : '';
  throw new StartError(problems[0].replace(/^(config )?error: /, '') + more, undefined, 'config');
}

export interface TrainerOutput { code: number | null; stdout: string; stderr: string }

/** `python -m MODULE ARGS` with the trainer's environment; resolves with the exit code and output (never rejects on exit codes). */
export function runTrainerModule(python: string, layout: InstallLayout, module: string, args: string[],
  o: { node?: NodeCommand; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<TrainerOutput> {
  return new Promise((resolve) => {
    execFile(python, ['-m', module, ...args], { env: layoutEnv(layout, o.node ?? chooseNode()), timeout: o.timeoutMs ?? 300_000, signal: o.signal,
      maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === null ? err.message : '') });
    });
  });
}

export function runNameOf(config: string): string {
  try {
    const doc = YAML.parse(fs.readFileSync(config, 'utf8')) as unknown;
    const name = doc && typeof doc === 'object' ? (doc as { name?: unknown }).name : undefined;
    if (typeof name === 'string') return name;
  } catch { /* the trainer reports config errors */ }
  return path.basename(config).replace(/\.(ya?ml)$/, '');
}

export interface StartOptions {
  /** The interpreter, with where it came from when known (the error then says so). */
  python: string | { path: string; origin?: string };
  layout: InstallLayout;
  config: string;
  runsDir: string;
  resume?: string;
  /** rlhf.nodePath / --node; empty: the runtime we run on (see chooseNode). */
  nodePath?: string;
  /** Training processes (rlhf.trainingProcesses / --nproc); more than 1 runs under torchrun. */
  nproc?: number;
  /** The run folder; default: a new one in runsDir named after the config's `name`. */
  runDir?: string;
  /**
   * 'first' (default; rlhf train): the interpreter and the config are checked before anything is created, so
   * a config that cannot train leaves no run folder. 'in-trainer' (the editor's ▷): the run folder and the
   * trainer start at once, the trainer checks the config itself (the same checks, before any weights load)
   * and a refused config marks the run failed with its message; the interpreter's probe runs meanwhile
   * (remembered once it passed), and a failed probe stops the trainer and rejects with the probe's StartError.
   */
  checks?: 'first' | 'in-trainer';
  /** Called the moment the trainer is spawned, before the start resolves (a view lists the run then). */
  onLaunched?: (handle: TrainerHandle) => void;
}

export async function startTraining(o: StartOptions): Promise<TrainerHandle> {
  if (o.checks === 'in-trainer') return startAtOnce(o);
  const req = await prepareStart(o);
  return launchTrainer({ ...req, nproc: o.nproc });
}

/** The 'in-trainer' start: folder and trainer first, the interpreter's probe alongside. */
async function startAtOnce(o: StartOptions): Promise<TrainerHandle> {
  const python = typeof o.python === 'string' ? o.python : o.python.path;
  const origin = typeof o.python === 'string' ? undefined : o.python.origin;
  // it runs beside the trainer's own imports of torch
  const probe = probeBeforeTorch(python, origin);
  const node = chooseNode({ setting: o.nodePath });
  const runDir = o.runDir ?? createRunDir(o.runsDir, runNameOf(o.config));
  let handle: TrainerHandle | undefined;
  let spawnError: unknown;
  try {
    handle = launchTrainer({ python, trainerDir: o.layout.trainerDir, schemasDir: o.layout.schemasDir, config: path.resolve(o.config), runDir,
      resume: o.resume, rewardWorker: o.layout.rewardWorker, env: layoutEnv(o.layout, node), nproc: o.nproc });
    o.onLaunched?.(handle);
  } catch (e) { spawnError = e; }
  const p = await probe;
  if (!p.ok) {
    const why = `not started: ${p.problem ?? 'Python is not usable'}${p.fix ? `; fix: ${p.fix}` : ''}`;
    if (handle) await killRun(runDir, handle, why);
    try { recordUnreportedEnd(runDir, { reason: why, exitCode: null, signal: null }); } catch { /* folder gone */ }
    throw new StartError(p.problem ?? 'Python is not usable', p.fix, 'python');
  }
  if (!handle) {
    const why = `could not start ${python}: ${spawnError instanceof Error ? spawnError.message : String(spawnError)}`;
    try { recordUnreportedEnd(runDir, { reason: why, exitCode: null, signal: null }); } catch { /* folder gone */ }
    throw new StartError(why, undefined, 'python');
  }
  return handle;
}

/** The checks before any start (the interpreter, the config with the trainer itself), then what a target starts with. */
async function prepareStart(o: StartOptions, create = true): Promise<StartRequest> {
  const python = typeof o.python === 'string' ? o.python : o.python.path;
  const probe = await probePython(python, undefined, typeof o.python === 'string' ? undefined : o.python.origin);
  if (!probe.ok) throw new StartError(probe.problem ?? 'Python is not usable', probe.fix, 'python');
  const node = chooseNode({ setting: o.nodePath });
  await validateConfig(python, o.layout, o.config, node, o.resume);
  return { python, trainerDir: o.layout.trainerDir, schemasDir: o.layout.schemasDir, config: o.config,
    // created here, exclusively (two starts in one second get two folders); a dry run creates nothing
    runDir: o.runDir ?? (create ? createRunDir(o.runsDir, runNameOf(o.config)) : path.join(o.runsDir, newRunId(runNameOf(o.config)))),
    resume: o.resume, rewardWorker: o.layout.rewardWorker, env: layoutEnv(o.layout, node), nproc: o.nproc };
}

export interface TargetStartOptions extends StartOptions {
  /** Where to run; absent: local (torchrun when nproc > 1). */
  target?: TargetKind;
  slurm?: SlurmOptions;
  ray?: RayOptions;
}

const kindOf = (o: TargetStartOptions): TargetKind => o.target ?? (o.nproc && o.nproc > 1 ? 'torchrun' : 'local');

/** Starts a run on its target (src/core/launch): the same checks as a local start, then the target's start. StartError with one line when it cannot. */
export async function startOnTarget(o: TargetStartOptions): Promise<RunHandle> {
  const kind = kindOf(o);
  try {
    // the scheduler first: a missing sbatch or partition is said in a second, not after the config check
    if (kind === 'slurm') await checkSlurm(o.slurm ?? {});
    const req = { ...(await prepareStart(o)), slurm: o.slurm && { ...o.slurm, procs: o.slurm.procs ?? o.nproc }, ray: o.ray };
    return await targetFor(kind).start(req);
  } catch (e) {
    if (e instanceof SlurmError) throw new StartError(e.message);
    throw e;
  }
}

/** `--slurm --dry-run`: the job script a start would submit, for the run folder it would create (nothing is created). */
export async function slurmDryRun(o: TargetStartOptions): Promise<string> {
  const req = await prepareStart(o, false);
  return renderSbatch(req, { ...o.slurm, procs: o.slurm?.procs ?? o.nproc });
}
