// An index of a run's samples.jsonl that stays small however long the run: per sample, its byte
// offset and length in the file and the few numbers the browser filters and sorts on, in typed
// arrays (about 45 bytes a sample); the text is read back from the file on demand. Reading is
// incremental: each poll parses only the bytes appended since the last, and a torn last line
// (the trainer is writing it) waits for its newline. samples.jsonl is opened through the run folder's
// guard: a link, a FIFO or a device in its place is refused (`problem` says so), never read or waited on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openGuarded, RunFileError, SAMPLES_FILE } from '../run/files';
import { failingSources, hashText, isSampleRecord, meanAdvantage, type SampleRecord } from './record';

/** Lines longer than this are skipped (counted in `skipped`), never assembled. */
export const MAX_SAMPLE_LINE_BYTES = 64 * 2 ** 20;
const CHUNK = 4 * 2 ** 20;
const TRUNCATED = 1;
const HAS_TOKENS = 2;
/** Failing rules are a bit mask: the first 32 reward sources of a run can be filtered on. */
const MAX_RULES = 32;

export type SortKey = 'step' | 'reward' | 'length' | 'advantage';
export interface SampleSort { key: SortKey; desc: boolean }
export interface SampleFilter {
  stepMin?: number; stepMax?: number;
  rewardMin?: number; rewardMax?: number;
  /** Case-insensitive substring of the prompt or the response. */
  text?: string;
  /** Case-insensitive substring of the prompt only. */
  prompt?: string;
  /** A reward source the sample fails (scored <= 0 or errored). */
  rule?: string;
  truncatedOnly?: boolean;
}
export interface QueryResult {
  /** Row ids in display order. */
  rows: Uint32Array;
  /** The text search stopped at its cap: more samples may match. */
  capped: boolean;
}
/** What a table row needs, without the per-token arrays. */
export interface SampleSummary {
  row: number; offset: number; step: number; index: number; prompt: string; response: string; reward: number;
  rewards: Record<string, number>; failing: string[]; advantage: number | null; length: number; truncated: boolean; hasTokens: boolean;
  group: number | null;
}

/** The samples of one dataset line (one prompt): its first and its latest step's rows, in file order. */
export interface PromptHistory { firstStep: number; first: number[]; lastStep: number; last: number[]; total: number }

/** Fixed-width columns that grow by doubling. */
class Columns {
  offset = new Float64Array(0); length = new Uint32Array(0); step = new Uint32Array(0); index = new Uint32Array(0);
  reward = new Float32Array(0); advantage = new Float32Array(0); respLen = new Uint32Array(0); flags = new Uint8Array(0);
  failMask = new Uint32Array(0); group = new Int32Array(0); promptHash = new Uint32Array(0);
  capacity = 0;

  static readonly BYTES_PER_SAMPLE = 8 + 4 + 4 + 4 + 4 + 4 + 4 + 1 + 4 + 4 + 4;

  ensure(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(1024, this.capacity * 2, n);
    const grow = <T extends Float64Array | Float32Array | Uint32Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => { const b = make(cap); b.set(a); return b; };
    this.offset = grow(this.offset, (k) => new Float64Array(k));
    this.length = grow(this.length, (k) => new Uint32Array(k));
    this.step = grow(this.step, (k) => new Uint32Array(k));
    this.index = grow(this.index, (k) => new Uint32Array(k));
    this.reward = grow(this.reward, (k) => new Float32Array(k));
    this.advantage = grow(this.advantage, (k) => new Float32Array(k));
    this.respLen = grow(this.respLen, (k) => new Uint32Array(k));
    this.flags = grow(this.flags, (k) => new Uint8Array(k));
    this.failMask = grow(this.failMask, (k) => new Uint32Array(k));
    this.group = grow(this.group, (k) => new Int32Array(k));
    this.promptHash = grow(this.promptHash, (k) => new Uint32Array(k));
    this.capacity = cap;
  }
}

/** Counts of values in `counts.length` equal-width bins over [lo, hi] (the last bin includes hi). */
export interface RewardHistogram { lo: number; hi: number; counts: number[] }

/** Equal-width bins over the values' range; one bin when they are all equal; null for none (NaN skipped). */
export function histogram(values: ArrayLike<number>, bins: number): RewardHistogram | null {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) { const x = values[i]; if (x < lo) lo = x; if (x > hi) hi = x; }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const n = hi > lo ? Math.max(1, bins) : 1;
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isFinite(x)) counts[Math.min(n - 1, Math.floor(((x - lo) / (hi - lo || 1)) * n))]++;
  }
  return { lo, hi, counts };
}

export class SampleIndex {
  readonly file: string;
  private cols = new Columns();
  private n = 0;
  /** File offset of the first byte not yet indexed (the start of a torn last line, if any). */
  private pos = 0;
  private readonly sources: string[] = [];
  private readonly perStep = new Map<number, number>();
  /** Dataset file (absolute) -> 1-based line -> that prompt's history: bounded by the dataset, not the run. */
  private readonly bySource = new Map<string, Map<number, PromptHistory>>();
  /** A recorded `source.file` -> its absolute path (a run names one or two dataset files). */
  private readonly resolved = new Map<string, string>();
  skipped = 0;

  constructor(runDirOrFile: string) {
    this.file = runDirOrFile.endsWith('.jsonl') ? runDirOrFile : path.join(runDirOrFile, SAMPLES_FILE);
  }

  /** Why the file was refused by the guard (a link, a FIFO, …), one line; undefined while it reads normally. */
  problem: string | undefined;

  /** The file's fd through the guard; undefined when it is missing or refused (then `problem` says why). */
  private open(): { fd: number; size: number } | undefined {
    try {
      const opened = openGuarded(this.file, 'samples');
      this.problem = undefined;
      return opened;
    } catch (e) {
      if (!(e instanceof RunFileError)) throw e;
      this.problem = e.message;
      return undefined;
    }
  }

  get size(): number { return this.n; }
  /** The reward sources seen so far (the rule filter's choices). */
  get rules(): readonly string[] { return this.sources; }
  /** Samples per step, in step order. */
  steps(): [number, number][] { return [...this.perStep].sort((a, b) => a[0] - b[0]); }
  /** Bytes the index holds (allocated capacity, not just used rows). */
  memoryBytes(): number { return this.cols.capacity * Columns.BYTES_PER_SAMPLE; }
  static readonly BYTES_PER_SAMPLE = Columns.BYTES_PER_SAMPLE;

  /** Indexes what was appended since the last poll; returns how many samples were added. */
  poll(): number {
    const opened = this.open();
    if (!opened) return 0;
    const { fd, size } = opened;
    const before = this.n;
    try {
      if (size < this.pos) this.clear(); // rewritten from the start: index it again
      this.readFrom(fd, size);
    } finally { fs.closeSync(fd); }
    return this.n - before;
  }

  private clear(): void {
    this.cols = new Columns(); this.n = 0; this.pos = 0; this.skipped = 0;
    this.sources.length = 0; this.perStep.clear(); this.bySource.clear();
  }

  private readFrom(fd: number, size: number): void {
    const buf = Buffer.allocUnsafe(CHUNK);
    while (this.pos < size) {
      const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - this.pos), this.pos);
      if (n <= 0) return;
      const view = buf.subarray(0, n);
      let s = 0;
      for (let nl = view.indexOf(10, s); nl >= 0; nl = view.indexOf(10, s)) { this.addLine(view, s, nl, this.pos + s); s = nl + 1; }
      if (s > 0) { this.pos += s; continue; }
      if (n < CHUNK) return; // a torn last line: it waits for its newline
      if (!this.longLine(fd, size)) return;
    }
  }

  /** A line longer than a chunk: indexed if it fits MAX_SAMPLE_LINE_BYTES, else skipped. False when it is not complete yet. */
  private longLine(fd: number, size: number): boolean {
    const probe = Buffer.allocUnsafe(CHUNK);
    for (let at = this.pos + CHUNK; at < size; at += CHUNK) {
      const n = fs.readSync(fd, probe, 0, Math.min(CHUNK, size - at), at);
      const nl = probe.subarray(0, n).indexOf(10);
      if (nl < 0) continue;
      const end = at + nl;
      if (end - this.pos <= MAX_SAMPLE_LINE_BYTES) {
        const line = Buffer.allocUnsafe(end - this.pos);
        fs.readSync(fd, line, 0, line.length, this.pos);
        this.addLine(line, 0, line.length, this.pos);
      } else this.skipped++;
      this.pos = end + 1;
      return true;
    }
    return false;
  }

  private addLine(buf: Buffer, start: number, end: number, offset: number): void {
    if (end > start && buf[end - 1] === 13) end--;
    if (end <= start) return;
    let r: unknown;
    try { r = JSON.parse(buf.toString('utf8', start, end)); } catch { this.skipped++; return; }
    if (!isSampleRecord(r)) { this.skipped++; return; }
    this.cols.ensure(this.n + 1);
    const c = this.cols, i = this.n++;
    c.offset[i] = offset; c.length[i] = end - start; c.step[i] = r.step; c.index[i] = r.index;
    c.reward[i] = r.reward; c.advantage[i] = meanAdvantage(r) ?? NaN;
    c.respLen[i] = typeof r.response_length === 'number' ? r.response_length : (r.tokens?.length ?? 0);
    c.flags[i] = (r.truncated ? TRUNCATED : 0) | (Array.isArray(r.tokens) && r.tokens.length ? HAS_TOKENS : 0);
    c.failMask[i] = this.ruleMask(failingSources(r), r);
    c.group[i] = Number.isInteger(r.group) ? r.group! : -1;
    c.promptHash[i] = hashText(r.prompt);
    this.perStep.set(r.step, (this.perStep.get(r.step) ?? 0) + 1);
    if (r.source && typeof r.source.file === 'string' && Number.isInteger(r.source.line)) this.addToHistory(r.source.file, r.source.line, r.step, i);
  }

  private addToHistory(file: string, line: number, step: number, row: number): void {
    // relative to the run folder when not absolute (the trainer writes absolute paths); resolved once per name
    let key = this.resolved.get(file);
    if (key === undefined) this.resolved.set(file, key = path.resolve(path.dirname(this.file), file));
    let lines = this.bySource.get(key);
    if (!lines) this.bySource.set(key, lines = new Map<number, PromptHistory>());
    const h = lines.get(line);
    if (!h) { lines.set(line, { firstStep: step, first: [row], lastStep: step, last: [row], total: 1 }); return; }
    h.total++;
    if (step === h.firstStep) h.first.push(row);
    if (step === h.lastStep) h.last.push(row);
    else if (step > h.lastStep) { h.lastStep = step; h.last = [row]; }
  }

  /** A histogram of the total rewards of `rows` (the matched rows: with the step slider, one step's). */
  rewardHistogram(rows: ArrayLike<number>, bins = 20): RewardHistogram | null {
    const v = new Float32Array(rows.length);
    let k = 0;
    for (let i = 0; i < rows.length; i++) if (rows[i] < this.n) v[k++] = this.cols.reward[rows[i]];
    return histogram(v.subarray(0, k), bins);
  }

  /** The total rewards of rows, from the index (no file read). */
  rewards(rows: readonly number[]): number[] { return rows.filter((r) => r >= 0 && r < this.n).map((r) => this.cols.reward[r]); }

  /** The dataset files the recorded samples name (absolute paths). */
  sourceFiles(): string[] { return [...this.bySource.keys()]; }

  /** The prompt at a dataset file's 1-based line: its first and latest step's rows (undefined: never sampled). */
  historyOf(file: string, line: number): PromptHistory | undefined {
    return this.bySource.get(path.resolve(file))?.get(line);
  }

  /** Every sampled line of a dataset file and its history (the editor's lenses). */
  historiesOf(file: string): ReadonlyMap<number, PromptHistory> {
    return this.bySource.get(path.resolve(file)) ?? new Map<number, PromptHistory>();
  }

  private ruleMask(failing: string[], r: SampleRecord): number {
    for (const k of Object.keys(r.rewards)) if (!this.sources.includes(k) && this.sources.length < MAX_RULES) this.sources.push(k);
    let m = 0;
    for (const k of failing) {
      let b = this.sources.indexOf(k);
      if (b < 0 && this.sources.length < MAX_RULES) b = this.sources.push(k) - 1;
      if (b >= 0) m |= 1 << b;
    }
    return m >>> 0;
  }

  /** The full record of a row, read from the file (undefined when the file changed under it). */
  read(row: number): SampleRecord | undefined {
    return this.readMany([row])[0];
  }

  readMany(rows: ArrayLike<number>): (SampleRecord | undefined)[] {
    const fd = this.open()?.fd;
    if (fd === undefined) return Array.from(rows, () => undefined);
    try {
      return Array.from(rows, (row) => {
        if (row < 0 || row >= this.n) return undefined;
        const buf = Buffer.allocUnsafe(this.cols.length[row]);
        if (fs.readSync(fd, buf, 0, buf.length, this.cols.offset[row]) !== buf.length) return undefined;
        try { const r: unknown = JSON.parse(buf.toString('utf8')); return isSampleRecord(r) ? r : undefined; } catch { return undefined; }
      });
    } finally { fs.closeSync(fd); }
  }

  /** Rows that pass a filter, sorted; a text search reads the candidates' lines and stops after `textCap` matches. */
  query(filter: SampleFilter = {}, sort: SampleSort = { key: 'step', desc: false }, textCap = 200_000): QueryResult {
    const c = this.cols;
    const ruleBit = filter.rule === undefined ? -1 : this.sources.indexOf(filter.rule);
    if (filter.rule !== undefined && ruleBit < 0) return { rows: new Uint32Array(0), capped: false };
    const lo = filter.stepMin ?? -Infinity, hi = filter.stepMax ?? Infinity;
    const rlo = filter.rewardMin ?? -Infinity, rhi = filter.rewardMax ?? Infinity;
    let rows: Uint32Array = new Uint32Array(this.n);
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      const s = c.step[i], r = c.reward[i];
      if (s < lo || s > hi || r < rlo || r > rhi) continue;
      if (filter.truncatedOnly && !(c.flags[i] & TRUNCATED)) continue;
      if (ruleBit >= 0 && !(c.failMask[i] & (1 << ruleBit))) continue;
      rows[k++] = i;
    }
    rows = rows.subarray(0, k);
    let capped = false;
    if (filter.text || filter.prompt) ({ rows, capped } = this.textFilter(rows, filter.text?.toLowerCase(), filter.prompt?.toLowerCase(), textCap));
    return { rows: this.sorted(rows, sort), capped };
  }

  /** Streams the candidates' lines in file order and keeps those whose prompt/response contain the needles. */
  private textFilter(rows: Uint32Array, text: string | undefined, prompt: string | undefined, cap: number): QueryResult {
    const out: number[] = [];
    const fd = this.open()?.fd;
    if (fd === undefined) return { rows: new Uint32Array(0), capped: false };
    const c = this.cols;
    let buf = Buffer.allocUnsafe(CHUNK), bufStart = 0, bufEnd = 0;
    try {
      for (const row of rows) {
        const off = c.offset[row], len = c.length[row];
        if (off < bufStart || off + len > bufEnd) {
          if (len > buf.length) buf = Buffer.allocUnsafe(len);
          bufStart = off;
          bufEnd = off + fs.readSync(fd, buf, 0, buf.length, off);
          if (off + len > bufEnd) continue;
        }
        const line = buf.toString('utf8', off - bufStart, off - bufStart + len);
        const p = jsonField(line, 'prompt').toLowerCase();
        if (prompt && !p.includes(prompt)) continue;
        if (text && !p.includes(text) && !jsonField(line, 'response').toLowerCase().includes(text)) continue;
        out.push(row);
        if (out.length >= cap) return { rows: Uint32Array.from(out), capped: true };
      }
    } finally { fs.closeSync(fd); }
    return { rows: Uint32Array.from(out), capped: false };
  }

  private sorted(rows: Uint32Array, sort: SampleSort): Uint32Array {
    const c = this.cols, d = sort.desc ? -1 : 1;
    // rows are in file order already, which is step order for one run: only a descending step sort moves them
    if (sort.key === 'step') return sort.desc ? rows.slice().sort((a, b) => (c.step[b] - c.step[a]) || (a - b)) : rows;
    const col = sort.key === 'reward' ? c.reward : sort.key === 'length' ? c.respLen : c.advantage;
    // NaN (no per-token data) sorts last either way; ties keep file order
    return rows.slice().sort((a, b) => {
      const x = col[a], y = col[b];
      if (x !== x) return y !== y ? a - b : 1;
      if (y !== y) return -1;
      return (x - y) * d || (a - b);
    });
  }

  /** Table rows for a window of a query result; the text is cut to `maxChars` (the detail view reads the full record). */
  summaries(rows: ArrayLike<number>, maxChars = 400): SampleSummary[] {
    const recs = this.readMany(rows);
    const out: SampleSummary[] = [];
    recs.forEach((r, k) => {
      if (!r) return;
      const row = rows[k], c = this.cols;
      out.push({ row, offset: c.offset[row], step: r.step, index: r.index, prompt: cut(r.prompt, maxChars), response: cut(r.response, maxChars),
        reward: r.reward, rewards: r.rewards, failing: failingSources(r), advantage: meanAdvantage(r), length: c.respLen[row],
        truncated: !!(c.flags[row] & TRUNCATED), hasTokens: !!(c.flags[row] & HAS_TOKENS), group: c.group[row] >= 0 ? c.group[row] : null });
    });
    return out;
  }

  /**
   * The samples of the row's prompt in the row's step (its group of n), best reward first: by the
   * recorded group id when the trainer writes one, else by the prompt text.
   */
  groupOf(row: number): number[] {
    if (row < 0 || row >= this.n) return [];
    const c = this.cols, step = c.step[row], g = c.group[row], h = c.promptHash[row];
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (c.step[i] !== step) continue;
      if (g >= 0 ? c.group[i] === g : c.group[i] < 0 && c.promptHash[i] === h) out.push(i);
    }
    return out.sort((a, b) => (c.reward[b] - c.reward[a]) || (a - b));
  }

  /** Rows whose prompt is exactly `prompt`, newest last (the editor's "latest responses" of a dataset line). */
  rowsOfPrompt(prompt: string): number[] {
    const h = hashText(prompt), c = this.cols, out: number[] = [];
    for (let i = 0; i < this.n; i++) if (c.promptHash[i] === h) out.push(i);
    // a hash is 32 bits: confirm against the text (of the newest 1,000: enough for an editor's hover)
    const recent = out.slice(-1000);
    const recs = this.readMany(recent);
    return recent.filter((_, k) => recs[k]?.prompt === prompt);
  }

  /** The step, row number and byte offset of a row (label ids). */
  where(row: number): { step: number; index: number; offset: number } | undefined {
    return row >= 0 && row < this.n ? { step: this.cols.step[row], index: this.cols.index[row], offset: this.cols.offset[row] } : undefined;
  }

  /** The row at a byte offset (labels name samples by offset), or -1. */
  rowAt(offset: number): number {
    const o = this.cols.offset;
    let lo = 0, hi = this.n - 1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (o[mid] === offset) return mid; if (o[mid] < offset) lo = mid + 1; else hi = mid - 1; }
    return -1;
  }

  /** Reward range over all samples (the reward filter's bounds). */
  rewardRange(): [number, number] | null {
    if (!this.n) return null;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < this.n; i++) { const r = this.cols.reward[i]; if (r < lo) lo = r; if (r > hi) hi = r; }
    return [lo, hi];
  }
}

function cut(s: string, n: number): string { return s.length > n ? s.slice(0, n) + '…' : s; }

/**
 * A top-level string field of a samples.jsonl line without parsing the line (which can carry long
 * per-token arrays): `"key":"` cannot occur inside a JSON string, where the quotes are escaped.
 */
export function jsonField(line: string, key: string): string {
  const tag = `"${key}":"`;
  const at = line.indexOf(tag);
  if (at < 0) return '';
  const start = at + tag.length;
  let i = start, escaped = false;
  for (; i < line.length; i++) {
    const ch = line.charCodeAt(i);
    if (ch === 92 /* \ */) { escaped = true; i++; continue; }
    if (ch === 34 /* " */) break;
  }
  const raw = line.slice(start, i);
  if (!escaped) return raw;
  try { return JSON.parse(`"${raw}"`) as string; } catch { return raw; }
}
