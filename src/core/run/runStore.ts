// The runs of a workspace, read from their run folders (status.json, checkpoints/); whether a pid is still
// a run's trainer; recording the end of a run whose trainer could not. Every file is read through the run
// folder's guard (src/core/run/files.ts): a status.json that is a link, a FIFO or a giant file is refused
// with a one-line problem on the run (its state reads `unknown`), and the other runs list as usual.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStatus, type RunStatus } from '../protocol';
import { CHECKPOINTS_DIR, COMPLETE_MARKER, EVENTS_FILE, KILL_REASON_FILE, STATUS_FILE, appendGuarded, openGuarded, readGuarded,
  readGuardedAsync, runFolderProblems, runFolderProblemsAsync, RunFileError } from './files';
import { isRemoteTarget, jobLabel, jobOf, readSchedulerView, remoteAlive, type JobInfo } from './job';
import { atomicWrite } from './atomic';

export interface RunSummary {
  id: string;          // folder name, e.g. 20261124-181500-arithmetic
  dir: string;
  status: RunStatus | undefined;
  alive: boolean;      // its trainer process still runs (a remote job: the scheduler or the heartbeat says so)
  checkpoints: string[];
  /** What is wrong with the folder's files, one line each (a link, a FIFO, a file too large): they were not read. */
  problems?: string[];
  /** Where its trainer runs (status.json's job); undefined: this machine, one process. */
  job?: JobInfo;
  /** `slurm 123456 · RUNNING on 2 nodes`; '' for a plain local run. */
  jobLabel?: string;
}

export function isAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try { process.kill(pid, 0); } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
  try { // a zombie (exited, not yet reaped) answers signal 0 but is not running
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return true; }
}

/** A run's status.json; undefined when it is missing, unreadable, refused by the guard or not a status. */
export function readStatus(runDir: string): RunStatus | undefined {
  return readStatusChecked(runDir).status;
}

/** readStatus, and the guard's one-line problem when status.json is there but was refused. */
export function readStatusChecked(runDir: string): { status?: RunStatus; problem?: string } {
  try {
    const text = readGuarded(path.join(runDir, STATUS_FILE), 'status');
    return { status: text === undefined ? undefined : parseStatus(text) };
  } catch (e) {
    if (e instanceof RunFileError) return { problem: e.message };
    return {};
  }
}

async function readStatusAsync(runDir: string): Promise<{ status?: RunStatus; problem?: string }> {
  try {
    const text = await readGuardedAsync(path.join(runDir, STATUS_FILE), 'status');
    return { status: text === undefined ? undefined : parseStatus(text) };
  } catch (e) {
    if (e instanceof RunFileError) return { problem: e.message };
    return {};
  }
}

/** A process's command line, or undefined when it is gone or cannot be read. */
function commandLine(pid: number): string[] | undefined {
  try {
    if (process.platform === 'linux') return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // elsewhere ps joins the arguments with spaces: good enough to find the run folder's unique name in them
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(/\s+/).filter(Boolean);
  } catch { return undefined; }
}

/**
 * Every live process whose command line names this run folder (the trainer; under torchrun also the
 * launcher and every rank). Linux only (it reads /proc); elsewhere the status pid's process alone.
 */
export function runProcesses(runDir: string): number[] {
  if (process.platform !== 'linux') {
    const pid = readStatus(runDir)?.pid;
    return pid && isRunProcess(pid, runDir) ? [pid] : [];
  }
  let entries: string[];
  try { entries = fs.readdirSync('/proc'); } catch { return []; }
  return entries.filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => pid !== process.pid && isRunProcess(pid, runDir));
}

/** A process that is exiting: its memory (and command line) is gone but it is not yet a zombie. */
export function isExiting(pid: number): boolean {
  return process.platform === 'linux' && isAlive(pid) && commandLine(pid)?.length === 0;
}

const realOrResolved = (p: string): string => { try { return fs.realpathSync(p); } catch { return path.resolve(p); } };

/**
 * Whether pid is the trainer of runDir: alive and started with `--run-dir` naming this folder. A pid
 * recorded in status.json can belong to an unrelated process once the trainer is gone and the pid is
 * reused; such a process is never signalled, nor shown as the run being alive. A relative --run-dir is
 * resolved against the process's working directory; when that cannot be read, the answer is no.
 */
export function isRunProcess(pid: number | null | undefined, runDir: string): boolean {
  if (!pid || !isAlive(pid)) return false;
  const args = commandLine(pid);
  if (!args) return false;
  if (process.platform !== 'linux') return args.some((a) => a.includes(path.basename(path.resolve(runDir))));
  const i = args.findIndex((a) => a === '--run-dir' || a.startsWith('--run-dir='));
  const arg = i < 0 ? undefined : args[i].startsWith('--run-dir=') ? args[i].slice('--run-dir='.length) : args[i + 1];
  if (!arg) return false;
  let dir = arg;
  if (!path.isAbsolute(arg)) {
    try { dir = path.resolve(fs.readlinkSync(`/proc/${pid}/cwd`), arg); } catch { return false; }
  }
  return realOrResolved(dir) === realOrResolved(runDir);
}

/** How a run's trainer ended when the trainer itself could not say so (it was killed, or crashed). */
export interface UnreportedEnd {
  /** One line for the user: what ended it and what to look at. */
  reason: string;
  exitCode?: number | null;
  signal?: string | null;
  /** The trainer's pid, for a status.json the trainer never wrote. */
  pid?: number;
}

// Who kills a trainer notes why, just before the SIGKILL, so that whoever records the end (the process that
// started it sees the exit first; `rlhf stop` in a terminal may be someone else) records the same reason.
const KILL_NOTE = KILL_REASON_FILE;

/** Notes why the trainer is about to be killed; undefined takes the note back (the kill did not happen). */
export function noteKillReason(runDir: string, reason: string | undefined): void {
  try {
    if (reason === undefined) fs.rmSync(path.join(runDir, KILL_NOTE), { force: true });
    else fs.writeFileSync(path.join(runDir, KILL_NOTE), reason);
  } catch { /* recorded with the generic reason */ }
}

function takeKillReason(runDir: string): string | undefined {
  const file = path.join(runDir, KILL_NOTE);
  let reason: string | undefined;
  try { reason = readGuarded(file, 'kill-reason'); } catch { /* not a note we wrote: the generic reason */ }
  fs.rmSync(file, { force: true });
  return reason || undefined;
}

/**
 * Records the end of a run whose status.json still says starting/running/stopping (or that has none):
 * status.json becomes `failed` with the reason and the exit (written to a temporary file and renamed, as the
 * trainer does), and a run_finished event is appended so that dashboards and the CLI read the same end.
 * A run that recorded its own end is left alone. Only call this once the trainer is gone. Returns whether
 * it wrote.
 */
export function recordUnreportedEnd(runDir: string, end: UnreportedEnd, o: { overrideStopped?: boolean; overrideFailed?: boolean } = {}): boolean {
  const noted = takeKillReason(runDir);
  const old = readStatus(runDir);
  // overrideStopped: a trainer that stopped on the scheduler's SIGTERM (cancel, time limit, preemption) said
  // `stopped`; the scheduler's end is the truth then. overrideFailed: a rank that lost its peer when the
  // scheduler killed them (gloo's "Connection closed by peer") said `failed` with that symptom; the scheduler's
  // cause comes first then, the trainer's words after it (once: a reason already recorded is not recorded again)
  const overridden = !!old && ((o.overrideStopped && old.state === 'stopped')
    || (o.overrideFailed && old.state === 'failed' && !(old.error ?? '').startsWith(end.reason)));
  if (old && !LIVE_STATES.has(old.state) && !overridden) return false;
  if (!fs.existsSync(runDir)) return false;
  const reason = end.signal === 'SIGKILL' && noted ? noted
    : old?.state === 'failed' && old.error ? `${end.reason}; the trainer said: ${old.error}` : end.reason;
  const status = { ...old, state: 'failed', pid: old?.pid ?? end.pid ?? null, step: old?.step ?? 0, updated: Date.now() / 1000,
    error: reason, exit_code: end.exitCode ?? null, exit_signal: end.signal ?? null };
  const file = path.join(runDir, STATUS_FILE);
  atomicWrite(file, JSON.stringify(status, null, 1));
  const events = path.join(runDir, EVENTS_FILE);
  // a trainer killed mid-write leaves a partial last line: start on a fresh line so this event stays whole
  let sep = '';
  try {
    const opened = openGuarded(events, 'events');
    if (opened) {
      try {
        if (opened.size > 0) {
          const last = Buffer.alloc(1);
          fs.readSync(opened.fd, last, 0, 1, opened.size - 1);
          if (last[0] !== 0x0a) sep = '\n';
        }
      } finally { fs.closeSync(opened.fd); }
    }
    appendGuarded(events, sep + JSON.stringify({ v: 1, time: status.updated, type: 'run_finished', status: 'failed', error: reason, step: status.step }) + '\n', 'events');
  } catch (e) {
    // events.jsonl is not a regular file (a link, a FIFO): status.json alone records the end
    if (!(e instanceof RunFileError)) throw e;
  }
  return true;
}

/** Complete checkpoints (with the COMPLETE marker), oldest first. */
export function listCheckpoints(runDir: string): string[] {
  const dir = path.join(runDir, CHECKPOINTS_DIR);
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  return names.filter((n) => /^step-\d+$/.test(n) && fs.existsSync(path.join(dir, n, COMPLETE_MARKER))).sort().map((n) => path.join(dir, n));
}

async function listCheckpointsAsync(runDir: string): Promise<string[]> {
  const dir = path.join(runDir, CHECKPOINTS_DIR);
  let names: string[];
  try { names = await fs.promises.readdir(dir); } catch { return []; }
  const complete = await Promise.all(names.filter((n) => /^step-\d+$/.test(n)).map(async (n) => {
    try { await fs.promises.access(path.join(dir, n, COMPLETE_MARKER)); return n; } catch { return undefined; }
  }));
  return complete.filter((n): n is string => n !== undefined).sort().map((n) => path.join(dir, n));
}

const LIVE_STATES = new Set(['starting', 'running', 'stopping']);
/** Whether a run in this state has a trainer that should still be running (starting, running, stopping). */
export const isLiveState = (state: string): boolean => LIVE_STATES.has(state);

const merge = (a: string[], b: string | undefined): string[] => (b && !a.includes(b) ? [...a, b] : a);

export function summarize(runDir: string): RunSummary {
  const { status, problem } = readStatusChecked(runDir);
  return { id: path.basename(runDir), dir: runDir, status, ...liveness(runDir, status), checkpoints: listCheckpoints(runDir), problems: merge(runFolderProblems(runDir), problem) };
}

/** Alive, and where it runs: a remote job's pid is on another machine, so its scheduler's view and heartbeat decide. */
function liveness(runDir: string, status: RunStatus | undefined): { alive: boolean; job?: JobInfo; jobLabel?: string } {
  const job = jobOf(status);
  const remote = isRemoteTarget(job?.target);
  const alive = !!status && LIVE_STATES.has(status.state) && (remote ? remoteAlive(runDir) : isRunProcess(status.pid, runDir));
  return { alive, job, jobLabel: jobLabel(job, remote ? readSchedulerView(runDir) : undefined) };
}

async function summarizeAsync(runDir: string): Promise<RunSummary> {
  const [{ status, problem }, checkpoints, problems] = await Promise.all([readStatusAsync(runDir), listCheckpointsAsync(runDir), runFolderProblemsAsync(runDir)]);
  return { id: path.basename(runDir), dir: runDir, status, ...liveness(runDir, status), checkpoints, problems: merge(problems, problem) };
}

/** A run folder: the trainer has written its events or its status there (whatever kind of file they are: a bad one is listed with its problem). */
export const isRunFolder = (dir: string): boolean => [EVENTS_FILE, STATUS_FILE].some((n) => { try { fs.lstatSync(path.join(dir, n)); return true; } catch { return false; } });

const isRunFolderAsync = async (dir: string): Promise<boolean> =>
  (await Promise.all([EVENTS_FILE, STATUS_FILE].map((n) => fs.promises.lstat(path.join(dir, n)).then(() => true, () => false)))).some(Boolean);

/** Runs under runsDir, newest first. A folder counts as a run when it has events.jsonl or status.json. */
export function listRuns(runsDir: string): RunSummary[] {
  let names: string[];
  try { names = fs.readdirSync(runsDir); } catch { return []; }
  return names
    .map((n) => path.join(runsDir, n))
    .filter(isRunFolder)
    .sort().reverse()
    .map(summarize);
}

/**
 * listRuns with async reads only (the extension host lists every 2 s, also in an untrusted workspace: a
 * FIFO or a link to /dev/zero in a cloned repository's runs/ must never block or grow it).
 */
export async function listRunsAsync(runsDir: string): Promise<RunSummary[]> {
  let names: string[];
  try { names = await fs.promises.readdir(runsDir); } catch { return []; }
  const dirs = names.map((n) => path.join(runsDir, n)).sort().reverse();
  const isRun = await Promise.all(dirs.map(isRunFolderAsync));
  return Promise.all(dirs.filter((_, i) => isRun[i]).map(summarizeAsync));
}

/**
 * A run whose status says live but whose trainer is gone (or whose pid now belongs to another process) died
 * without a word, and nobody who saw it end was there to record how (OOM kill or reboot while no editor or
 * CLI that started it was attached).
 */
export function displayState(s: RunSummary): string {
  if (!s.status) return 'unknown';
  if (LIVE_STATES.has(s.status.state) && !s.alive) return 'lost';
  return s.status.state;
}

export function newRunId(name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}
