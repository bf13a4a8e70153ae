// TRL (GRPOTrainer and the other transformers Trainers): trainer_state.json's log_history (written
// by transformers at each checkpoint, output_dir/checkpoint-N/, and by save_state() in output_dir),
// and with log_completions=True output_dir/completions/completions_{step:05d}.parquet (columns step,
// prompt, completion, one per reward function, extras, advantage; trl/trainer/grpo_trainer.py).
// trainer_state.json is a whole JSON document rewritten in place, so it is parsed again only when
// its size or mtime changed, and only entries past the last step read are reported.
// Both are read through the run folder's guard (regular files only; trainer_state.json up to 256 MiB),
// and a completions file within the Parquet bounds of ./parquet.ts (rows, values, decoded bytes, and
// TEXT_CAP_CHARS of text kept per file: a 3.5 KB file that decodes to 1.4 GB shows its first samples and says so).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SampleItem } from '../protocol';
import { readGuarded, readGuardedBytes, RunFileError } from '../run/files';
import type { FrameworkSource, RunSink } from './externalRun';
import { ParquetBoundError, readParquetRows, TEXT_CAP_CHARS } from './parquet';
import { num, numericFields, text } from './sampleFiles';
import { listDir, parseObject, type JsonRecord } from './tail';

const COMPLETIONS = /^completions_(\d+)\.parquet$/;
const CHECKPOINT = /^checkpoint-(\d+)$/;
// log_history keys that are bookkeeping, not metrics
const NOT_METRICS = ['step', 'epoch', 'total_flos', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second'];

/** The newest trainer_state.json: output_dir's own or that of the highest checkpoint-N. */
export function findTrainerState(dir: string): string | undefined {
  const files: string[] = [];
  const own = path.join(dir, 'trainer_state.json');
  if (fs.existsSync(own)) files.push(own);
  const ckpts = listDir(dir).filter((e) => e.isDirectory() && CHECKPOINT.test(e.name))
    .sort((a, b) => Number(CHECKPOINT.exec(b.name)![1]) - Number(CHECKPOINT.exec(a.name)![1]));
  for (const c of ckpts) {
    const f = path.join(dir, c.name, 'trainer_state.json');
    if (fs.existsSync(f)) { files.push(f); break; }
  }
  const mtime = (f: string) => fs.statSync(f).mtimeMs;
  return files.sort((a, b) => mtime(b) - mtime(a))[0];
}

const completionsDir = (dir: string) => path.join(dir, 'completions');
export const hasCompletions = (dir: string): boolean => listDir(completionsDir(dir)).some((e) => COMPLETIONS.test(e.name));

/** A Parquet row of the completions table as a sample; reward functions are the numeric columns. */
function completionItem(row: JsonRecord, index: number): SampleItem {
  const rewards: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) {
    if (['step', 'prompt', 'completion', 'advantage'].includes(k)) continue;
    const n = num(v);
    if (n !== undefined) rewards[k] = n;
  }
  const reward = Object.values(rewards).reduce((a, b) => a + b, 0);
  return { index, prompt: text(row.prompt), response: text(row.completion), reward, rewards };
}

export class TrlSource implements FrameworkSource {
  readonly framework = 'trl';
  private stateSeen = '';        // size:mtime of the trainer_state.json last parsed
  private lastLogged = -1;        // index into log_history already reported
  private lastStateFile = '';
  private parquetSeen = new Map<string, string>(); // file -> size:mtime parsed

  constructor(readonly dir: string) {}

  async poll(sink: RunSink): Promise<void> {
    this.pollState(sink);
    await this.pollCompletions(sink);
  }

  private pollState(sink: RunSink): void {
    const file = findTrainerState(this.dir);
    if (!file) return;
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch { return; }
    const key = `${file}:${st.size}:${st.mtimeMs}`;
    if (key === this.stateSeen) return;
    let state: { log_history?: JsonRecord[] } | undefined;
    try { state = parseObject(readGuarded(file, 'foreign-state') ?? ''); } catch (e) {
      // not a regular file, or too large: said once, not read again until it changes
      if (e instanceof RunFileError) { this.stateSeen = key; sink.error(e.message); return; }
      /* gone between stat and read */
    }
    if (!state) return; // being rewritten: the next poll reads it whole
    this.stateSeen = key;
    const history = Array.isArray(state.log_history) ? state.log_history : [];
    // Another checkpoint's file repeats the history: entries are told apart by their position.
    if (file !== this.lastStateFile && history.length < this.lastLogged + 1) this.lastLogged = history.length - 1;
    this.lastStateFile = file;
    for (let i = this.lastLogged + 1; i < history.length; i++) {
      const entry = history[i];
      const step = num(entry.step);
      if (step === undefined) continue;
      const values = numericFields(entry, NOT_METRICS);
      if (Object.keys(values).length) sink.metrics(step, values);
    }
    this.lastLogged = history.length - 1;
  }

  private async pollCompletions(sink: RunSink): Promise<void> {
    const dir = completionsDir(this.dir);
    for (const e of listDir(dir)) {
      const m = COMPLETIONS.exec(e.name);
      if (!m) continue;
      const file = path.join(dir, e.name);
      let st: fs.Stats;
      try { st = fs.statSync(file); } catch { continue; }
      const key = `${st.size}:${st.mtimeMs}`;
      if (this.parquetSeen.get(file) === key) continue;
      let rows: JsonRecord[];
      try {
        const buf = readGuardedBytes(file, 'parquet');
        if (!buf) continue;
        const bytes = new ArrayBuffer(buf.byteLength);
        new Uint8Array(bytes).set(buf);
        rows = await readParquetRows(bytes);
      } catch (err) {
        if (err instanceof RunFileError || err instanceof ParquetBoundError) {
          this.parquetSeen.set(file, key);
          sink.error(err instanceof RunFileError ? err.message : `${file}: not read: ${err.message}`);
          continue;
        }
        // pandas writes the file in place: a half-written one is read again once it changes.
        if (Date.now() - st.mtimeMs > 10_000) { this.parquetSeen.set(file, key); sink.error(`${file}: not a readable Parquet file (${(err as Error).message})`); }
        continue;
      }
      this.parquetSeen.set(file, key);
      const step = num(rows[0]?.step) ?? Number(m[1]);
      // the text kept is counted: rows sharing one dictionary string cost nothing decoded, everything once shown
      const items: SampleItem[] = [];
      let chars = 0;
      for (const row of rows) {
        const item = completionItem(row, items.length);
        chars += item.prompt.length + item.response.length;
        if (chars > TEXT_CAP_CHARS) {
          sink.error(`${file}: its text is more than ${TEXT_CAP_CHARS / 2 ** 20} Mi characters; the first ${items.length} of ${rows.length} samples are shown`);
          break;
        }
        items.push(item);
      }
      sink.samples(step, items);
    }
  }
}
