// The run folder's files by name, and the one guarded way every reader in src/core opens them (and the
// files of other frameworks' run folders). A run folder can come from anywhere (a cloned repository, a
// copied folder), so a name in it may be a symbolic link to /dev/zero, a FIFO that blocks whoever opens
// it, a folder, or a file of terabytes. The guard:
//   - lstat before open: only a regular file is opened (a link is refused in a native run folder: the
//     trainer never writes one; in another framework's folder a link to a regular file is followed);
//   - open with O_NOFOLLOW | O_NONBLOCK, then fstat: what was opened is a regular file too (a FIFO swapped
//     in between never blocks the open, and is refused);
//   - a size cap per kind for whole-file reads (status.json and notes.json are small); the append-only
//     logs (events, samples, labels) are never read whole: they are streamed in chunks, line by line;
//   - every refusal is a RunFileError whose message names the file, what it is and what to do.
import * as fs from 'node:fs';
import * as path from 'node:path';

// the run folder's names are names.ts's (re-exported: the readers that import them from here keep working)
export {
  CHECKPOINTS_DIR, COMPLETE_MARKER, CONFIG_FILE, CONTROL_DIR, EVAL_SAMPLES_FILE, EVENTS_FILE, KEEP_MARKER, KILL_REASON_FILE,
  LABELS_FILE, NOTES_FILE, RESUME_FILE, RUN_FILES, SAMPLES_FILE, STATUS_FILE, TRAINER_LOG,
} from './names';
import { RUN_FILES } from './names';

const KiB = 1024, MiB = 1024 * KiB;

/**
 * What a file is to its reader: how much of it a whole-file read may take (streamed kinds are never read
 * whole: `cap` is Infinity and their readers go chunk by chunk), and whether a symbolic link is followed.
 */
export type FileKind = 'status' | 'notes' | 'lock' | 'kill-reason' | 'config' | 'resume' | 'events' | 'samples' | 'labels'
  | 'dataset' | 'foreign-log' | 'foreign-state' | 'parquet' | 'tfevents';

interface KindRule { cap: number; links: boolean; what: string }
const RULES: Record<FileKind, KindRule> = {
  status: { cap: 1 * MiB, links: false, what: 'a run status' },
  notes: { cap: 1 * MiB, links: false, what: 'a run\'s notes' },
  lock: { cap: 4 * KiB, links: false, what: 'a lock file' },
  'kill-reason': { cap: 64 * KiB, links: false, what: 'a kill reason' },
  config: { cap: 8 * MiB, links: false, what: 'a run config' },
  resume: { cap: 64 * MiB, links: false, what: 'a checkpoint\'s resume.json' },
  events: { cap: Infinity, links: false, what: 'an event log' },
  samples: { cap: Infinity, links: false, what: 'a sample log' },
  labels: { cap: Infinity, links: false, what: 'a label log' },
  // a prompt file a run's config.yaml names (datasets are often links into shared storage)
  dataset: { cap: 1024 * MiB, links: true, what: 'a prompt file read whole' },
  // other frameworks' files: their folders may be links (shared storage); what a link reaches must still be a regular file
  'foreign-log': { cap: Infinity, links: true, what: 'a log' },
  'foreign-state': { cap: 256 * MiB, links: true, what: 'a trainer state' },
  parquet: { cap: 256 * MiB, links: true, what: 'a Parquet file' },
  tfevents: { cap: Infinity, links: true, what: 'a TensorBoard event file' },
};

/** The largest whole-file read of a kind (Infinity: the kind is only streamed). */
export const capOf = (kind: FileKind): number => RULES[kind].cap;

/** A file the guard refused to read (not a regular file, a link, over its size cap) or could not read; the message says which and what to do. */
export class RunFileError extends Error {
  constructor(readonly file: string, message: string, readonly code: 'not-a-file' | 'link' | 'too-large' | 'unreadable') {
    super(message);
  }
}

export function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function typeOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const notAFile = (file: string, st: fs.Stats, via = ''): RunFileError =>
  new RunFileError(file, `${file} is ${via}${typeOf(st)}, not a regular file: it was not read; remove it (only regular files are read from a run folder)`, 'not-a-file');

function linkRefused(file: string): RunFileError {
  let target = '';
  try { target = ` to ${fs.readlinkSync(file)}`; } catch { /* raced away */ }
  return new RunFileError(file, `${file} is a symbolic link${target}: a run folder's files are never links, so it was not read; remove it, or put a copy of the file it points to in its place`, 'link');
}

const tooLarge = (file: string, size: number, kind: FileKind): RunFileError =>
  new RunFileError(file, `${file} is ${formatSize(size)}, more than the ${formatSize(RULES[kind].cap)} ${RULES[kind].what} can be: it was not read; remove it or move it out of the folder`, 'too-large');

const unreadable = (file: string, e: unknown): RunFileError =>
  new RunFileError(file, `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'unreadable');

const isMissing = (e: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

// O_NONBLOCK: opening a FIFO never waits for a writer; O_NOFOLLOW: a link swapped in after the lstat fails the open
const { O_RDONLY, O_NONBLOCK = 0, O_NOFOLLOW = 0 } = fs.constants;
const openFlags = (kind: FileKind): number => O_RDONLY | O_NONBLOCK | (RULES[kind].links ? 0 : O_NOFOLLOW);

/** The checks before the open (lstat, and stat through a link a foreign kind may follow); false when the file is not there. */
function preCheck(file: string, kind: FileKind): boolean {
  let st: fs.Stats;
  try { st = fs.lstatSync(file); } catch (e) { if (isMissing(e)) return false; throw unreadable(file, e); }
  return checkEntry(file, kind, st, () => { try { return fs.statSync(file); } catch (e) { if (isMissing(e)) return undefined; throw unreadable(file, e); } });
}

async function preCheckAsync(file: string, kind: FileKind): Promise<boolean> {
  let st: fs.Stats;
  try { st = await fs.promises.lstat(file); } catch (e) { if (isMissing(e)) return false; throw unreadable(file, e); }
  let target: fs.Stats | undefined;
  if (st.isSymbolicLink() && RULES[kind].links) {
    try { target = await fs.promises.stat(file); } catch (e) { if (!isMissing(e)) throw unreadable(file, e); }
  }
  return checkEntry(file, kind, st, () => target);
}

function checkEntry(file: string, kind: FileKind, st: fs.Stats, follow: () => fs.Stats | undefined): boolean {
  let via = '';
  if (st.isSymbolicLink()) {
    if (!RULES[kind].links) throw linkRefused(file);
    const target = follow();
    if (!target) return false; // a dangling link: nothing there
    st = target;
    via = 'a link to ';
  }
  if (!st.isFile()) throw notAFile(file, st, via);
  if (st.size > RULES[kind].cap) throw tooLarge(file, st.size, kind);
  return true;
}

function postCheck(file: string, kind: FileKind, st: fs.Stats): void {
  if (!st.isFile()) throw notAFile(file, st);
  if (st.size > RULES[kind].cap) throw tooLarge(file, st.size, kind);
}

export interface Opened { fd: number; size: number }

/**
 * Opens a run-folder (or foreign) file for reading through the guard: undefined when it does not exist,
 * RunFileError when it is refused. The caller closes the fd.
 */
export function openGuarded(file: string, kind: FileKind): Opened | undefined {
  if (!preCheck(file, kind)) return undefined;
  let fd: number;
  try { fd = fs.openSync(file, openFlags(kind)); } catch (e) {
    if (isMissing(e)) return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw linkRefused(file);
    throw unreadable(file, e);
  }
  try {
    const st = fs.fstatSync(fd);
    postCheck(file, kind, st);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e instanceof RunFileError ? e : unreadable(file, e);
  }
}

/** The whole file (of a capped kind) as bytes; undefined when it does not exist; RunFileError when refused. */
export function readGuardedBytes(file: string, kind: FileKind): Buffer | undefined {
  const cap = RULES[kind].cap;
  if (!Number.isFinite(cap)) throw new Error(`${kind} files are streamed, never read whole`);
  const opened = openGuarded(file, kind);
  if (!opened) return undefined;
  try {
    // read to the end, not to the size seen: the file may have grown (and must stay under the cap)
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(opened.size - total, 0) + 1, cap + 1 - total, 4 * MiB) || 1);
      let n: number;
      try { n = fs.readSync(opened.fd, buf, 0, buf.length, null); } catch (e) { throw unreadable(file, e); }
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > cap) throw tooLarge(file, total, kind);
    }
    return Buffer.concat(chunks, total);
  } finally { fs.closeSync(opened.fd); }
}

/** The whole file (of a capped kind) as UTF-8 text; undefined when it does not exist; RunFileError when refused. */
export function readGuarded(file: string, kind: FileKind): string | undefined {
  return readGuardedBytes(file, kind)?.toString('utf8');
}

/** The async open behind readGuardedAsync and readLinesAsync: the checks before the open, then the open itself (no FIFO blocks it, no link is followed); undefined when the file does not exist. */
async function openHandle(file: string, kind: FileKind): Promise<fs.promises.FileHandle | undefined> {
  if (!(await preCheckAsync(file, kind))) return undefined;
  try { return await fs.promises.open(file, openFlags(kind)); } catch (e) {
    if (isMissing(e)) return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw linkRefused(file);
    throw unreadable(file, e);
  }
}

/** readGuarded off the calling thread's event loop (the extension host's listing): same checks, async I/O. */
export async function readGuardedAsync(file: string, kind: FileKind): Promise<string | undefined> {
  const cap = RULES[kind].cap;
  if (!Number.isFinite(cap)) throw new Error(`${kind} files are streamed, never read whole`);
  const handle = await openHandle(file, kind);
  if (!handle) return undefined;
  try {
    let st: fs.Stats;
    try { st = await handle.stat(); } catch (e) { throw unreadable(file, e); }
    postCheck(file, kind, st);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, 0) + 1, cap + 1 - total, 4 * MiB) || 1);
      let n: number;
      try { ({ bytesRead: n } = await handle.read(buf, 0, buf.length, null)); } catch (e) { throw unreadable(file, e); }
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > cap) throw tooLarge(file, total, kind);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally { await handle.close(); }
}

/**
 * What a name in a run folder is, without opening it: a one-line problem when it is there and not a
 * regular file (for a kind that follows links, when what the link reaches is not one).
 */
export function entryProblem(file: string, kind: FileKind = 'status'): string | undefined {
  try { preCheck(file, kind); return undefined; } catch (e) {
    return e instanceof RunFileError && e.code !== 'too-large' && e.code !== 'unreadable' ? e.message : undefined;
  }
}

/** entryProblem of every run file of a folder (the Runs listing warns about each before it reads anything). */
export function runFolderProblems(runDir: string): string[] {
  return RUN_FILES.map((n) => entryProblem(path.join(runDir, n))).filter((p): p is string => p !== undefined);
}

export async function runFolderProblemsAsync(runDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of RUN_FILES) {
    const file = path.join(runDir, n);
    let st: fs.Stats;
    try { st = await fs.promises.lstat(file); } catch { continue; }
    if (st.isFile()) continue;
    out.push(st.isSymbolicLink() ? linkRefused(file).message : notAFile(file, st).message);
  }
  return out;
}

/**
 * Appends text to a run-folder log (labels.jsonl) through the guard: created when missing, never through
 * a link, never to a FIFO or device (a FIFO without a reader would block the open; O_NONBLOCK refuses it).
 */
export function appendGuarded(file: string, text: string, kind: FileKind): void {
  const { O_WRONLY, O_APPEND, O_CREAT } = fs.constants;
  let fd: number;
  try { fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_NOFOLLOW, 0o644); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw linkRefused(file);
    if (code === 'ENXIO' || code === 'EISDIR') { // a FIFO nobody reads, a folder
      let st: fs.Stats | undefined;
      try { st = fs.lstatSync(file); } catch { /* raced away */ }
      if (st) throw notAFile(file, st);
    }
    throw unreadable(file, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notAFile(file, st);
    if (st.size > RULES[kind].cap) throw tooLarge(file, st.size, kind);
    fs.writeSync(fd, text);
  } finally { fs.closeSync(fd); }
}

// ---- streamed line reading -----------------------------------------------------------------------

/** Lines longer than this are skipped by the streamed readers (never assembled). */
export const MAX_STREAM_LINE_BYTES = 16 * MiB;
const CHUNK = 1 * MiB;

/** Called with each complete line's bytes (buf[start, end), no newline); return false to stop reading. */
export type LineBytes = (buf: Buffer, start: number, end: number, offset: number) => boolean | void;

export interface LinesRead {
  /** The byte offset after the last complete line read (where an incremental reader resumes). */
  end: number;
  /** The file's size when opened. */
  size: number;
  /** Lines over the length limit, skipped. */
  skipped: number;
  /** onLine asked to stop. */
  stopped: boolean;
}

/** Splits chunks into lines; a line over `maxLine` bytes is dropped whole without being held. */
class LineSplitter {
  private pieces: Buffer[] = [];
  private held = 0;
  private dropping = false;
  skipped = 0;
  stopped = false;
  /** File offset just past the last complete line. */
  end: number;

  constructor(private pos: number, private readonly maxLine: number, private readonly onLine: LineBytes) { this.end = pos; }

  push(chunk: Buffer): void {
    let s = 0;
    while (!this.stopped) {
      const nl = chunk.indexOf(10, s);
      if (nl < 0) break;
      this.line(chunk, s, nl);
      s = nl + 1;
      this.end = this.pos + s;
    }
    if (this.stopped) return;
    const rest = chunk.length - s;
    if (rest > 0 && !this.dropping) {
      if (this.held + rest > this.maxLine) { this.pieces = []; this.held = 0; this.dropping = true; this.skipped++; }
      else { this.pieces.push(Buffer.from(chunk.subarray(s))); this.held += rest; }
    }
    this.pos += chunk.length;
  }

  /** The last line, without its newline (a whole-file reader takes it; an incremental one waits for the newline). */
  finish(): void {
    if (this.stopped || this.dropping || !this.pieces.length) return;
    const buf = Buffer.concat(this.pieces);
    this.pieces = []; this.held = 0;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 13) end--;
    if (this.onLine(buf, 0, end, this.pos - buf.length) === false) this.stopped = true;
  }

  private line(chunk: Buffer, s: number, nl: number): void {
    if (this.dropping) { this.dropping = false; return; }
    let buf = chunk, start = s, end = nl, offset = this.pos + s;
    if (this.pieces.length) {
      if (this.held + (nl - s) > this.maxLine) { this.pieces = []; this.held = 0; this.skipped++; return; }
      offset -= this.held;
      buf = Buffer.concat([...this.pieces, chunk.subarray(s, nl)]);
      start = 0; end = buf.length;
      this.pieces = []; this.held = 0;
    }
    if (end > start && buf[end - 1] === 13) end--;
    if (this.onLine(buf, start, end, offset) === false) this.stopped = true;
  }
}

export interface StreamOptions {
  /** Start at this byte offset (an incremental reader's last `end`). */
  from?: number;
  /** Stop reading after this many bytes from `from` (a head read: run_started is among the first lines). */
  limit?: number;
  maxLine?: number;
  /** Also deliver a last line that has no newline (a whole-file read; `end` stays before it). */
  lastLine?: boolean;
}

/**
 * Streams a run-folder log line by line through the guard, chunk by chunk (the file is never held
 * whole: a 600 MB events.jsonl or labels.jsonl reads in constant memory). Undefined when the file is
 * missing; RunFileError when refused. A last line without its newline is not delivered (it is being written).
 */
export function readLines(file: string, kind: FileKind, onLine: LineBytes, o: StreamOptions = {}): LinesRead | undefined {
  const opened = openGuarded(file, kind);
  if (!opened) return undefined;
  const from = Math.min(o.from ?? 0, opened.size);
  const stopAt = Math.min(opened.size, o.limit === undefined ? Infinity : from + o.limit);
  const split = new LineSplitter(from, o.maxLine ?? MAX_STREAM_LINE_BYTES, onLine);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let at = from; at < stopAt && !split.stopped;) {
      let n: number;
      try { n = fs.readSync(opened.fd, buf, 0, Math.min(CHUNK, stopAt - at), at); } catch (e) { throw unreadable(file, e); }
      if (n <= 0) break;
      split.push(buf.subarray(0, n));
      at += n;
    }
    if (o.lastLine) split.finish();
  } finally { fs.closeSync(opened.fd); }
  return { end: split.end, size: opened.size, skipped: split.skipped, stopped: split.stopped };
}

/** readLines with async reads: the extension host's event loop runs between chunks. */
export async function readLinesAsync(file: string, kind: FileKind, onLine: LineBytes, o: StreamOptions = {}): Promise<LinesRead | undefined> {
  const handle = await openHandle(file, kind);
  if (!handle) return undefined;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notAFile(file, st);
    const from = Math.min(o.from ?? 0, st.size);
    const stopAt = Math.min(st.size, o.limit === undefined ? Infinity : from + o.limit);
    const split = new LineSplitter(from, o.maxLine ?? MAX_STREAM_LINE_BYTES, onLine);
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let at = from; at < stopAt && !split.stopped;) {
      const { bytesRead: n } = await handle.read(buf, 0, Math.min(CHUNK, stopAt - at), at);
      if (n <= 0) break;
      split.push(buf.subarray(0, n));
      at += n;
    }
    if (o.lastLine) split.finish();
    return { end: split.end, size: st.size, skipped: split.skipped, stopped: split.stopped };
  } finally { await handle.close(); }
}

/** The problem a guarded read raised, as one line (RunFileError's message; other errors are rethrown). */
export function problemOf(e: unknown): string {
  if (e instanceof RunFileError) return e.message;
  throw e;
}
