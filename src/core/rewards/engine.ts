// The rule engine: evaluates batches in evaluator processes (dist/reward-eval-worker.js) with a
// per-sample time budget and a memory cap on each process's resident memory. A rule that throws,
// hangs, runs out of memory or returns a non-number gives that sample a recorded error and the
// fallback reward; the other samples are scored. Concurrent evaluate() calls never share a batch:
// each process runs one chunk of one call at a time, and the processes take chunks from the waiting
// calls in turn (round robin), so a call's good samples never wait behind another call's hanging ones
// (an evaluator hands back the rest of its chunk after each failed sample). An evaluator that stays
// over its memory cap after a batch (the copies of a huge sample) says so on stderr and is restarted.
// What is isolated and what is not: docs/reward-isolation.md.
// onnx_model rules (a reward model on onnxruntime-node) cannot run in the sandbox (a native addon,
// files to read): the engine scores them itself, batched, in its own process, at the same time as the
// evaluators run the other rules, and adds them to each sample's weighted sum and breakdown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseNode, type NodeCommand } from '../trainerEnv';
import { EXIT_MEMORY, EXIT_RESTART, type HostIn, type HostOut, type SampleOutcome } from './evalWorker';
import { RuleError, type CompiledRule, type RuleSet, type Sample } from './rules';
import { loadOnnxRewardModel, scoreSamples, type OnnxRewardModel } from '../onnx/rewardModel';

type OnnxRule = Extract<CompiledRule, { kind: 'onnx_model' }>;
const isOnnxRule = (r: CompiledRule): r is OnnxRule => r.kind === 'onnx_model';

export interface EngineOptions {
  workers?: number;
  /** Time one sample may take, all rules together; also the time a module's top level may take. */
  timeBudgetMs?: number;
  /** Memory cap of each evaluator process (rule heap and buffers), in MB. */
  memoryMb?: number;
  fallback?: number;
  /** dist/reward-eval-worker.js; defaults to the file next to the running bundle. */
  workerScript?: string;
  /** The Node that runs the evaluator processes; defaults to the runtime we run on. */
  node?: NodeCommand;
}

export interface SampleResult { reward: number; breakdown: Record<string, number>; error?: string }

interface Slot { proc: ChildProcess; ready: Promise<void> }
/** A chunk's outcomes (null: not run, handed back after a failed sample), or why its process ended. */
type BatchRun = { kind: 'done'; results: (SampleOutcome | null)[] } | { kind: 'died'; error: string } | { kind: 'restart' };
/** One evaluate() call: its samples, the ranges still to run, the chunks running. */
interface Job { samples: Sample[]; out: SampleResult[]; pending: [number, number][]; chunk: number; running: number; failed: boolean;
  resolve: (out: SampleResult[]) => void; reject: (e: unknown) => void }

const permissionFlags = new Map<string, string[]>();
/**
 * Node's permission model for the evaluator: `--permission` (Node 22+) or `--experimental-permission`
 * (Node 20), whichever this runtime accepts, with the two opt-ins the evaluator needs: reading its own
 * script and starting its rule thread. Nothing else: no file system, no child processes, no addons.
 */
export function permissionArgs(node: NodeCommand, script: string): string[] {
  const key = `${node.path}\u0000${script}`;
  let args = permissionFlags.get(key);
  if (!args) {
    const allow = [`--allow-fs-read=${script}`, '--allow-worker'];
    const accepted = ['--permission', '--experimental-permission'].find((flag) =>
      spawnSync(node.path, [flag, ...allow, '-e', '0'], { env: { ...node.env }, stdio: 'ignore', timeout: 10_000 }).status === 0);
    args = accepted ? [accepted, ...allow] : [];
    permissionFlags.set(key, args);
  }
  return args;
}

export class RewardEngine {
  private slots: (Slot | undefined)[];
  /** Whether slot i is running chunks (one at a time); the waiting calls, taken from in turn. */
  private busy: boolean[];
  private jobs: Job[] = [];
  private turn = 0;
  private readonly o: Required<EngineOptions>;
  private nextId = 0;
  private closed = false;
  /** The rules the evaluator processes run (all but onnx_model). */
  private readonly rules: RuleSet;
  private readonly onnxRules: OnnxRule[];
  private onnxModels?: Promise<OnnxRewardModel[]>;

  constructor(rules: RuleSet, opts: EngineOptions = {}) {
    this.rules = { rules: rules.rules.filter((r) => !isOnnxRule(r)) };
    this.onnxRules = rules.rules.filter(isOnnxRule);
    this.o = {
      workers: opts.workers ?? Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length)),
      timeBudgetMs: opts.timeBudgetMs ?? 1000,
      memoryMb: opts.memoryMb ?? 256,
      fallback: opts.fallback ?? 0,
      workerScript: opts.workerScript ?? path.join(__dirname, 'reward-eval-worker.js'),
      node: opts.node ?? chooseNode(),
    };
    this.slots = Array.from({ length: this.o.workers }, (): Slot | undefined => undefined);
    this.busy = this.slots.map(() => false);
  }

  get fallback(): number { return this.o.fallback; }

  private spawn(i: number): Slot {
    if (this.closed) throw new Error('the reward engine is closed');
    const script = this.o.workerScript;
    const proc = spawn(this.o.node.path, [...permissionArgs(this.o.node, script), '--no-warnings', script], {
      env: { ...this.o.node.env }, // rules see no environment variables (tokens, keys)
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      detached: true, // its own process group: close() ends it and anything it started
    });
    proc.unref();
    proc.channel?.unref();
    proc.stderr?.on('data', (d: Buffer) => process.stderr.write(d.subarray(0, 4096)));
    (proc.stderr as { unref?: () => void } | null)?.unref?.();
    proc.on('error', () => undefined); // reported through 'exit'
    proc.on('message', (m: HostOut) => { if (m.type === 'log') process.stderr.write(`${m.text}\n`); });
    const ready = this.request<void>(proc, { type: 'init', rules: this.rules, timeBudgetMs: this.o.timeBudgetMs, memoryMb: this.o.memoryMb },
      (m, done) => {
        if (m.type === 'ready') done(undefined);
        else if (m.type === 'fatal') done(new Error(m.message));
      }, (error) => new Error(`the rule evaluator could not start: ${error}`));
    ready.catch(() => undefined);
    const slot = { proc, ready };
    this.slots[i] = slot;
    return slot;
  }

  /** Sends one message and waits for its answer, or for the process to end (then `ended`). */
  private request<T>(proc: ChildProcess, msg: HostIn, onMessage: (m: HostOut, done: (v: T | Error) => void) => void, ended: (error: string) => T | Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (v: T | Error) => {
        proc.off('message', onMsg);
        proc.off('exit', onExit);
        proc.unref(); // an idle engine does not keep its host process alive
        proc.channel?.unref();
        if (v instanceof Error) reject(v); else resolve(v);
      };
      const onMsg = (m: HostOut) => onMessage(m, finish);
      const onExit = (code: number | null, signal: string | null) => finish(ended(
        code === EXIT_RESTART ? '' : code === EXIT_MEMORY ? `rule exceeded the memory cap of ${this.o.memoryMb} MB (heap and buffers)`
          : `rule ended the evaluator process (${signal ? `signal ${signal}` : `exit code ${code}`})`));
      proc.on('message', onMsg);
      proc.on('exit', onExit);
      if (proc.exitCode !== null || proc.signalCode !== null) { onExit(proc.exitCode, proc.signalCode); return; }
      proc.ref(); // while waiting, the answer or the exit must be delivered
      proc.channel?.ref();
      proc.send(msg, (e) => { if (e) onExit(proc.exitCode, proc.signalCode); });
    });
  }

  private kill(i: number): void {
    const s = this.slots[i];
    this.slots[i] = undefined;
    if (s && s.proc.exitCode === null && s.proc.signalCode === null) {
      try { process.kill(-s.proc.pid!, 'SIGKILL'); } catch { s.proc.kill('SIGKILL'); }
    }
  }

  /** Starts one evaluator and waits until the rule set has loaded in it (rejects with the load error). */
  async ready(): Promise<void> {
    if (this.onnxRules.length) {
      await this.loadOnnxModels();
      if (!this.rules.rules.length) return; // nothing for an evaluator process to run
    }
    const s = this.slots[0] ?? this.spawn(0);
    try { await s.ready; } catch (e) { this.kill(0); throw e; }
  }

  /** Scores the samples; never rejects because of a rule (only when the rule set itself cannot load). */
  async evaluate(samples: Sample[]): Promise<SampleResult[]> {
    if (!this.onnxRules.length) return this.evaluateSandboxed(samples);
    const [sandboxed, onnx] = await Promise.all([
      this.rules.rules.length ? this.evaluateSandboxed(samples) : samples.map((): SampleResult => ({ reward: 0, breakdown: {} })),
      this.scoreOnnx(samples),
    ]);
    return sandboxed.map((res, k) => {
      if (res.error) return res;
      if (typeof onnx === 'string') return { reward: this.o.fallback, breakdown: {}, error: onnx };
      const breakdown = { ...res.breakdown };
      let reward = res.reward;
      this.onnxRules.forEach((r, j) => { breakdown[r.name] = onnx[j][k]; reward += r.weight * onnx[j][k]; });
      return { reward, breakdown };
    });
  }

  /** The reward models, loaded once; rejects (like a rule set that cannot load) naming the rule. */
  private loadOnnxModels(): Promise<OnnxRewardModel[]> {
    this.onnxModels ??= Promise.all(this.onnxRules.map((r) => loadOnnxRewardModel(r.path).catch((e: unknown) => {
      throw new RuleError(`rule ${r.name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    })));
    return this.onnxModels;
  }

  /** Each onnx_model rule's scores ([rule][sample]), or the error that charges every sample of the batch. */
  private async scoreOnnx(samples: Sample[]): Promise<number[][] | string> {
    const models = await this.loadOnnxModels();
    try {
      return await Promise.all(models.map((m, j) => scoreSamples(m, samples, this.onnxRules[j].batch_size ?? 16)));
    } catch (e) {
      return `onnx_model rule failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    }
  }

  private evaluateSandboxed(samples: Sample[]): Promise<SampleResult[]> {
    const out = new Array<SampleResult>(samples.length);
    if (!samples.length) return Promise.resolve(out);
    return new Promise((resolve, reject) => {
      this.jobs.push({ samples, out, pending: [[0, samples.length]], chunk: Math.ceil(samples.length / this.o.workers), running: 0, failed: false, resolve, reject });
      this.busy.forEach((busy, i) => { if (!busy) void this.drain(i); });
    });
  }

  /** The next chunk to run: from the call after the one served last (round robin), at most its chunk size. */
  private take(): { job: Job; a: number; b: number } | undefined {
    const n = this.jobs.length;
    for (let k = 0; k < n; k++) {
      const at = (this.turn + k) % n;
      const job = this.jobs[at];
      const range = job.pending.shift();
      if (!range) continue;
      this.turn = at + 1;
      const b = Math.min(range[1], range[0] + job.chunk);
      if (b < range[1]) job.pending.unshift([b, range[1]]);
      job.running++;
      return { job, a: range[0], b };
    }
    return undefined;
  }

  /** Slot i runs chunks until no call has any left. */
  private async drain(i: number): Promise<void> {
    this.busy[i] = true;
    for (let w = this.take(); w; w = this.take()) {
      const { job } = w;
      try { await this.runRange(i, job, w.a, w.b); } catch (e) { // the rule set does not load (or the engine closed)
        if (!job.failed) { job.failed = true; job.reject(e); }
      }
      job.running--;
      if (job.failed || (!job.pending.length && !job.running)) {
        const at = this.jobs.indexOf(job);
        if (at >= 0) { this.jobs.splice(at, 1); if (this.turn > at) this.turn--; }
        if (!job.failed) job.resolve(job.out);
      }
    }
    this.busy[i] = false;
  }

  private async slot(i: number): Promise<Slot> {
    const slot = this.slots[i] ?? this.spawn(i);
    try { await slot.ready; } catch (e) { this.kill(i); throw e; } // a rule set that cannot load rejects here, with its message
    return slot;
  }

  /** Runs samples [a, b) of a call on slot i; what the evaluator hands back unrun goes back to the call's queue. */
  private async runRange(i: number, job: Job, a: number, b: number): Promise<void> {
    const samples = job.samples.slice(a, b);
    let r = await this.runBatch(await this.slot(i), samples);
    // an evaluator that restarted itself (over its memory cap between batches) did not run the chunk
    for (let tries = 0; r.kind === 'restart' && tries < 3; tries++) { this.kill(i); r = await this.runBatch(await this.slot(i), samples); }
    if (r.kind === 'done') {
      const back: [number, number][] = [];
      r.results.forEach((res, k) => {
        if (res) job.out[a + k] = this.toResult(res);
        else if (back.length && back[back.length - 1][1] === a + k) back[back.length - 1][1]++;
        else back.push([a + k, a + k + 1]);
      });
      job.pending.unshift(...back);
      return;
    }
    // the process itself ended (a rule beyond what its watchdog can stop): redo the batch one sample at a
    // time so that only the sample that does it is charged (rules are deterministic)
    this.kill(i);
    const error = r.kind === 'died' ? r.error : 'the rule evaluator kept restarting (over its memory cap)';
    for (let k = 0; k < samples.length; k++) {
      const one = samples.length === 1 ? r : await this.runBatch(await this.slot(i), [samples[k]]);
      if (one.kind === 'done' && one.results[0]) job.out[a + k] = this.toResult(one.results[0]);
      else { job.out[a + k] = { reward: this.o.fallback, breakdown: {}, error: one.kind === 'died' ? one.error : error }; this.kill(i); }
    }
  }

  private toResult(res: SampleOutcome): SampleResult {
    return 'error' in res ? { reward: this.o.fallback, breakdown: {}, error: res.error } : { reward: res.reward, breakdown: res.breakdown };
  }

  private runBatch(slot: Slot, samples: Sample[]): Promise<BatchRun> {
    const id = ++this.nextId;
    return this.request<BatchRun>(slot.proc, { type: 'batch', id, samples: JSON.stringify(samples) },
      (m, done) => { if (m.type === 'done' && m.id === id) done({ kind: 'done', results: JSON.parse(m.results) as (SampleOutcome | null)[] }); },
      (error) => (this.closed ? new Error('the reward engine was closed') : error ? { kind: 'died', error } : { kind: 'restart' }));
  }

  /** Ends the evaluator processes and anything they started (their process groups). */
  async close(): Promise<void> {
    this.closed = true;
    const models = this.onnxModels;
    this.onnxModels = undefined;
    if (models) await models.then((ms) => Promise.all(ms.map((m) => m.session.release())), () => undefined);
    const procs = this.slots.filter((s): s is Slot => !!s).map((s) => s.proc);
    this.slots.forEach((_, i) => this.kill(i));
    await Promise.all(procs.map((p) => {
      if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
      p.ref(); // the caller's exit code must wait for this
      return new Promise((r) => p.once('exit', r));
    }));
  }
}
