// prime-rl: the file monitor (on by default; src/prime_rl/monitors/file.py) appends rows
// {"step", "time", metric: value} to output_dir/metrics.jsonl, from the trainer and the
// orchestrator alike (so a step comes in pieces), and episodes to
// output_dir/rollouts/step_N/{train,eval}/{all,effective}/traces.jsonl (verifiers v1
// Episode.to_record(): traces with message nodes and rewards {name: {score, weight}}).
// Samples shown: the train cohort that was trained on ("effective"), else every finished one ("all").
import * as path from 'node:path';
import type { SampleItem } from '../protocol';
import type { FrameworkSource, RunSink } from './externalRun';
import { SampleFiles, isStep, num, numericFields, text } from './sampleFiles';
import { JsonlTail, listDir, type JsonRecord } from './tail';

const STEP_DIR = /^step_(\d+)$/;
const isObj = (x: unknown): x is JsonRecord => typeof x === 'object' && x !== null && !Array.isArray(x);

interface Message { role?: string; content?: unknown }
/** Message content as text: a string, or the text parts of a content list. */
function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : '')).join('');
  return text(c);
}

/** One trace of an episode as a sample: prompt = the messages before the first model reply. */
function traceItem(episode: JsonRecord, trace: JsonRecord, index: number): SampleItem {
  const nodes = Array.isArray(trace.nodes) ? trace.nodes.filter(isObj) : [];
  const messages = nodes.map((n) => (isObj(n.message) ? n.message : {}) as Message);
  const firstReply = messages.findIndex((m) => m.role === 'assistant');
  const split = firstReply < 0 ? messages.length : firstReply;
  const show = (ms: Message[]) => ms.map((m) => contentText(m.content)).filter((t) => t).join('\n\n');
  const rewards: Record<string, number> = {};
  let reward = 0;
  if (isObj(trace.rewards)) {
    for (const [k, r] of Object.entries(trace.rewards)) {
      if (!isObj(r)) continue;
      const score = num(r.score);
      if (score === undefined) continue;
      rewards[k] = score;
      reward += score * (num(r.weight) ?? 1);
    }
  }
  const errors = Array.isArray(episode.errors) ? episode.errors.filter(isObj) : [];
  const item: SampleItem = { index, prompt: show(messages.slice(0, split)), response: show(messages.slice(split)), reward, rewards };
  if (isObj(episode.task) && episode.task.data !== undefined) item.label = episode.task.data;
  if (errors.length) item.reward_errors = Object.fromEntries(errors.map((e, i) => [typeof e.type === 'string' ? e.type : String(i), text(e.message)]));
  return item;
}

export class PrimeRlSource implements FrameworkSource {
  readonly framework = 'prime-rl';
  private metrics: JsonlTail;
  private episodes: SampleFiles;

  constructor(readonly dir: string) {
    this.metrics = new JsonlTail(path.join(dir, 'metrics.jsonl'));
    // A record with several traces (agents) shows its first.
    this.episodes = new SampleFiles((r, index) => {
      const traces = Array.isArray(r.traces) ? r.traces.filter(isObj) : [];
      if (traces.length === 0) return undefined;
      return traceItem(r, traces[0], index);
    });
  }

  poll(sink: RunSink): void {
    const polled = this.metrics.poll();
    if (polled.problem) sink.error(polled.problem);
    for (const r of polled.records) {
      const step = num(r.step);
      if (step === undefined) continue;
      if (!isStep(step)) { sink.error(`${this.metrics.bytes.file}: a row with step ${step}, not a whole number from 0 to 2^53: skipped`); continue; }
      sink.metrics(step, numericFields(r, ['step', 'time']), num(r.time));
    }
    const found = new Map<string, number>();
    const rollouts = path.join(this.dir, 'rollouts');
    for (const e of listDir(rollouts)) {
      const m = STEP_DIR.exec(e.name);
      if (!m || !e.isDirectory()) continue;
      const train = path.join(rollouts, e.name, 'train');
      const subsets = listDir(train).filter((s) => s.isDirectory()).map((s) => s.name);
      const subset = subsets.includes('effective') ? 'effective' : subsets.includes('all') ? 'all' : undefined;
      if (subset) found.set(path.join(train, subset, 'traces.jsonl'), Number(m[1]));
    }
    this.episodes.poll(found, sink);
  }
}
