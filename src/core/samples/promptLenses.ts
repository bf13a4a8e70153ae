// Which run's samples the editor shows beside a dataset line (src/extension/datasetLens.ts), for both
// kinds of samples a run writes: the training rollouts' (samples.jsonl, on data.prompts lines) and the
// evals' (eval_samples.jsonl, on data.eval_prompts lines). One SampleIndex per run and kind, polled
// incrementally. No vscode here: unit-tested directly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SampleIndex } from './index';
import { Labels, type Verdict } from './labels';
import { datasetsOfRunConfig, historyMarkdown, lensTitle } from './promptHistory';
import type { SampleRecord } from './record';
import { EVAL_SAMPLES_FILE, SAMPLES_FILE } from '../run/files';
import { readRunConfigText } from '../run/config';

export type SampleKind = 'train' | 'eval';
export const SAMPLE_KINDS: readonly SampleKind[] = ['train', 'eval'];
const FILE: Record<SampleKind, string> = { train: SAMPLES_FILE, eval: EVAL_SAMPLES_FILE };

/** One sampled line's lens: its latest step's summary and, when it has more than one step, its history's ends. */
export interface LineLens { kind: SampleKind; run: string; line: number; title: string; firstStep: number; lastStep: number }
/** One step's records of a line, with the run and the index rows they were read from (a label names its row). */
export interface StepRecords { kind: SampleKind; run: string; step: number; records: SampleRecord[]; rows: number[] }

/** `↳ reward 0.75 (4 samples, step 120)` for training samples, `↳ eval reward …` for an eval's. */
export function kindTitle(kind: SampleKind, rewards: number[], step: number): string {
  return lensTitle(rewards, step, kind === 'eval' ? 'eval ' : '');
}

/** The hover's markdown of one step's responses, headed by which kind they are. */
export function kindMarkdown(kind: SampleKind, records: SampleRecord[], step: number): string {
  return historyMarkdown(records, step, kind === 'eval' ? 'eval ' : '');
}

export class PromptLenses {
  /** samples.jsonl / eval_samples.jsonl path -> its index. */
  private readonly indexes = new Map<string, SampleIndex>();
  /** Run folder -> the dataset files its config.yaml names (read once: a run's config does not change). */
  private readonly datasets = new Map<string, string[]>();

  constructor(private readonly runs: () => { dir: string }[]) {}

  /** A run's index of one kind (created and read on first use). */
  index(run: string, kind: SampleKind): SampleIndex {
    const file = path.join(run, FILE[kind]);
    let idx = this.indexes.get(file);
    if (!idx) { idx = new SampleIndex(file); idx.poll(); this.indexes.set(file, idx); }
    return idx;
  }

  /**
   * The run whose config names `file` and whose samples of this kind were written last (a live run wins).
   * `runs`: the listing, read once by a caller that asks for several files or kinds (it reads every run's status).
   */
  runFor(file: string, kind: SampleKind, runs: { dir: string }[] = this.runs()): { run: string; idx: SampleIndex } | undefined {
    let best: { run: string; mtime: number } | undefined;
    for (const { dir } of runs) {
      if (!this.datasetsOf(dir).includes(file)) continue;
      let mtime: number;
      try { mtime = fs.statSync(path.join(dir, FILE[kind])).mtimeMs; } catch { continue; }
      if (!best || mtime > best.mtime) best = { run: dir, mtime };
    }
    return best && { run: best.run, idx: this.index(best.run, kind) };
  }

  private datasetsOf(dir: string): string[] {
    let d = this.datasets.get(dir);
    if (!d) {
      // through the run folder's guard: a config.yaml that is a link or a FIFO is not read (the editor's thread never waits on it)
      try { d = datasetsOfRunConfig(readRunConfigText(dir) ?? '', dir); } catch { return []; }
      this.datasets.set(dir, d);
    }
    return d;
  }

  /** Reads what the runs of these dataset files appended since the last poll (only the new bytes); true on news. */
  poll(files: Iterable<string>): boolean {
    let grew = false;
    const runs = this.runs();
    for (const f of files) for (const kind of SAMPLE_KINDS) { const got = this.runFor(f, kind, runs); if (got && got.idx.poll() > 0) grew = true; }
    return grew;
  }

  /** The lenses of a dataset file's sampled lines (at most `max`, the titles from the index: no file read). */
  lenses(file: string, max = Infinity): LineLens[] {
    const out: LineLens[] = [];
    const runs = this.runs();
    for (const kind of SAMPLE_KINDS) {
      const got = this.runFor(file, kind, runs);
      if (!got) continue;
      for (const [line, h] of got.idx.historiesOf(file)) {
        if (out.length >= max) return out;
        out.push({ kind, run: got.run, line, title: kindTitle(kind, got.idx.rewards(h.last), h.lastStep), firstStep: h.firstStep, lastStep: h.lastStep });
      }
    }
    return out;
  }

  /** The records of a line's first or latest step in one run's samples of a kind. */
  records(run: string, kind: SampleKind, file: string, line: number, which: 'first' | 'last'): StepRecords | undefined {
    const idx = this.index(run, kind), h = idx.historyOf(file, line);
    if (!h) return undefined;
    const wanted = Array.from(which === 'first' ? h.first : h.last);
    const read = idx.readMany(wanted);
    const rows = wanted.filter((_, i) => read[i]), records = read.filter((r): r is SampleRecord => !!r);
    return records.length ? { kind, run, step: which === 'first' ? h.firstStep : h.lastStep, records, rows } : undefined;
  }

  /**
   * Labels a training sample from the dataset's hover, as the sample browser does: one line in the run's
   * labels.jsonl (good, bad, or none to clear). Undefined when the row is not (or no longer) in the run.
   */
  label(run: string, row: number, verdict: Verdict): Verdict | undefined {
    const idx = this.index(run, 'train'), ref = idx.where(row), rec = ref && idx.read(row);
    if (!ref || !rec) return undefined;
    new Labels(run).mark(ref, rec.prompt, rec.response, verdict);
    return verdict;
  }

  /** A line's latest responses of each kind (the hover): training first, then eval. */
  latest(file: string, line: number): StepRecords[] {
    const runs = this.runs();
    return SAMPLE_KINDS.flatMap((kind) => {
      const got = this.runFor(file, kind, runs);
      const r = got && this.records(got.run, kind, file, line, 'last');
      return r ? [r] : [];
    });
  }
}
