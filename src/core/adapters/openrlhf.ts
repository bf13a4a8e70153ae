// OpenRLHF: TensorBoard event files under <logger.tensorboard_dir>/<run_name>
// (openrlhf/utils/logging_utils.py TensorboardLogger): scalars train/<key> and eval/<key>, and
// one sample per step as the text summary train/generated_samples,
// "Sample:\n<decoded sequence>\n\nReward: <r>" (the \n written as backslash-n for Markdown).
import * as path from 'node:path';
import type { SampleItem } from '../protocol';
import { KEEP_SAMPLE_STEPS, type FrameworkSource, type RunSink } from './externalRun';
import { listDir } from './tail';
import { decodeEvent } from './tensorboard';
import { TFRecordTail } from './tfrecord';

export const isEventFile = (name: string): boolean => name.startsWith('events.out.tfevents.');

/** Folders holding event files: DIR itself, else its subfolders (a tensorboard_dir with one run). */
export function findEventDirs(dir: string): string[] {
  const entries = listDir(dir);
  if (entries.some((e) => e.isFile() && isEventFile(e.name))) return [dir];
  return entries.filter((e) => e.isDirectory() && listDir(path.join(dir, e.name)).some((f) => f.isFile() && isEventFile(f.name)))
    .map((e) => path.join(dir, e.name));
}

const SAMPLE_TAG = /(^|\/)generated_samples(\/text_summary)?$/;

/** OpenRLHF's sample text: the decoded prompt+response and its reward. */
export function parseGeneratedSample(s: string): { text: string; reward: number } {
  const norm = s.replace(/\\n/g, '\n');
  const m = /^(?:Sample:\n)?([\s\S]*?)\n\nReward: (-?[\d.eE+-]+|nan|inf|-inf)\s*$/.exec(norm);
  if (!m) return { text: norm, reward: Number.NaN };
  return { text: m[1], reward: Number(m[2]) };
}

export class TensorBoardSource implements FrameworkSource {
  readonly framework = 'openrlhf';
  private tails = new Map<string, TFRecordTail>();
  private samples = new Map<number, SampleItem[]>();

  constructor(readonly dir: string) {}

  poll(sink: RunSink): void {
    // A writer that restarts (resume) opens a new file; names sort by creation time.
    for (const d of findEventDirs(this.dir)) {
      for (const e of listDir(d)) {
        if (!e.isFile() || !isEventFile(e.name)) continue;
        const file = path.join(d, e.name);
        let tail = this.tails.get(file);
        if (!tail) this.tails.set(file, tail = new TFRecordTail(file));
        this.read(tail, sink);
      }
    }
  }

  private read(tail: TFRecordTail, sink: RunSink): void {
    const batch = tail.poll();
    for (const message of batch.errors) sink.error(message);
    for (const [i, rec] of batch.records.entries()) {
      let ev;
      try { ev = decodeEvent(rec); } catch (err) {
        sink.error(`${tail.file}: record ${i} of this read: not a TensorBoard Event (${(err as Error).message}): skipped`);
        continue;
      }
      if (ev.scalars.length) {
        const values: Record<string, number | null> = {};
        for (const s of ev.scalars) values[s.tag] = Number.isFinite(s.value) ? s.value : null;
        sink.metrics(ev.step, values, ev.wallTime || undefined);
      }
      for (const t of ev.texts) {
        if (!SAMPLE_TAG.test(t.tag)) continue;
        const { text, reward } = parseGeneratedSample(t.text);
        const items = this.samples.get(ev.step) ?? [];
        // The decoded sequence is prompt and response together: it shows as the response.
        items.push({ index: items.length, prompt: '', response: text, reward, rewards: {} });
        this.samples.set(ev.step, items);
        sink.samples(ev.step, [...items]);
      }
    }
    while (this.samples.size > KEEP_SAMPLE_STEPS) this.samples.delete(Math.min(...this.samples.keys()));
  }
}
