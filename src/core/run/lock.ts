// A lock file for the read-modify-write updates of a run folder's files that more than one process
// writes (notes.json: the editor and any number of `rlhf tag`). Taken by creating LOCK with O_EXCL
// (exactly one creator wins, on every local file system and NFSv3+); it names its holder (pid, host,
// time). A lock whose holder is gone (same host, pid dead) or that is older than `staleMs` (a holder
// that hung or a host that rebooted) is broken; the updates it guards take milliseconds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { isAlive } from './runStore';
import { readGuarded } from './files';

export class LockError extends Error {}

export interface LockOptions {
  /** Give up after this long (ms) and throw LockError naming the holder. */
  timeoutMs?: number;
  /** A lock older than this (ms, by its mtime) is taken as abandoned. */
  staleMs?: number;
}

const sleepSync = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

interface Holder { pid: number; host: string; time: number; token: string }

function readHolder(lockFile: string): Holder | undefined {
  let text: string | undefined;
  try { text = readGuarded(lockFile, 'lock'); } catch { return undefined; }
  if (!text) return undefined;
  const [pid, host, time] = text.trim().split(' ');
  return { pid: Number(pid), host: host ?? '', time: Number(time), token: text };
}

/** Whether the lock's holder is gone: its process has exited (this host), or the lock is older than staleMs. */
function isStale(lockFile: string, staleMs: number): Holder | 'unreadable' | undefined {
  let mtime: number;
  try { mtime = fs.lstatSync(lockFile).mtimeMs; } catch { return undefined; } // released meanwhile: try again
  const holder = readHolder(lockFile);
  const old = Date.now() - mtime > staleMs;
  if (!holder) return old ? 'unreadable' : undefined; // being written, or not a lock we wrote
  if (old || (holder.host === os.hostname() && Number.isInteger(holder.pid) && holder.pid > 0 && !isAlive(holder.pid))) return holder;
  return undefined;
}

/** Removes a stale lock without removing a fresh one that replaced it meanwhile (renamed aside, checked, put back if fresh). */
function breakLock(lockFile: string, stale: Holder | 'unreadable'): void {
  const aside = `${lockFile}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try { fs.renameSync(lockFile, aside); } catch { return; }
  const now = readHolder(aside);
  if (stale !== 'unreadable' && now && now.token !== stale.token) {
    // another process broke it first and took it: give it back (link never replaces a lock taken since)
    try { fs.linkSync(aside, lockFile); } catch { /* a third took it: theirs stands */ }
  }
  fs.rmSync(aside, { force: true });
}

/**
 * Runs `fn` holding `lockFile` (created with O_EXCL, removed after, also when fn throws). Waits for a
 * live holder up to timeoutMs (then LockError naming it), and breaks a stale lock.
 */
export function withLock<T>(lockFile: string, fn: () => T, o: LockOptions = {}): T {
  const timeoutMs = o.timeoutMs ?? 10_000, staleMs = o.staleMs ?? 30_000;
  const token = `${process.pid} ${os.hostname()} ${Date.now()} ${Math.random().toString(36).slice(2)}\n`;
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    let fd: number | undefined;
    try { fd = fs.openSync(lockFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o644); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new LockError(`cannot create the lock ${lockFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (fd !== undefined) {
      try { fs.writeSync(fd, token); } finally { fs.closeSync(fd); }
      break;
    }
    const stale = isStale(lockFile, staleMs);
    if (stale) { breakLock(lockFile, stale); continue; }
    if (Date.now() > deadline) {
      const h = readHolder(lockFile);
      throw new LockError(`${lockFile} is held${h ? ` by pid ${h.pid} on ${h.host} since ${new Date(h.time).toISOString()}` : ''}; ` +
        `if no rlhf or editor is writing it, remove ${lockFile}`);
    }
    sleepSync(wait + Math.random() * wait);
  }
  try { return fn(); } finally {
    // ours unless it was broken as stale meanwhile (then it belongs to whoever holds it now)
    if (readHolder(lockFile)?.token === token) fs.rmSync(lockFile, { force: true });
  }
}
