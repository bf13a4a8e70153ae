// The rule engine: evaluates batches in worker threads with a per-sample time budget and a memory
// cap. A rule that throws, hangs, runs out of memory or returns a non-number gives that sample a
// recorded error and the fallback reward; the other samples are scored.
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SampleOutcome, WorkerOut } from './evalWorker';
import type { RuleSet, Sample } from './rules';

export interface EngineOptions {
  workers?: number;
  /** Time one sample may take, all rules together. */
  timeBudgetMs?: number;
  /** Heap cap of each worker. */
  memoryMb?: number;
  fallback?: number;
  /** dist/reward-eval-worker.js; defaults to the file next to the running bundle. */
  workerScript?: string;
}

export interface SampleResult { reward: number; breakdown: Record<string, number>; error?: string }

interface Slot { worker: Worker; progress: Int32Array; ready: Promise<void> }

export class RewardEngine {
  private slots: (Slot | undefined)[];
  private readonly o: Required<EngineOptions>;
  private nextId = 0;

  constructor(private readonly rules: RuleSet, opts: EngineOptions = {}) {
    this.o = {
      workers: opts.workers ?? Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length)),
      timeBudgetMs: opts.timeBudgetMs ?? 1000,
      memoryMb: opts.memoryMb ?? 256,
      fallback: opts.fallback ?? 0,
      workerScript: opts.workerScript ?? path.join(__dirname, 'reward-eval-worker.js'),
    };
    this.slots = new Array(this.o.workers).fill(undefined);
  }

  get fallback(): number { return this.o.fallback; }

  private spawn(i: number): Slot {
    const shared = new SharedArrayBuffer(8);
    const worker = new Worker(this.o.workerScript, {
      workerData: { rules: this.rules, shared },
      env: {}, // rules see no environment variables (tokens, keys)
      resourceLimits: { maxOldGenerationSizeMb: this.o.memoryMb, maxYoungGenerationSizeMb: Math.min(64, this.o.memoryMb / 4), stackSizeMb: 4 },
      stdout: true, stderr: true,
    });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: WorkerOut) => {
        if (m.type === 'ready') { worker.off('message', onMsg); resolve(); }
        if (m.type === 'fatal') { worker.off('message', onMsg); reject(new Error(m.message)); }
      };
      worker.on('message', onMsg);
      worker.once('error', reject);
    });
    ready.catch(() => undefined);
    const slot = { worker, progress: new Int32Array(shared), ready };
    this.slots[i] = slot;
    return slot;
  }

  private kill(i: number): void {
    const s = this.slots[i];
    this.slots[i] = undefined;
    if (s) void s.worker.terminate();
  }

  /** Starts one worker and waits until the rule set has loaded in it (rejects with the load error). */
  async ready(): Promise<void> {
    const s = this.slots[0] ?? this.spawn(0);
    await s.ready;
  }

  /** Scores the samples; never rejects because of a rule (only when the rule set itself cannot load). */
  async evaluate(samples: Sample[]): Promise<SampleResult[]> {
    const out: SampleResult[] = new Array(samples.length);
    const per = Math.ceil(samples.length / this.o.workers);
    await Promise.all(this.slots.map((_, i) => this.runRange(i, samples, i * per, Math.min(samples.length, (i + 1) * per), out)));
    return out;
  }

  private async runRange(i: number, samples: Sample[], start: number, end: number, out: SampleResult[]): Promise<void> {
    const pending: [number, number][] = [[start, end]];
    while (pending.length) {
      const [a, b] = pending.shift()!;
      if (a >= b) continue;
      const slot = this.slots[i] ?? this.spawn(i);
      await slot.ready; // a rule set that cannot load rejects here, with its message
      const r = await this.runBatch(slot, samples.slice(a, b));
      if (r.kind === 'done') {
        r.results.forEach((res, k) => { out[a + k] = this.toResult(res); });
        continue;
      }
      // the worker died on one sample: record it, restart, and redo the rest of the batch
      // (the results before it died with the worker; rules are deterministic, so redoing is exact)
      const failed = a + r.index;
      out[failed] = { reward: this.o.fallback, breakdown: {}, error: r.error };
      this.kill(i);
      pending.unshift([a, failed], [failed + 1, b]);
    }
  }

  private toResult(res: SampleOutcome): SampleResult {
    return 'error' in res ? { reward: this.o.fallback, breakdown: {}, error: res.error } : { reward: res.reward, breakdown: res.breakdown };
  }

  private runBatch(slot: Slot, batch: Sample[]): Promise<{ kind: 'done'; results: SampleOutcome[] } | { kind: 'failed'; index: number; error: string }> {
    const id = ++this.nextId;
    const budget = this.o.timeBudgetMs;
    return new Promise((resolve) => {
      let lastSeq = Atomics.load(slot.progress, 1);
      let lastChange = Date.now();
      const finish = (v: Parameters<typeof resolve>[0]) => {
        clearInterval(watchdog);
        slot.worker.off('message', onMsg);
        slot.worker.off('error', onError);
        slot.worker.off('exit', onExit);
        resolve(v);
      };
      const current = () => Atomics.load(slot.progress, 0);
      const onMsg = (m: WorkerOut) => { if (m.type === 'done' && m.id === id) finish({ kind: 'done', results: m.results }); };
      const onError = (e: Error & { code?: string }) => finish({ kind: 'failed', index: current(),
        error: e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `rule exceeded the memory cap of ${this.o.memoryMb} MB` : `rule crashed the worker: ${e.message}` });
      const onExit = (code: number) => finish({ kind: 'failed', index: current(), error: `rule ended the worker (exit code ${code})` });
      const watchdog = setInterval(() => {
        const seq = Atomics.load(slot.progress, 1);
        const now = Date.now();
        if (seq !== lastSeq) { lastSeq = seq; lastChange = now; return; }
        if (now - lastChange > budget) finish({ kind: 'failed', index: current(), error: `rule exceeded the time budget of ${budget} ms` });
      }, Math.max(2, Math.min(25, budget / 10)));
      slot.worker.on('message', onMsg);
      slot.worker.on('error', onError);
      slot.worker.on('exit', onExit);
      slot.worker.postMessage({ id, samples: batch });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
    this.slots.fill(undefined);
  }
}
