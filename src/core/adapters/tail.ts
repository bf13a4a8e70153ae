// Incremental readers for the files other frameworks write: only bytes appended since the last
// poll are read. A file that shrank, or whose first bytes changed, was rewritten from the start
// (verl's file logger opens its JSONL with "wb" when a run resumes): the reader starts over. Files are
// opened through the run folder's guard (src/core/run/files.ts): a link to a regular file is followed,
// anything else (a FIFO, /dev/zero, a folder) is refused with a one-line `problem`, never read or waited on.
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { MAX_LINE_BYTES } from '../run/eventTail';
import { openGuarded, RunFileError, type FileKind } from '../run/files';

const HEAD_BYTES = 64;
const MAX_READ = 16 * 1024 * 1024; // per poll; the rest comes on the next one

export interface NewBytes { bytes: Buffer; restarted: boolean; problem?: string }

export class ByteTail {
  offset = 0;
  private head = Buffer.alloc(0); // the file's first bytes as first read: a rewrite changes them
  private skipTo = -1; // a record too large to read is skipped: the file has not reached its end yet

  constructor(readonly file: string, private readonly kind: FileKind = 'foreign-log') {}

  /** Skips to `offset` (past a record too large to read), also when the file is not that long yet. */
  skip(offset: number): void { this.offset = offset; this.skipTo = offset; }

  /** The bytes appended since the last call (empty when none or the file is missing; `problem` when the guard refused it). */
  read(): NewBytes {
    let fd: number, size: number;
    try {
      const opened = openGuarded(this.file, this.kind);
      if (!opened) return { bytes: Buffer.alloc(0), restarted: false };
      ({ fd, size } = opened);
    } catch (e) {
      if (!(e instanceof RunFileError)) throw e;
      return { bytes: Buffer.alloc(0), restarted: false, problem: e.message };
    }
    try {
      if (this.skipTo >= 0) {
        if (size < this.skipTo && this.sameHead(fd)) return { bytes: Buffer.alloc(0), restarted: false };
        this.skipTo = -1;
      }
      const restarted = this.offset > 0 && (size < this.offset || !this.sameHead(fd));
      if (restarted) { this.offset = 0; this.head = Buffer.alloc(0); }
      const want = Math.min(size - this.offset, MAX_READ);
      const bytes = Buffer.allocUnsafe(Math.max(0, want));
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, bytes, got, want - got, this.offset + got);
        if (n <= 0) break;
        got += n;
      }
      if (this.head.length < HEAD_BYTES && this.offset === 0) this.head = Buffer.from(bytes.subarray(0, Math.min(got, HEAD_BYTES)));
      this.offset += got;
      return { bytes: bytes.subarray(0, got), restarted };
    } finally { fs.closeSync(fd); }
  }

  private sameHead(fd: number): boolean {
    if (this.head.length === 0) return true;
    const now = Buffer.alloc(this.head.length);
    const n = fs.readSync(fd, now, 0, now.length, 0);
    return n === this.head.length && now.equals(this.head);
  }
}

export type JsonRecord = Record<string, unknown>;
const isRecord = (x: unknown): x is JsonRecord => typeof x === 'object' && x !== null && !Array.isArray(x);

/** JSON objects, one per line, of a file still being appended to; a partial last line waits. */
export class JsonlTail {
  readonly bytes: ByteTail;
  skipped = 0;
  private partial = '';
  private dropping = false; // inside an over-long line: discard until its newline
  private decoder = new StringDecoder('utf8');

  constructor(file: string) { this.bytes = new ByteTail(file); }

  poll(): { records: JsonRecord[]; restarted: boolean; problem?: string } {
    const { bytes, restarted, problem } = this.bytes.read();
    if (restarted) { this.partial = ''; this.dropping = false; this.decoder = new StringDecoder('utf8'); }
    const records: JsonRecord[] = [];
    if (bytes.length === 0) return { records, restarted, problem };
    const text = this.decoder.write(bytes);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.dropping) { this.dropping = false; this.partial = ''; continue; }
      const line = (this.partial + piece).trim();
      this.partial = '';
      if (!line) continue;
      const rec = parseObject(line);
      if (rec) records.push(rec); else this.skipped++;
    }
    if (!this.dropping) {
      this.partial += text.slice(start);
      if (this.partial.length > MAX_LINE_BYTES) { this.partial = ''; this.dropping = true; this.skipped++; }
    }
    return { records, restarted };
  }
}

// Python's json.dumps writes NaN/Infinity for non-finite floats (verl's rollout dumps, transformers'
// trainer_state.json when a loss diverges): not JSON, so they are read as null.
const NON_FINITE = /([:,[]\s*)-?(?:NaN|Infinity)(?=\s*[,}\]])/g;

/** A JSON object from text written by Python; undefined when it is none. */
export function parseObject(line: string): JsonRecord | undefined {
  let v: unknown;
  try { v = JSON.parse(line); } catch {
    if (!/NaN|Infinity/.test(line)) return undefined;
    try { v = JSON.parse(line.replace(NON_FINITE, '$1null')); } catch { return undefined; }
  }
  return isRecord(v) ? v : undefined;
}

/** Files in a folder (names only), sorted; none when it is missing. */
export function listDir(dir: string): fs.Dirent[] {
  try { return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)); } catch { return []; }
}
