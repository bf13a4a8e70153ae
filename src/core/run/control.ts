// Requests to a live run through its folder, for any process (another window, `rlhf save RUN`), not only the
// one holding the trainer's stdin: a JSON file in <run>/control/, written under a temporary name and renamed
// into place so the trainer never reads half of one. The trainer (rank 0) polls the folder between steps,
// applies each request once and deletes it (trainer/rlhf_trainer/control.py). No vscode here.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventTail } from './eventTail';
import type { CheckpointEvent, TrainerEvent } from '../protocol';
import { isRunProcess, readStatus } from './runStore';
import { isRemoteTarget, jobOf, remoteAlive } from './job';
import { atomicWrite } from './atomic';
import { eventsFileOf } from './events';

export const CONTROL_DIR = 'control';

export type ControlRequest = { type: 'save' | 'stop' };

/** A run cannot take requests: not running (finished, or never started here). `message` is the line to show. */
export class NotLiveError extends Error {}

/** Whether the run's trainer is alive: its recorded pid is still this run's trainer; a remote job's heartbeat or scheduler says so. */
export function isLiveRun(runDir: string): boolean {
  const s = readStatus(runDir);
  if (isRemoteTarget(jobOf(s)?.target)) return !!s && ['starting', 'running', 'stopping'].includes(s.state) && remoteAlive(runDir);
  return isRunProcess(s?.pid, runDir);
}

function notLive(runDir: string): NotLiveError {
  const s = readStatus(runDir);
  const id = path.basename(runDir);
  const state = !s ? 'it has no status.json' : ['starting', 'running', 'stopping'].includes(s.state) ? `its trainer, pid ${s.pid}, is gone` : `it is ${s.state}`;
  return new NotLiveError(`${id} is not running (${state}): only a live run can save a checkpoint now; its checkpoints: rlhf checkpoints ${id}`);
}

/** Writes a request file for the run's trainer; returns its path. NotLiveError when the run is not running. */
export function writeControlRequest(runDir: string, req: ControlRequest): string {
  if (!isLiveRun(runDir)) throw notLive(runDir);
  const dir = path.join(runDir, CONTROL_DIR);
  fs.mkdirSync(dir, { recursive: true });
  // names sort by time, so the trainer applies requests in the order they were made
  const name = `${Date.now().toString().padStart(15, '0')}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const file = path.join(dir, `${name}.json`);
  atomicWrite(file, JSON.stringify(req) + '\n');
  return file;
}

/**
 * Asks a live run for a checkpoint through its folder and waits for the `checkpoint` event that follows
 * (the request's own, or a periodic or final one saved at the same step boundary: the weights are the same).
 * Rejects with NotLiveError when the run is not running, or ends (or dies) before saving, and with an Error
 * after `timeoutMs`; a request still unread then is withdrawn, so it cannot fire later unexpectedly.
 */
export async function requestCheckpoint(runDir: string, o: { timeoutMs?: number; onRequested?: () => void } = {}): Promise<CheckpointEvent> {
  const appended: TrainerEvent[] = [];
  const tail = new EventTail(eventsFileOf(runDir), (es) => appended.push(...es)).skipToEnd();
  const file = writeControlRequest(runDir, { type: 'save' });
  o.onRequested?.();
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  const withdraw = () => fs.rmSync(file, { force: true });
  for (;;) {
    tail.poll();
    for (const e of appended.splice(0)) {
      if (e.type === 'checkpoint') return e;
      if (e.type === 'run_finished') { withdraw(); throw new NotLiveError(`${path.basename(runDir)} ended (${e.status}) before it saved a checkpoint`); }
    }
    if (!isLiveRun(runDir)) {
      if (tail.poll()) continue; // its last events landed just now: read them first
      withdraw();
      throw notLive(runDir);
    }
    if (Date.now() > deadline) {
      withdraw();
      throw new Error(`${path.basename(runDir)} did not save a checkpoint within ${Math.round((o.timeoutMs ?? 600_000) / 1000)} s ` +
        'of the request (a step may take that long; see its trainer.log); the request is withdrawn');
    }
    await sleep(250);
  }
}

/** `rlhf save RUN`: asks the run for a checkpoint and prints where it landed; exit 0, or 2 with one line when it cannot. */
export async function saveCommand(runDir: string, write: (s: string) => void, writeErr: (s: string) => void, timeoutMs = 600_000): Promise<number> {
  const id = path.basename(runDir);
  if (!fs.existsSync(runDir)) { writeErr(`rlhf save: no run ${id} in ${path.dirname(runDir)} (see rlhf runs)\n`); return 2; }
  try {
    const e = await requestCheckpoint(runDir, { timeoutMs, onRequested: () => write(`${id}: checkpoint requested; it is saved after the current step\n`) });
    write(`${id}: checkpoint at step ${e.step} saved: ${e.path}\n`);
    return 0;
  } catch (err) {
    writeErr(`rlhf save: ${(err as Error).message}\n`);
    return err instanceof NotLiveError ? 2 : 1;
  }
}
