// The runs of a workspace, read from their run folders (status.json, checkpoints/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStatus, type RunStatus } from './protocol';

export interface RunSummary {
  id: string;          // folder name, e.g. 20261124-181500-arithmetic
  dir: string;
  status: RunStatus | undefined;
  alive: boolean;      // its trainer process still runs
  checkpoints: string[];
}

export function isAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try { process.kill(pid, 0); } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
  try { // a zombie (exited, not yet reaped) answers signal 0 but is not running
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return true; }
}

export function readStatus(runDir: string): RunStatus | undefined {
  try { return parseStatus(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')); } catch { return undefined; }
}

/** Complete checkpoints (with the COMPLETE marker), oldest first. */
export function listCheckpoints(runDir: string): string[] {
  const dir = path.join(runDir, 'checkpoints');
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  return names.filter((n) => /^step-\d+$/.test(n) && fs.existsSync(path.join(dir, n, 'COMPLETE'))).sort().map((n) => path.join(dir, n));
}

const LIVE_STATES = new Set(['starting', 'running', 'stopping']);

export function summarize(runDir: string): RunSummary {
  const status = readStatus(runDir);
  const alive = !!status && LIVE_STATES.has(status.state) && isAlive(status.pid);
  return { id: path.basename(runDir), dir: runDir, status, alive, checkpoints: listCheckpoints(runDir) };
}

/** Runs under runsDir, newest first. A folder counts as a run when it has events.jsonl or status.json. */
export function listRuns(runsDir: string): RunSummary[] {
  let names: string[];
  try { names = fs.readdirSync(runsDir); } catch { return []; }
  return names
    .map((n) => path.join(runsDir, n))
    .filter((d) => fs.existsSync(path.join(d, 'events.jsonl')) || fs.existsSync(path.join(d, 'status.json')))
    .sort().reverse()
    .map(summarize);
}

/** A run whose status says live but whose process is gone died without a word (SIGKILL, OOM, reboot). */
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
