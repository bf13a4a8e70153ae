// Human preference labels of a run's samples: an append-only labels.jsonl in the run folder (one
// line per click, so nothing is lost on a crash and a reload replays it), the last label of a
// sample winning; and the export to prompt/chosen/rejected JSONL, the format the reward-model and
// DPO trainers of TRL and OpenRLHF read. labels.jsonl is streamed through the run folder's guard (a
// file of any size reads in constant memory besides the labels themselves; a link or a FIFO in its
// place is refused and `problem` says so), and the export is linear in the labels and written as it
// is produced: each response is paired with at most PAIRS_PER_RESPONSE responses of the other side.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendGuarded, LABELS_FILE, readLines, RunFileError } from '../run/files';
import { atomicWrite } from '../run/atomic';

export type Verdict = 'good' | 'bad' | 'none';
/** A sample as labels name it: its step, index in the step and byte offset in samples.jsonl (unique in the file). */
export interface SampleRef { step: number; index: number; offset: number }
/** Why a preference between two responses with the same text is refused (it would teach nothing and the export drops it). */
export const SAME_TEXT = 'these two responses have the same text: a preference needs two different responses; pick another one';
export interface VerdictLabel extends SampleRef { time: number; prompt: string; response: string; label: Verdict }
export interface Preference { time: number; step: number; prompt: string; chosen: SampleRef & { response: string }; rejected: SampleRef & { response: string } }
export type LabelLine = VerdictLabel | Preference;
export interface PreferencePair { prompt: string; chosen: string; rejected: string }

export { LABELS_FILE };

/**
 * A good and a bad response of one prompt make a pair. With few on one side (at most this many) every
 * good x bad pair is exported; beyond, each response is paired with this many of the other side, chosen
 * round-robin so every response is used: the pairs stay linear in the labels (3,000 good x 3,000 bad of
 * one prompt make 96,000 pairs, not 9 million).
 */
export const PAIRS_PER_RESPONSE = 16;
/** A labels.jsonl line longer than this is skipped (counted in `skipped`). */
export const MAX_LABEL_LINE_BYTES = 64 * 2 ** 20;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isRef = (x: unknown): boolean => isObj(x) && Number.isInteger(x.step) && Number.isInteger(x.index) && typeof x.offset === 'number';
const isSide = (x: unknown): boolean => isRef(x) && typeof (x as Record<string, unknown>).response === 'string';

/** One labels.jsonl line, or undefined for a line that is torn or not a label. */
export function parseLabelLine(line: string): LabelLine | undefined {
  let x: unknown;
  try { x = JSON.parse(line); } catch { return undefined; }
  if (!isObj(x) || typeof x.prompt !== 'string' || typeof x.time !== 'number') return undefined;
  if ('label' in x) return isRef(x) && typeof x.response === 'string' && (x.label === 'good' || x.label === 'bad' || x.label === 'none') ? (x as unknown as VerdictLabel) : undefined;
  return isSide(x.chosen) && isSide(x.rejected) ? (x as unknown as Preference) : undefined;
}

export class Labels {
  readonly file: string;
  private verdicts = new Map<number, VerdictLabel>();
  private prefs: Preference[] = [];
  skipped = 0;

  constructor(readonly runDir: string) {
    this.file = path.join(runDir, LABELS_FILE);
    this.reload();
  }

  /** Why labels.jsonl was refused by the guard (a link, a FIFO, …), one line; undefined when it reads normally. */
  problem: string | undefined;

  /** Reads labels.jsonl again (another window may have labelled too), streamed line by line. */
  reload(): void {
    this.verdicts.clear(); this.prefs = []; this.skipped = 0; this.problem = undefined; this.pairCache = undefined;
    try {
      const read = readLines(this.file, 'labels', (buf, start, end) => {
        if (end <= start) return;
        const text = buf.toString('utf8', start, end);
        if (!text.trim()) return;
        const l = parseLabelLine(text);
        if (!l) { this.skipped++; return; }
        this.apply(l);
      }, { lastLine: true, maxLine: MAX_LABEL_LINE_BYTES });
      this.skipped += read?.skipped ?? 0;
    } catch (e) {
      if (!(e instanceof RunFileError)) throw e;
      this.problem = e.message;
    }
  }

  private apply(l: LabelLine): void {
    this.pairCache = undefined;
    if ('label' in l) {
      if (l.label === 'none') this.verdicts.delete(l.offset); else this.verdicts.set(l.offset, l);
    } else this.prefs.push(l);
  }

  private append(l: LabelLine): void {
    appendGuarded(this.file, JSON.stringify(l) + '\n', 'labels');
    this.apply(l);
  }

  /** Marks a sample good or bad ('none' takes the mark back). */
  mark(ref: SampleRef, prompt: string, response: string, label: Verdict): VerdictLabel {
    const l: VerdictLabel = { time: Date.now() / 1000, step: ref.step, index: ref.index, offset: ref.offset, prompt, response, label };
    this.append(l);
    return l;
  }

  /** Records that `chosen` is preferred over `rejected`; both must answer the same prompt. */
  prefer(prompt: string, chosen: SampleRef & { response: string }, rejected: SampleRef & { response: string }): Preference {
    if (chosen.offset === rejected.offset) throw new Error('labels: a response cannot be preferred over itself');
    if (chosen.response === rejected.response) throw new Error(SAME_TEXT);
    const l: Preference = { time: Date.now() / 1000, step: chosen.step, prompt, chosen, rejected };
    this.append(l);
    return l;
  }

  /** The preferences a sample takes part in (by its offset): the sample indexes it was preferred over, and
   * those preferred over it, each with its step. */
  preferencesOf(offset: number): { over: SampleRef[]; under: SampleRef[] } {
    const over: SampleRef[] = [], under: SampleRef[] = [];
    for (const p of this.prefs) {
      if (p.chosen.offset === offset) over.push(p.rejected);
      if (p.rejected.offset === offset) under.push(p.chosen);
    }
    return { over, under };
  }

  /** The current mark of a sample (by its offset in samples.jsonl). */
  verdict(offset: number): 'good' | 'bad' | undefined {
    const v = this.verdicts.get(offset)?.label;
    return v === 'good' || v === 'bad' ? v : undefined;
  }

  get counts(): { good: number; bad: number; preferences: number } {
    let good = 0, bad = 0;
    for (const v of this.verdicts.values()) if (v.label === 'good') good++; else bad++;
    return { good, bad, preferences: this.prefs.length };
  }

  private pairCache: number | undefined;

  /**
   * Calls `fn` with each preference pair: every explicit preference, then good x bad pairs of responses
   * to the same prompt (all of them when one side has at most PAIRS_PER_RESPONSE, else that many
   * partners per response); a pair is given once and never with the same text on both sides. Linear in
   * the labels: pairs are told apart by a hash, never by a key holding their text.
   */
  forEachPair(fn: (p: PreferencePair) => void): number {
    const seen = new Set<string>();
    let n = 0;
    const add = (prompt: string, chosen: string, rejected: string) => {
      if (chosen === rejected) return;
      const h = createHash('sha256');
      for (const t of [prompt, chosen, rejected]) h.update(`${t.length}:`).update(t);
      const key = h.digest('base64');
      if (seen.has(key)) return;
      seen.add(key);
      n++;
      fn({ prompt, chosen, rejected });
    };
    for (const p of this.prefs) add(p.prompt, p.chosen.response, p.rejected.response);
    const byPrompt = new Map<string, { good: string[]; bad: string[] }>();
    for (const v of this.verdicts.values()) {
      let g = byPrompt.get(v.prompt);
      if (!g) byPrompt.set(v.prompt, g = { good: [], bad: [] });
      (v.label === 'good' ? g.good : g.bad).push(v.response);
    }
    const K = PAIRS_PER_RESPONSE;
    for (const [prompt, { good, bad }] of byPrompt) {
      if (Math.min(good.length, bad.length) <= K) {
        for (const c of good) for (const r of bad) add(prompt, c, r);
        continue;
      }
      // each good with K bad ones and each bad with K good ones, round-robin (every response is used)
      for (let i = 0; i < good.length; i++) for (let j = 0; j < K; j++) add(prompt, good[i], bad[(i * K + j) % bad.length]);
      for (let i = 0; i < bad.length; i++) for (let j = 0; j < K; j++) add(prompt, good[(i * K + j) % good.length], bad[i]);
    }
    this.pairCache = n;
    return n;
  }

  /** The preference pairs as a list (forEachPair collects them; the export streams them instead). */
  pairs(): PreferencePair[] {
    const out: PreferencePair[] = [];
    this.forEachPair((p) => out.push(p));
    return out;
  }

  /** How many pairs the export writes (computed once per change of the labels). */
  pairCount(): number {
    return this.pairCache ?? this.forEachPair(() => undefined);
  }

  /**
   * Writes the pairs as JSONL to `outFile` as they are produced (through a temporary file, renamed when
   * whole, so a reader never sees half); returns the pair count. Throws the guard's RunFileError when
   * labels.jsonl was refused: an export of a file that was not read would say 0 pairs, wrongly.
   */
  export(outFile: string): number {
    if (this.problem) throw new RunFileError(this.file, this.problem, 'not-a-file');
    let n = 0;
    atomicWrite(outFile, (fd) => {
      let buf: string[] = [], held = 0;
      const flush = () => { if (buf.length) fs.writeSync(fd, buf.join('')); buf = []; held = 0; };
      n = this.forEachPair((p) => {
        const line = JSON.stringify(p) + '\n';
        buf.push(line); held += line.length;
        if (held >= 1 << 20) flush();
      });
      flush();
    });
    return n;
  }
}
