// Starts the trainer detached in its own process group, and stops it: control line, then SIGINT to
// the group, then SIGKILL of the group after a timeout. Works for runs started by another window too.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, readStatus } from './runStore';

export interface LaunchOptions {
  python: string;
  /** Folder holding the rlhf_trainer package (the extension's or the repo's trainer/). */
  trainerDir: string;
  schemasDir: string;
  config: string;
  runDir: string;
  resume?: string;
  /** Node binary for reward workers (the one the extension or CLI runs on). */
  nodePath?: string;
  /** dist/reward-worker.js: evaluates reward.rules for the trainer. */
  rewardWorker?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface TrainerHandle {
  pid: number;
  runDir: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function launchTrainer(o: LaunchOptions): TrainerHandle {
  fs.mkdirSync(o.runDir, { recursive: true });
  const log = fs.openSync(path.join(o.runDir, 'trainer.log'), 'a');
  const args = ['-u', '-m', 'rlhf_trainer', 'run', '--config', o.config, '--run-dir', o.runDir];
  if (o.resume) args.push('--resume', o.resume);
  const env = {
    ...process.env, ...o.env,
    PYTHONPATH: [o.trainerDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    RLHF_SCHEMAS_DIR: o.schemasDir,
    RLHF_NODE: o.nodePath ?? process.execPath,
    ...(o.rewardWorker ? { RLHF_REWARD_WORKER: o.rewardWorker } : {}),
    PYTHONUNBUFFERED: '1',
    TOKENIZERS_PARALLELISM: 'false',
  };
  const child = spawn(o.python, args, { cwd: o.cwd ?? path.dirname(o.config), env, detached: true, stdio: ['pipe', log, log] });
  fs.closeSync(log);
  child.stdin?.on('error', () => undefined); // the trainer may exit before it reads
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  if (child.pid === undefined) throw new Error(`could not start ${o.python}`);
  child.unref();
  return { pid: child.pid, runDir: o.runDir, child, exited };
}

export function sendControl(h: TrainerHandle | undefined, msg: { type: 'stop' | 'save' }): boolean {
  if (!h?.child.stdin || h.child.stdin.destroyed || !h.child.stdin.writable) return false;
  h.child.stdin.write(JSON.stringify(msg) + '\n');
  return true;
}

function signalGroup(pid: number, sig: NodeJS.Signals): boolean {
  try { process.kill(-pid, sig); return true; } catch {
    try { process.kill(pid, sig); return true; } catch { return false; }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

export type StopOutcome = 'not-running' | 'graceful' | 'sigint' | 'killed';

/**
 * Escalates until the trainer is gone: control line (when attached) -> SIGINT to the group ->
 * SIGKILL to the group. Each stage waits its share of timeoutMs for the checkpoint to be written.
 */
export async function stopRun(runDir: string, handle?: TrainerHandle, timeoutMs = 30_000,
  onStage?: (stage: string) => void): Promise<StopOutcome> {
  const pid = handle?.pid ?? readStatus(runDir)?.pid ?? null;
  if (!pid || !isAlive(pid)) return 'not-running';
  if (sendControl(handle, { type: 'stop' })) {
    onStage?.('stop requested: finishing the step and checkpointing');
    if (await waitForExit(pid, timeoutMs)) return 'graceful';
  }
  onStage?.('sending SIGINT');
  signalGroup(pid, 'SIGINT');
  if (await waitForExit(pid, timeoutMs)) return 'sigint';
  onStage?.('killing the process group');
  signalGroup(pid, 'SIGKILL');
  await waitForExit(pid, 5_000);
  return 'killed';
}
