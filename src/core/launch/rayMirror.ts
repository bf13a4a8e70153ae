// The local copy of a Ray run's folder. The run folder lives on the cluster (no shared filesystem is assumed);
// rank 0 turns each of its changes into a tagged line of the job's log (trainer/rlhf_trainer/ray_mirror.py):
//
//   @@rlhf1 A FILE OFFSET BASE64   bytes appended to events.jsonl / samples.jsonl / eval_samples.jsonl at OFFSET
//   @@rlhf1 W FILE BASE64          the whole new status.json / config.yaml / heartbeat.json
//   @@rlhf1 END                    the job's driver printed everything
//
// The mirror reads the job's log from where it stopped (RUN/ray.json keeps that offset), writes each append at its
// byte offset (so a line applied twice changes nothing) and every other log line to trainer.log. Every view
// reads the local folder as it reads a local run's. No vscode here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWrite } from '../run/atomic';
import { CONFIG_FILE, EVAL_SAMPLES_FILE, EVENTS_FILE, HEARTBEAT_FILE, SAMPLES_FILE, STATUS_FILE, TRAINER_LOG } from '../run/names';

export const MIRROR_TAG = '@@rlhf1';
const APPENDED = new Set([EVENTS_FILE, SAMPLES_FILE, EVAL_SAMPLES_FILE]);
const REPLACED = new Set([STATUS_FILE, CONFIG_FILE, HEARTBEAT_FILE]);

/** What the local side keeps about a Ray run: RUN/ray.json. No credentials (the address is stored without them). */
export interface RayRunInfo {
  /** The dashboard address, credentials removed. */
  address: string;
  submission_id: string;
  /** The run folder on the cluster's storage (checkpoints stay there). */
  cluster_run_dir: string;
  workers: number;
  gpus_per_worker: number;
  /** Characters of the job's log already applied. */
  log_offset: number;
  /** Whether the driver's END line has been read: the mirror is complete. */
  complete: boolean;
}

export { RAY_INFO_FILE } from '../run/names';
import { RAY_INFO_FILE } from '../run/names';

export function readRayInfo(runDir: string): RayRunInfo | undefined {
  try {
    const x = JSON.parse(fs.readFileSync(path.join(runDir, RAY_INFO_FILE), 'utf8')) as Partial<RayRunInfo>;
    return typeof x.submission_id === 'string' && typeof x.address === 'string' ? { log_offset: 0, complete: false, ...x } as RayRunInfo : undefined;
  } catch { return undefined; }
}

/** Replaces a file through a temporary name and a rename, as the trainer writes status.json (src/core/run/atomic.ts). */
export const writeAtomic = atomicWrite;

export function writeRayInfo(runDir: string, info: RayRunInfo): void {
  writeAtomic(path.join(runDir, RAY_INFO_FILE), JSON.stringify(info, null, 1));
}

const isAppend = (parts: string[]): boolean => parts[0] === 'A' && parts.length === 4 && /^\d+$/.test(parts[2]);

/** Writes `data` at byte `offset` of `file` unless the file already holds those bytes; a gap is left as zeros (skipped by readers as a bad line). */
function writeAt(file: string, offset: number, data: Buffer): void {
  let size = 0;
  try { size = fs.statSync(file).size; } catch { /* a new file */ }
  if (offset + data.length <= size && (data.length > 0 || fs.existsSync(file))) return; // read before (a reload re-reads the log)
  const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w');
  try { fs.writeSync(fd, data, 0, data.length, offset); } finally { fs.closeSync(fd); }
}

/**
 * Applies one line of the job's log to the local run folder: a tagged line to its file, `END` to the return value,
 * anything else (the trainer's and Ray's own output) appended to trainer.log. `job` is the status.json `job` the
 * local side recorded: a mirrored status.json keeps it (the trainer on the cluster does not know it runs under Ray).
 */
export function applyLogLine(runDir: string, line: string, job: unknown): 'end' | 'applied' | 'log' {
  const at = line.indexOf(MIRROR_TAG + ' ');
  if (at < 0) { appendLog(runDir, line); return 'log'; }
  const parts = line.slice(at + MIRROR_TAG.length + 1).trim().split(' ');
  if (parts[0] === 'END') return 'end';
  if (isAppend(parts) && APPENDED.has(parts[1])) {
    writeAt(path.join(runDir, parts[1]), Number(parts[2]), Buffer.from(parts[3], 'base64'));
    return 'applied';
  }
  if (parts[0] === 'W' && parts.length === 3 && REPLACED.has(parts[1])) {
    let data: string = Buffer.from(parts[2], 'base64').toString('utf8');
    if (parts[1] === STATUS_FILE) {
      try {
        // the cluster's pid means nothing here: liveness asks the Jobs API and reads the heartbeat
        data = JSON.stringify({ ...(JSON.parse(data) as object), pid: null, job }, null, 1);
      } catch { return 'log'; } // never half a status
    }
    writeAtomic(path.join(runDir, parts[1]), data);
    return 'applied';
  }
  appendLog(runDir, line);
  return 'log';
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** A line of the job's own output into trainer.log, without the colour codes Ray puts around worker names. */
function appendLog(runDir: string, line: string): void {
  fs.appendFileSync(path.join(runDir, TRAINER_LOG), line.replace(ANSI, '') + '\n');
}

/**
 * Applies the job's whole log text from the offset recorded in ray.json (only complete lines; a partial last line
 * waits for the next call) and records the new offset. Returns whether the END line has been read.
 */
export function applyLog(runDir: string, logs: string): boolean {
  const info = readRayInfo(runDir);
  if (!info) return false;
  if (logs.length < info.log_offset) info.log_offset = 0; // a different log (the head restarted): lines re-applied are no-ops
  const end = logs.lastIndexOf('\n');
  if (end < info.log_offset) return info.complete;
  let job: unknown;
  try { job = (JSON.parse(fs.readFileSync(path.join(runDir, STATUS_FILE), 'utf8')) as { job?: unknown }).job; } catch { /* the first status */ }
  job ??= { target: 'ray', id: info.submission_id, nodes: info.workers, procs_per_node: 1, address: info.address };
  for (const line of logs.slice(info.log_offset, end).split('\n')) {
    if (applyLogLine(runDir, line, job) === 'end') info.complete = true;
  }
  info.log_offset = end + 1;
  writeRayInfo(runDir, info);
  return info.complete;
}

/** A checkpoint file a download job sends: `checkpoints/step-N/` and a plain relative path below it. */
const CHECKPOINT_FILE = /^checkpoints\/step-\d+\/(?!.*(^|\/)\.\.?(\/|$))[\w.\-/]+$/;

/**
 * Writes the files of a download job's log (`python -m rlhf_trainer.ray_mirror CHECKPOINT`) under `dir`; only
 * checkpoint paths are accepted (a log cannot write anywhere else). Returns whether the END line was read.
 */
export function applyFileLines(dir: string, logs: string): boolean {
  let end = false;
  for (const line of logs.split('\n')) {
    const at = line.indexOf(MIRROR_TAG + ' ');
    if (at < 0) continue;
    const parts = line.slice(at + MIRROR_TAG.length + 1).trim().split(' ');
    if (parts[0] === 'END') end = true;
    else if (isAppend(parts) && CHECKPOINT_FILE.test(parts[1])) {
      const file = path.join(dir, parts[1]);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeAt(file, Number(parts[2]), parts[3] === '-' ? Buffer.alloc(0) : Buffer.from(parts[3], 'base64'));
    }
  }
  return end;
}
