// dist/reward-eval-worker.js: one evaluator *process* of the rule engine (see docs/reward-isolation.md).
//
//  main thread (the watchdog): talks to the engine over the IPC channel, never runs rule code, and so
//    can always act: it ends the rule thread when a sample (or a module's top level) exceeds the time
//    budget or when the process's resident memory exceeds the cap, records the error on exactly that
//    sample, restarts the thread and goes on with the rest of the batch.
//  rule thread (worker_threads): runs the rules inside a vm context built from the sandbox bundle;
//    it announces every sample it starts in shared memory that no rule can reach.
//
// The engine starts this process with Node's permission model where the runtime has it (no file
// system beyond this script, no child processes), an empty environment, in its own process group.
import * as vm from 'node:vm';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { CompiledRule, RuleSet, Sample } from './rules';
import type { Outcome, Sandbox } from './sandbox';

/** The sandbox bundle's source, inlined by esbuild.mjs. */
declare const RLHF_SANDBOX_SOURCE: string;

export type SampleOutcome = { reward: number; breakdown: Record<string, number> } | { error: string };
export interface HostInit { type: 'init'; rules: RuleSet; timeBudgetMs: number; memoryMb: number }
// batches travel as JSON text: one string is copied across the process and thread boundaries far
// faster than thousands of small objects are structured-cloned twice
export type HostIn = HostInit | { type: 'batch'; id: number; samples: string };
export type HostOut = { type: 'ready' } | { type: 'fatal'; message: string } | { type: 'done'; id: number; results: string } | { type: 'log'; text: string };
/** Exit code of a process that had to end itself because its rule thread would not stop growing. */
export const EXIT_MEMORY = 86;
/** Exit code of an idle process that stayed over its memory cap after a batch: the engine starts a fresh one. */
export const EXIT_RESTART = 87;

const MAX_TEXT = 4000; // the sandbox already caps at 2000; this is the host's own guard
const cap = (s: string): string => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}… (${s.length} characters)` : s);

// ---- rule thread ------------------------------------------------------------------------------

interface ThreadData { rules: CompiledRule[]; shared: SharedArrayBuffer }
type ThreadOut = { type: 'ready' } | { type: 'load-error'; index: number; message: string } | { type: 'done'; id: number; results: string; logs: string };

/** Copies an outcome made in the context into plain host values (numbers and capped strings only). */
function copyOutcome(o: Outcome): SampleOutcome {
  if ('error' in o) return { error: cap(String(o.error)) };
  const breakdown: Record<string, number> = {};
  for (const k of Object.keys(o.breakdown)) { const v = o.breakdown[k]; if (typeof v === 'number') breakdown[k] = v; }
  return { reward: Number(o.reward), breakdown };
}
const json = (v: unknown): string | undefined => (v === undefined ? undefined : JSON.stringify(v));

/** How long a new rule thread may take to start (before any rule's top level runs): generous, the machine may be busy. */
const THREAD_START_MS = 60_000;

function ruleThread(data: ThreadData): void {
  const progress = new Int32Array(data.shared);
  const announce = (index: number) => { Atomics.store(progress, 0, index); Atomics.add(progress, 1, 1); };
  // no wasm, and promise jobs a rule queues run when we drain them, still inside its batch
  const context = vm.createContext({}, { codeGeneration: { strings: true, wasm: false }, microtaskMode: 'afterEvaluate' });
  const sandbox = vm.runInContext(`(function () { 'use strict'; ${RLHF_SANDBOX_SOURCE}\nreturn RLHFSandbox.createSandbox(); })()`, context) as Sandbox;
  const { load, evaluate, takeLogs } = sandbox;
  const drain = new vm.Script('undefined');
  for (let i = 0; i < data.rules.length; i++) {
    announce(i);
    const message = load(JSON.stringify(data.rules[i]));
    drain.runInContext(context);
    if (message) { parentPort!.postMessage({ type: 'load-error', index: i, message: cap(message) } satisfies ThreadOut); return; }
  }
  announce(-1);
  parentPort!.postMessage({ type: 'ready' } satisfies ThreadOut);
  parentPort!.on('message', (msg: { id: number; samples: string }) => {
    const samples = JSON.parse(msg.samples) as Sample[];
    const results = new Array<SampleOutcome>(samples.length);
    for (let i = 0; i < samples.length; i++) {
      announce(i);
      const s = samples[i];
      results[i] = copyOutcome(evaluate(String(s.prompt), String(s.response), json(s.label), json(s.metadata)));
      if (i === samples.length - 1) drain.runInContext(context); // the last sample owns what is still queued
    }
    announce(-1);
    parentPort!.postMessage({ type: 'done', id: msg.id, results: JSON.stringify(results), logs: cap(takeLogs()) } satisfies ThreadOut);
  });
}

// ---- main thread: the watchdog ----------------------------------------------------------------

interface Thread { worker: Worker; progress: Int32Array; ready: Promise<void> }
/** A rule thread's results, or the error that ended it on sample `index`. */
type Run = { kind: 'done'; results: SampleOutcome[] } | { kind: 'failed'; index: number; error: string };

function ruleLabel(r: CompiledRule): string { return r.kind === 'module' ? `rule module ${r.path}` : `rule ${r.name}`; }

class Host {
  private thread: Promise<Thread> | undefined;
  /** The last ended thread, until its memory is given back (a new one must not be charged for it). */
  private ending: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  /** Resident memory allowed: measured once the rules have loaded, plus the cap; before that a thread's own runtime is allowed for. */
  private rssCap: number;
  private capMeasured = false;
  constructor(private readonly init: HostInit, private readonly send: (m: HostOut) => void) {
    this.rssCap = process.memoryUsage.rss() + (init.memoryMb + 64) * 2 ** 20;
  }

  get memoryMb(): number { return this.init.memoryMb; }

  private get memoryError(): string { return `rule exceeded the memory cap of ${this.init.memoryMb} MB (heap and buffers)`; }

  private async spawn(): Promise<Thread> {
    await this.ending;
    const shared = new SharedArrayBuffer(8);
    const worker = new Worker(__filename, {
      workerData: { rules: this.init.rules.rules, shared } satisfies ThreadData,
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: this.init.memoryMb, maxYoungGenerationSizeMb: Math.min(64, this.init.memoryMb / 4), stackSizeMb: 4 },
    });
    worker.on('error', () => undefined); // an error after its batch was settled (e.g. out of memory while ending) is not a crash
    const progress = new Int32Array(shared);
    const ready = this.watch<void>(worker, progress, (m, done) => {
      if (m.type === 'ready') done(undefined);
      else if (m.type === 'load-error') done(new Error(`${ruleLabel(this.init.rules.rules[m.index])} failed to load: ${m.message}`));
    }, (index, error) => new Error(`${ruleLabel(this.init.rules.rules[Math.max(0, index)])} failed to load: ${error.replace(/^rule /, 'its top level ')}`), THREAD_START_MS);
    ready.then(() => {
      if (!this.capMeasured) { this.capMeasured = true; this.rssCap = process.memoryUsage.rss() + this.init.memoryMb * 2 ** 20; }
    }, () => undefined);
    return { worker, progress, ready };
  }

  private async current(): Promise<Thread> {
    this.thread ??= this.spawn();
    const t = await this.thread;
    await t.ready;
    return t;
  }

  private kill(): void {
    const t = this.thread;
    this.thread = undefined;
    if (t) this.ending = t.then((th) => th.worker.terminate()).catch(() => undefined);
  }

  /**
   * Waits for the thread's answer while watching time (per announced sample) and memory; `failed`
   * turns a timeout, memory overrun, crash or exit into the value the caller wants.
   */
  private watch<T>(worker: Worker, progress: Int32Array, onMessage: (m: ThreadOut, done: (v: T | Error) => void) => void,
    failed: (index: number, error: string) => T | Error, startupMs?: number): Promise<T> {
    const budget = this.init.timeBudgetMs;
    return new Promise<T>((resolve, reject) => {
      let lastSeq = Atomics.load(progress, 1);
      let lastChange = Date.now();
      // a new thread's own start (Node's worker, the sandbox) is not a rule's time: the budget runs from its first announcement
      let started = startupMs === undefined;
      const finish = (v: T | Error) => {
        clearInterval(tick);
        worker.off('message', onMsg);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (v instanceof Error) reject(v); else resolve(v);
      };
      const current = () => Atomics.load(progress, 0);
      const fail = (error: string) => finish(failed(current(), error));
      const onMsg = (m: ThreadOut) => onMessage(m, finish);
      const onError = (e: Error & { code?: string }) => fail(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? this.memoryError : `rule crashed its worker: ${cap(String(e.message))}`);
      const onExit = (code: number) => fail(`rule ended its worker (exit code ${code})`);
      const tick = setInterval(() => {
        const now = Date.now();
        if (process.memoryUsage.rss() > this.rssCap) {
          // a rule that keeps growing inside one native call cannot be stopped by terminate():
          // then the whole process ends; the engine redoes its batch one sample at a time to find it
          const stuck = setTimeout(() => process.exit(EXIT_MEMORY), 1000);
          worker.once('exit', () => clearTimeout(stuck));
          void worker.terminate();
          return fail(this.memoryError);
        }
        const seq = Atomics.load(progress, 1);
        if (seq !== lastSeq) { lastSeq = seq; lastChange = now; started = true; return; }
        if (!started) { if (now - lastChange > startupMs!) fail(`the rule thread did not start within ${startupMs} ms (an overloaded machine?)`); return; }
        if (now - lastChange > budget) fail(`rule exceeded the time budget of ${budget} ms`);
      }, Math.max(2, Math.min(10, budget / 10)));
      worker.on('message', onMsg);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Starts the rule thread and loads the rules: the load error, within the time budget, or ''. */
  async start(): Promise<string> {
    try { await this.current(); return ''; } catch (e) { this.kill(); return (e as Error).message; }
  }

  private runBatch(t: Thread, samples: Sample[]): Promise<Run> {
    const text = JSON.stringify(samples);
    const id = ++this.nextId;
    const run = this.watch<Run>(t.worker, t.progress, (m, done) => {
      if (m.type !== 'done' || m.id !== id) return;
      if (m.logs) this.send({ type: 'log', text: m.logs });
      done({ kind: 'done', results: JSON.parse(m.results) as SampleOutcome[] });
    }, (index, error) => ({ kind: 'failed', index, error }));
    t.worker.postMessage({ id, samples: text });
    return run;
  }

  /**
   * Scores a batch; a sample that fails the thread gets the error and the thread restarts. The samples
   * not scored then are handed back (null) for the engine to queue again behind other callers' work, so
   * a batch full of hanging samples holds this process for one time budget at a time.
   */
  async evaluate(samples: Sample[]): Promise<(SampleOutcome | null)[]> {
    let t: Thread;
    try { t = await this.current(); } catch (e) {
      // rules that loaded before no longer load (the machine ran short): the batch gets the reason
      this.kill();
      return samples.map(() => ({ error: (e as Error).message }));
    }
    const r = await this.runBatch(t, samples);
    if (r.kind === 'done') return r.results;
    // the results before the failed sample died with the thread; rules are deterministic, so redoing them is exact
    const out = new Array<SampleOutcome | null>(samples.length).fill(null);
    out[Math.max(0, r.index)] = { error: r.error };
    this.kill();
    return out;
  }

  /** MB held above the start when, with the rule thread gone, that is over half the cap (the host's own copies), else 0. */
  async overCap(): Promise<number> {
    await this.ending;
    const held = process.memoryUsage.rss() - (this.rssCap - this.init.memoryMb * 2 ** 20);
    return held > this.init.memoryMb * 2 ** 19 ? Math.round(held / 2 ** 20) : 0;
  }
}

function hostMain(): void {
  const send = (m: HostOut) => { if (process.connected) process.send!(m); };
  // never outlive the engine: its IPC channel closes when it exits, even on SIGKILL
  process.on('disconnect', () => process.exit(0));
  let host: Host | undefined;
  let queue = Promise.resolve();
  process.on('message', (m: HostIn) => {
    if (m.type === 'init') {
      host = new Host(m, send);
      queue = queue.then(async () => {
        const error = await host!.start();
        send(error ? { type: 'fatal', message: error } : { type: 'ready' });
      });
    } else if (m.type === 'batch' && host) {
      const h = host;
      queue = queue.then(async () => {
        let results: (SampleOutcome | null)[];
        const samples = JSON.parse(m.samples) as Sample[];
        try { results = await h.evaluate(samples); } catch (e) { results = samples.map(() => ({ error: cap(String(e)) })); }
        const sent = new Promise<unknown>((r) => { if (process.connected) process.send!({ type: 'done', id: m.id, results: JSON.stringify(results) } satisfies HostOut, r); else r(null); });
        await restartIfOver(h, m.samples.length, sent);
      });
    }
  });
}

/**
 * Ends this process (EXIT_RESTART) when, with the batch answered and the rule thread gone, it still holds
 * more than half its memory cap above what it needed at start: garbage V8 keeps or pages the allocator
 * keeps after a huge batch, which would otherwise push every later sample over the cap (the memory error
 * on samples that did nothing wrong). The engine starts a fresh process; the cause goes to stderr.
 */
async function restartIfOver(h: Host, chars: number, sent: Promise<unknown>): Promise<void> {
  const held = await h.overCap();
  if (!held) return;
  process.stderr.write(`rule evaluator ${process.pid}: still holds ${held} MB more than at start after a batch (${chars} characters `
    + `of samples), over half its memory cap of ${h.memoryMb} MB; restarting it\n`);
  await sent; // the answer leaves before the process does
  process.exit(EXIT_RESTART);
}

if (isMainThread) hostMain();
else ruleThread(workerData as ThreadData);
