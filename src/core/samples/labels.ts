// Human preference labels of a run's samples: an append-only labels.jsonl in the run folder (one
// line per click, so nothing is lost on a crash and a reload replays it), the last label of a
// sample winning; and the export to prompt/chosen/rejected JSONL, the format the reward-model and
// DPO trainers of TRL and OpenRLHF read.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Verdict = 'good' | 'bad' | 'none';
/** A sample as labels name it: its step, index in the step and byte offset in samples.jsonl (unique in the file). */
export interface SampleRef { step: number; index: number; offset: number }
export interface VerdictLabel extends SampleRef { time: number; prompt: string; response: string; label: Verdict }
export interface Preference { time: number; step: number; prompt: string; chosen: SampleRef & { response: string }; rejected: SampleRef & { response: string } }
export type LabelLine = VerdictLabel | Preference;
export interface PreferencePair { prompt: string; chosen: string; rejected: string }

export const LABELS_FILE = 'labels.jsonl';

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

  /** Reads labels.jsonl again (another window may have labelled too). */
  reload(): void {
    this.verdicts.clear(); this.prefs = []; this.skipped = 0;
    let text: string;
    try { text = fs.readFileSync(this.file, 'utf8'); } catch { return; }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const l = parseLabelLine(line);
      if (!l) { this.skipped++; continue; }
      this.apply(l);
    }
  }

  private apply(l: LabelLine): void {
    if ('label' in l) {
      if (l.label === 'none') this.verdicts.delete(l.offset); else this.verdicts.set(l.offset, l);
    } else this.prefs.push(l);
  }

  private append(l: LabelLine): void {
    fs.appendFileSync(this.file, JSON.stringify(l) + '\n');
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
    const l: Preference = { time: Date.now() / 1000, step: chosen.step, prompt, chosen, rejected };
    this.append(l);
    return l;
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

  /**
   * The preference pairs: every explicit preference, then every good x bad pair of responses to
   * the same prompt; a pair is listed once and never with the same text on both sides.
   */
  pairs(): PreferencePair[] {
    const out: PreferencePair[] = [];
    const seen = new Set<string>();
    const add = (prompt: string, chosen: string, rejected: string) => {
      const key = JSON.stringify([prompt, chosen, rejected]);
      if (chosen === rejected || seen.has(key)) return;
      seen.add(key);
      out.push({ prompt, chosen, rejected });
    };
    for (const p of this.prefs) add(p.prompt, p.chosen.response, p.rejected.response);
    const byPrompt = new Map<string, { good: string[]; bad: string[] }>();
    for (const v of this.verdicts.values()) {
      let g = byPrompt.get(v.prompt);
      if (!g) byPrompt.set(v.prompt, g = { good: [], bad: [] });
      (v.label === 'good' ? g.good : g.bad).push(v.response);
    }
    for (const [prompt, g] of byPrompt) for (const c of g.good) for (const r of g.bad) add(prompt, c, r);
    return out;
  }

  /** Writes the pairs as JSONL to `outFile` (through a temporary file, so a reader never sees half); returns the pair count. */
  export(outFile: string): number {
    const pairs = this.pairs();
    const tmp = `${outFile}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, pairs.map((p) => JSON.stringify(p) + '\n').join(''));
    fs.renameSync(tmp, outFile);
    return pairs.length;
  }
}
