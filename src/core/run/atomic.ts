// The one atomic write of a run folder's files (status.json, notes.json, scheduler.json, control requests, an
// export): the TypeScript twin of runfolder.py's atomic_write_text. The data goes to a temporary file beside the
// target named by the trainer's rule (`.NAME.tmp-PID`, names.ts tempNameOf), is fsynced, and is renamed over
// the target: a reader sees the old file or the new one, never half. A trainer that takes the folder removes
// leftovers of that form; if it removed ours between the write and the rename, the write is done again.
// On a full disk the old file's blocks are reused in place, as the trainer does (a second file does not fit,
// and a failure recorded in status.json must still reach the readers).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempNameOf } from './names';

export interface AtomicWriteOptions {
  /** fsync the data before the rename (default true: the trainer's rule; a crash leaves the old or the new file). */
  fsync?: boolean;
}

/** What to write: text, bytes, or a function writing to the open temporary file (a stream of lines). */
export type AtomicData = string | Uint8Array | ((fd: number) => void);

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

function writeTemp(tmp: string, data: AtomicData, sync: boolean): void {
  // O_NOFOLLOW: a link planted at the temporary name is never written through; O_TRUNC: our own leftover is reused
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_NOFOLLOW, 0o644);
  try {
    if (typeof data === 'function') data(fd);
    else fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (sync) fs.fsyncSync(fd);
  } finally { fs.closeSync(fd); }
}

/** Replaces `file` with `data` atomically (temporary file `.NAME.tmp-PID` beside it, fsync, rename). */
export function atomicWrite(file: string, data: AtomicData, o: AtomicWriteOptions = {}): void {
  const tmp = path.join(path.dirname(file), tempNameOf(path.basename(file)));
  const sync = o.fsync ?? true;
  for (let attempt = 0; ; attempt++) {
    try {
      writeTemp(tmp, data, sync);
      fs.renameSync(tmp, file);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fs.rmSync(tmp, { force: true });
      // a trainer taking the folder removed the temporary file (its stale-leftover sweep): write it again
      if (code === 'ENOENT' && attempt < 2 && fs.existsSync(path.dirname(file))) continue;
      if (code === 'ENOSPC' && typeof data !== 'function' && fs.existsSync(file)) {
        writeInPlace(file, data, sync);
        return;
      }
      throw e;
    }
  }
}

function writeInPlace(file: string, data: string | Uint8Array, sync: boolean): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | O_NOFOLLOW);
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data, 0, undefined, 0);
    if (sync) fs.fsyncSync(fd);
  } finally { fs.closeSync(fd); }
}
