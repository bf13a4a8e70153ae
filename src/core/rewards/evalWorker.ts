// Worker thread that evaluates rules. It announces every sample it starts in shared memory so the
// engine can tell which one hangs or runs out of memory, and seeds Math.random per sample so the
// same inputs always give the same outputs.
import { parentPort, workerData } from 'node:worker_threads';
import { buildEvaluator, type RuleSet, type Sample } from './rules';

export interface WorkerInit { rules: RuleSet; shared: SharedArrayBuffer }
export type WorkerIn = { id: number; samples: Sample[] };
export type SampleOutcome = { reward: number; breakdown: Record<string, number> } | { error: string };
export type WorkerOut = { type: 'ready' } | { type: 'fatal'; message: string } | { type: 'done'; id: number; results: SampleOutcome[] };

function seeded(seed: number): () => number { // mulberry32
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const init = workerData as WorkerInit;
const progress = new Int32Array(init.shared);
let evaluate: ReturnType<typeof buildEvaluator>;
try {
  evaluate = buildEvaluator(init.rules);
  parentPort!.postMessage({ type: 'ready' } satisfies WorkerOut);
} catch (e) {
  parentPort!.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies WorkerOut);
}

parentPort!.on('message', (msg: WorkerIn) => {
  const results: SampleOutcome[] = new Array(msg.samples.length);
  for (let i = 0; i < msg.samples.length; i++) {
    Atomics.store(progress, 0, i);
    Atomics.add(progress, 1, 1);
    const s = msg.samples[i];
    Math.random = seeded(hash(`${s.prompt}\u0000${s.response}`));
    try {
      results[i] = evaluate(s);
    } catch (e) {
      results[i] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  Atomics.add(progress, 1, 1);
  parentPort!.postMessage({ type: 'done', id: msg.id, results } satisfies WorkerOut);
});
