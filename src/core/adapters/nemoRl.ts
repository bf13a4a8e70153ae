// NeMo-RL: the log dir of a run (logger.log_dir, by default logs/exp_NNN: nemo_rl/utils/logger.py
// get_next_experiment_dir) holds the per-step dumps of Logger.log_batched_dict_as_jsonl:
// train_data_step{N}.jsonl (nemo_rl/algorithms/grpo.py, one line per rollout: content, rewards,
// input_lengths, token_ids, token_loss_mask, sample_loss_mask, advantages, generation_logprobs,
// prev_logprobs, idx; each value a one-row slice of the batch, so wrapped in a one-element list)
// and val_data_step{N}.jsonl (content = the message log as {role, content}, rewards). Metrics go only
// to the enabled backends: TensorBoard (log_dir/tensorboard/events.out.tfevents.*) is read when there;
// the dumps give reward and response length per step whatever is enabled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SampleItem } from '../protocol';
import type { FrameworkSource, RunSink } from './externalRun';
import { TensorBoardSource } from './openrlhf';
import { SampleFiles, num, text } from './sampleFiles';
import { listDir, type JsonRecord } from './tail';

const TRAIN_DUMP = /^train_data_step(\d+)\.jsonl$/;
const VAL_DUMP = /^val_data_step(\d+)\.jsonl$/;
const isDump = (name: string) => TRAIN_DUMP.test(name) || VAL_DUMP.test(name);

const hasDumps = (dir: string) => listDir(dir).some((e) => e.isFile() && isDump(e.name));
const mtime = (f: string) => { try { return fs.statSync(f).mtimeMs; } catch { return 0; } };

/**
 * The NeMo-RL log dir of DIR: DIR itself when it holds the dumps, else the newest folder up to two
 * levels down that does (logs/ -> logs/exp_NNN; the folder above logs/ -> logs/exp_NNN).
 */
export function findNemoRlLogDir(dir: string, depth = 2): string | undefined {
  if (hasDumps(dir)) return dir;
  if (depth === 0) return undefined;
  const subs = listDir(dir).filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => findNemoRlLogDir(path.join(dir, e.name), depth - 1)).filter((d): d is string => d !== undefined);
  return subs.sort((a, b) => mtime(b) - mtime(a))[0];
}

/** One row of a batch slice: [x] -> x (a tensor row [[...]] -> [...]); anything else as it is. */
const row = (x: unknown): unknown => (Array.isArray(x) && x.length === 1 ? x[0] : x);
const numbers = (x: unknown): number[] | undefined => {
  const r = row(x);
  return Array.isArray(r) && r.every((v) => typeof v === 'number') ? r : undefined;
};
const isObj = (x: unknown): x is JsonRecord => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Prompt and response of a dump's content: a message log ({role, content}: the messages before the first assistant one are the prompt), or the messages' texts alone (train dumps have no roles: the first is the prompt). */
function split(content: unknown): { prompt: string; response: string } {
  const msgs = Array.isArray(content) ? content : [content];
  if (msgs.some(isObj)) {
    const first = msgs.findIndex((m) => isObj(m) && m.role === 'assistant');
    const at = first < 0 ? msgs.length : first;
    const show = (ms: unknown[]) => ms.map((m) => (isObj(m) ? text(m.content) : text(m))).join('');
    return { prompt: show(msgs.slice(0, at)), response: show(msgs.slice(at)) };
  }
  return { prompt: text(msgs[0]), response: msgs.slice(1).map(text).join('') };
}

/** One dumped rollout as a sample; the generated tokens (token_loss_mask 1, from the first to the last) with their log-probs and advantages. */
export function dumpItem(r: JsonRecord, index: number): SampleItem | undefined {
  if (r.content === undefined) return undefined;
  const reward = num(row(r.rewards));
  const item: SampleItem = { index, ...split(row(r.content)), reward: reward ?? Number.NaN, rewards: {} };
  const ids = numbers(r.token_ids);
  const mask = numbers(r.token_loss_mask);
  if (ids && mask) {
    const len = Math.min(num(row(r.input_lengths)) ?? ids.length, ids.length, mask.length);
    const first = mask.findIndex((m, i) => i < len && m > 0);
    let last = -1;
    for (let i = len - 1; i >= 0 && last < 0; i--) if (mask[i] > 0) last = i;
    if (first >= 0) {
      item.tokens = ids.slice(first, last + 1).map(String);
      item.response_length = mask.slice(0, len).filter((m) => m > 0).length;
      const per = (x: unknown) => numbers(x)?.slice(first, last + 1);
      const lp = per(r.generation_logprobs); if (lp?.length === item.tokens.length) item.logprobs = lp;
      const adv = per(r.advantages); if (adv?.length === item.tokens.length) item.advantages = adv;
    }
  }
  return item;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export class NemoRlSource implements FrameworkSource {
  readonly framework = 'nemo-rl';
  private logDir: string | undefined;
  private tb: TensorBoardSource | undefined;
  private train = new SampleFiles(dumpItem);
  private val = new SampleFiles(dumpItem);

  /** `dir`: the log dir (logs/exp_NNN), or a folder up to two levels above it (the newest log dir in it is read). */
  constructor(readonly dir: string) {}

  /** The log dir's name (exp_NNN). */
  get name(): string | undefined {
    const d = this.logDir ?? findNemoRlLogDir(this.dir);
    return d && path.basename(d);
  }

  poll(sink: RunSink): void {
    this.logDir ??= findNemoRlLogDir(this.dir) ?? (listDir(path.join(this.dir, 'tensorboard')).length ? this.dir : undefined);
    const dir = this.logDir;
    if (!dir) return;
    this.tb ??= new TensorBoardSource(path.join(dir, 'tensorboard'));
    this.tb.poll(sink);
    const train = new Map<string, number>();
    const val = new Map<string, number>();
    for (const e of listDir(dir)) {
      if (!e.isFile()) continue;
      const t = TRAIN_DUMP.exec(e.name);
      if (t) train.set(path.join(dir, e.name), Number(t[1]));
      const v = VAL_DUMP.exec(e.name);
      if (v) val.set(path.join(dir, e.name), Number(v[1]));
    }
    // a step's metrics from its rollouts: reward and response length (TensorBoard's own, when there, take the panels)
    const pass = { metrics: sink.metrics.bind(sink), truncate: sink.truncate.bind(sink), error: sink.error.bind(sink) };
    this.train.poll(train, { ...pass, samples: (step, items) => {
      const lengths = items.map((i) => i.response_length).filter((l): l is number => l !== undefined);
      sink.metrics(step, {
        'train_data/reward_mean': mean(items.map((i) => i.reward).filter(Number.isFinite)),
        'train_data/response_length_mean': mean(lengths),
        'train_data/response_length_max': lengths.length ? Math.max(...lengths) : null,
      });
      sink.samples(step, items);
    } });
    this.val.poll(val, { ...pass, samples: (step, items) => {
      sink.metrics(step, { 'val_data/reward_mean': mean(items.map((i) => i.reward).filter(Number.isFinite)) });
    } });
  }
}
