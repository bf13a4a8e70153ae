// Starts the trainer detached in its own process group, and stops it: control line, then SIGINT to
// the group, then SIGKILL of the group after a timeout. Works for runs started by another window too.
// A group is signalled only while its leader is still this run's trainer (pids are reused), and an end
// the trainer could not record itself (SIGKILL, a crash) is written into the run folder by whoever saw it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StopOutcome as TargetStopOutcome, TrainerStart } from './launch/target';
import { chooseNode, trainerEnv } from './trainerEnv';
import { isAlive, isExiting, isRunProcess, newRunId, noteKillReason, readStatus, recordUnreportedEnd, runProcesses } from './run/runStore';
import { STATUS_FILE, TRAINER_LOG } from './run/names';

/**
 * Creates a new run folder in `parent` and returns its path: `STAMP-NAME`, or `STAMP-NAME-2`, `-3`, ... when
 * another start (a sweep loop, Start Training twice) took that name in the same second. The folder is
 * made with an exclusive mkdir (EEXIST on a name taken, never check-then-create), so two trainers never
 * share one folder.
 */
export function createRunDir(parent: string, name: string, now = new Date()): string {
  fs.mkdirSync(parent, { recursive: true });
  const id = newRunId(name, now);
  for (let n = 1; ; n++) {
    const dir = path.join(parent, n === 1 ? id : `${id}-${n}`);
    try { fs.mkdirSync(dir); return dir; } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw e;
    }
  }
}

export interface LaunchOptions extends TrainerStart {
  /** Node binary for reward workers (rlhf.nodePath / --node); chooseNode() picks one when absent. */
  nodePath?: string;
  /** The trainer's whole environment, as trainerEnv() builds it; built here from the fields above when absent. */
  env?: NodeJS.ProcessEnv;
  /**
   * A trainer that must not outlive this process (rlhf compare): it stops, finishing its step, when its
   * stdin closes, as it does when this process is killed; and it deletes `config` once read (a temporary
   * config is never left next to the user's). Other trainers are detached on purpose: they survive a closed window.
   */
  ownedByParent?: boolean;
}

export interface TrainerHandle {
  pid: number;
  runDir: string;
  child: ChildProcess;
  /** The exit code (null when a signal ended it), once the run folder holds how the run ended. */
  exited: Promise<number | null>;
}

export function launchTrainer(o: LaunchOptions): TrainerHandle {
  fs.mkdirSync(o.runDir, { recursive: true });
  const log = fs.openSync(path.join(o.runDir, TRAINER_LOG), 'a');
  const logStart = fs.fstatSync(log).size; // what this trainer writes follows (a folder started again keeps the older lines)
  // absolute: the trainer runs in the config's folder, and its --run-dir is how its process is recognised
  const args = [...torchrunArgs(o.nproc), '-m', 'rlhf_trainer', 'run', '--config', path.resolve(o.config), '--run-dir', path.resolve(o.runDir)];
  if (o.resume) args.push('--resume', o.resume);
  if (o.ownedByParent) args.push('--stop-on-eof', '--temporary-config');
  const env = o.env ?? trainerEnv({ trainerDir: o.trainerDir, schemasDir: o.schemasDir, rewardWorker: o.rewardWorker,
    node: chooseNode({ setting: o.nodePath }) });
  const child = spawn(o.python, args, { cwd: path.dirname(o.config), env, detached: true, stdio: ['pipe', log, log] });
  fs.closeSync(log);
  child.stdin?.on('error', () => undefined); // the trainer may exit before it reads
  if (child.pid === undefined) {
    child.once('error', () => undefined); // ENOENT and the like: said by the throw below, not an uncaught error event
    throw new Error(`could not start ${o.python}`);
  }
  writeStartingStatus(o.runDir, child.pid);
  const handle: TrainerHandle = { pid: child.pid, runDir: o.runDir, child, exited: Promise.resolve(null) };
  handle.exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      // the parent is the one place where the exit status is known: keep it when the trainer could not
      // unless another live trainer holds the folder (this one was refused: two trainers never share a folder)
      const holder = readStatus(o.runDir)?.pid;
      const other = !!holder && holder !== handle.pid && isRunProcess(holder, o.runDir);
      try { if (!other) recordUnreportedEnd(o.runDir, { reason: exitReason(code, signal, o.runDir, logStart), exitCode: code, signal, pid: handle.pid }); } catch { /* folder gone */ }
      resolve(code);
    });
    child.once('error', () => resolve(null));
  });
  child.unref();
  return handle;
}

/**
 * The interpreter arguments before `-m rlhf_trainer`: several processes run under PyTorch's own launcher
 * (torchrun), which stays the leader of the process group we start; its ranks lead their own sessions,
 * so stopping reaches them through rank 0 (stdin control line, SIGINT) and killing finds them by their
 * command line (runProcesses). --standalone picks a free local rendezvous port.
 */
export function torchrunArgs(nproc: number | undefined): string[] {
  if (!nproc || nproc <= 1) return ['-u'];
  return ['-u', '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', String(nproc)];
}

/**
 * status.json `starting` with the trainer's pid, written the moment it is spawned: the Runs view lists the run
 * (alive: the pid is this run's trainer) before the trainer has imported anything; the trainer's own status
 * replaces it. Created exclusively, so a status the trainer (or anyone) wrote first is never overwritten.
 */
export function writeStartingStatus(runDir: string, pid: number): void {
  const status = { state: 'starting', pid, step: 0, total_steps: null, updated: Date.now() / 1000, error: null };
  try { fs.writeFileSync(path.join(runDir, STATUS_FILE), JSON.stringify(status, null, 1), { flag: 'wx' }); } catch { /* already written */ }
}

/**
 * The config problems a trainer printed before it refused to start (`config error: FILE:LINE: field: message`,
 * exit 2; under torchrun once per rank), from the end of trainer.log after byte `from` (where this trainer's
 * lines begin); empty when there are none.
 */
export function refusedConfigProblems(runDir: string, code: number | null, from = 0): string[] {
  let text: string;
  try {
    const fd = fs.openSync(path.join(runDir, TRAINER_LOG), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const size = fs.fstatSync(fd).size;
      const n = Math.max(0, Math.min(size - from, 64 * 1024));
      const buf = Buffer.alloc(n);
      fs.readSync(fd, buf, 0, n, size - n);
      text = buf.toString('utf8');
    } finally { fs.closeSync(fd); }
  } catch { return []; }
  const lines = text.split('\n').filter((l) => l.startsWith('config error: ') || (code === 2 && l.startsWith('error: ')));
  return [...new Set(lines.map((l) => l.replace(/^(config )?error: /, '')))];
}

/** One line on an exit the trainer did not report (it records its own ends, failures included). */
function exitReason(code: number | null, signal: NodeJS.Signals | null, runDir: string, logFrom: number): string {
  const refused = signal ? [] : refusedConfigProblems(runDir, code, logFrom);
  if (refused.length) {
    return `the trainer refused the config: ${refused[0]}${refused.length > 1 ? ` (and ${refused.length - 1} more: rlhf validate, or the editor, lists them all)` : ''}`;
  }
  if (signal === 'SIGKILL') return 'the trainer was killed (SIGKILL) before it could record its end: out of memory, or killed from outside; trainer.log has its last lines';
  if (signal) return `the trainer was ended by ${signal} before it could record its end; trainer.log has its last lines`;
  return `the trainer exited with code ${code} without recording its end; trainer.log says why`;
}

export function sendControl(h: TrainerHandle | undefined, msg: { type: 'stop' | 'save' }): boolean {
  if (!h?.child.stdin || h.child.stdin.destroyed || !h.child.stdin.writable) return false;
  h.child.stdin.write(JSON.stringify(msg) + '\n');
  return true;
}

/**
 * Whether pid is still the trainer of this run. Our own child stays ours until it has exited (node reaps
 * it then, and the pid is free for reuse); a trainer started elsewhere is recognised by its command line.
 */
function isTrainer(pid: number, runDir: string, handle?: TrainerHandle): boolean {
  if (handle?.pid === pid) return handle.child.exitCode === null && handle.child.signalCode === null && isAlive(pid);
  return isRunProcess(pid, runDir);
}

/** Signals the trainer's process group, only while its leader is still this run's trainer. */
function signalTrainer(pid: number, runDir: string, handle: TrainerHandle | undefined, sig: NodeJS.Signals): boolean {
  if (!isTrainer(pid, runDir, handle)) return false;
  try { process.kill(-pid, sig); return true; } catch {
    try { process.kill(pid, sig); return true; } catch { return false; }
  }
}

/** SIGKILLs the process group led by pid (or pid alone), only while it is a process of this run. */
function killGroup(pid: number, runDir: string): void {
  if (!isRunProcess(pid, runDir)) return;
  try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(pid: number, runDir: string, handle: TrainerHandle | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    // a dying trainer drops its command line before it is a zombie: it has gone only after that
    const running = isTrainer(pid, runDir, handle);
    if (!running && !isExiting(pid)) return true;
    await sleep(running ? 100 : 10);
  }
  return !isTrainer(pid, runDir, handle);
}

export type StopOutcome = Exclude<TargetStopOutcome, 'cancelled'>;

/**
 * Escalates until the trainer is gone: control line (when attached) -> SIGINT to the group ->
 * SIGKILL to the group. Each stage waits its share of timeoutMs for the checkpoint to be written.
 * A pid in status.json that is no longer this run's trainer is 'not-running' and is never signalled.
 * When it had to kill, the run folder records that (failed, the reason, SIGKILL) instead of a live state.
 */
export async function stopRun(runDir: string, handle?: TrainerHandle, timeoutMs = 30_000,
  onStage?: (stage: string) => void, by = 'a stop request'): Promise<StopOutcome> {
  const pid = handle?.pid ?? readStatus(runDir)?.pid ?? null;
  if (!pid || !isTrainer(pid, runDir, handle)) return 'not-running';
  if (sendControl(handle, { type: 'stop' })) {
    onStage?.('stop requested: finishing the step and checkpointing');
    if (await waitForExit(pid, runDir, handle, timeoutMs)) return 'graceful';
  }
  onStage?.('sending SIGINT');
  signalTrainer(pid, runDir, handle, 'SIGINT');
  if (await waitForExit(pid, runDir, handle, timeoutMs)) return 'sigint';
  onStage?.('killing the process group');
  const seconds = Math.round(timeoutMs / 100) / 10;
  await killRun(runDir, handle, `killed (SIGKILL) by ${by}: the trainer did not finish its step and checkpoint within ${seconds} s of SIGINT; ` +
    'steps after the last checkpoint are lost');
  return 'killed';
}

/**
 * SIGKILLs the trainer's process group (only while its leader is this run's trainer), waits for it to go,
 * and records the end with the reason. For a second Ctrl-C, or the last stage of stopRun.
 */
export async function killRun(runDir: string, handle: TrainerHandle | undefined, reason: string): Promise<boolean> {
  const pid = handle?.pid ?? readStatus(runDir)?.pid ?? null;
  if (!pid || !isTrainer(pid, runDir, handle)) return false;
  noteKillReason(runDir, reason);
  // every process of the run: under torchrun the launcher and each rank lead their own process groups
  const others = runProcesses(runDir).filter((p) => p !== pid);
  if (!signalTrainer(pid, runDir, handle, 'SIGKILL')) { noteKillReason(runDir, undefined); return false; }
  for (const p of others) killGroup(p, runDir);
  await waitForExit(pid, runDir, handle, 5_000);
  // our child: its exit handler records the end (with the noted reason); else record it here
  if (handle) await Promise.race([handle.exited, sleep(5_000)]);
  else if (!isTrainer(pid, runDir)) recordUnreportedEnd(runDir, { reason, exitCode: null, signal: 'SIGKILL', pid });
  // under torchrun the launcher's exit can come while a killed rank is still going (its handler then stands
  // aside for a live trainer): once every process of the run has gone, a status still live is recorded here
  for (const deadline = Date.now() + 5_000; runProcesses(runDir).length && Date.now() < deadline;) await sleep(50);
  if (!runProcesses(runDir).length) recordUnreportedEnd(runDir, { reason, exitCode: null, signal: 'SIGKILL', pid });
  return true;
}
