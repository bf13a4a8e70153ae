// The rule engine: evaluates batches in evaluator processes (dist/reward-eval-worker.js) with a
// per-sample time budget and a memory cap on each process's resident memory. A rule that throws,
// hangs, runs out of memory or returns a non-number gives that sample a recorded error and the
// fallback reward; the other samples are scored. Concurrent evaluate() calls never share a batch:
// each process runs one batch at a time. What is isolated and what is not: docs/reward-isolation.md.
// onnx_model rules (a reward model on onnxruntime-node) cannot run in the sandbox (a native addon,
// files to read): the engine scores them itself, batched, in its own process, at the same time as the
// evaluators run the other rules, and adds them to each sample's weighted sum and breakdown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseNode, type NodeCommand } from '../trainerEnv';
import { EXIT_MEMORY, type HostIn, type HostOut, type SampleOutcome } from './evalWorker';
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
type BatchRun = { kind: 'done'; results: SampleOutcome[] } | { kind: 'died'; error: string };

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
  /** One batch at a time per process: the chain of batches waiting for slot i. */
  private queues: Promise<unknown>[];
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
    this.queues = this.slots.map(() => Promise.resolve());
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
        code === EXIT_MEMORY ? `rule exceeded the memory cap of ${this.o.memoryMb} MB (heap and buffers)`
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

  private async evaluateSandboxed(samples: Sample[]): Promise<SampleResult[]> {
    const out = new Array<SampleResult>(samples.length);
    const per = Math.ceil(samples.length / this.o.workers);
    await Promise.all(this.slots.map((_, i) => {
      const [a, b] = [i * per, Math.min(samples.length, (i + 1) * per)];
      return a < b ? this.exclusive(i, () => this.runRange(i, samples.slice(a, b), a, out)) : Promise.resolve();
    }));
    return out;
  }

  /** Runs `job` when slot i has finished the batches queued before it. */
  private exclusive<T>(i: number, job: () => Promise<T>): Promise<T> {
    const run = this.queues[i].then(job, job);
    this.queues[i] = run.catch(() => undefined);
    return run;
  }

  private async slot(i: number): Promise<Slot> {
    const slot = this.slots[i] ?? this.spawn(i);
    try { await slot.ready; } catch (e) { this.kill(i); throw e; } // a rule set that cannot load rejects here, with its message
    return slot;
  }

  private async runRange(i: number, samples: Sample[], offset: number, out: SampleResult[]): Promise<void> {
    const r = await this.runBatch(await this.slot(i), samples);
    if (r.kind === 'done') { r.results.forEach((res, k) => { out[offset + k] = this.toResult(res); }); return; }
    // the process itself ended (a rule beyond what its watchdog can stop): redo the batch one sample at a
    // time so that only the sample that does it is charged (rules are deterministic)
    this.kill(i);
    for (let k = 0; k < samples.length; k++) {
      const one = samples.length === 1 ? r : await this.runBatch(await this.slot(i), [samples[k]]);
      if (one.kind === 'done') out[offset + k] = this.toResult(one.results[0]);
      else { out[offset + k] = { reward: this.o.fallback, breakdown: {}, error: one.error }; this.kill(i); }
    }
  }

  private toResult(res: SampleOutcome): SampleResult {
    return 'error' in res ? { reward: this.o.fallback, breakdown: {}, error: res.error } : { reward: res.reward, breakdown: res.breakdown };
  }

  private runBatch(slot: Slot, samples: Sample[]): Promise<BatchRun> {
    const id = ++this.nextId;
    return this.request<BatchRun>(slot.proc, { type: 'batch', id, samples: JSON.stringify(samples) },
      (m, done) => { if (m.type === 'done' && m.id === id) done({ kind: 'done', results: JSON.parse(m.results) as SampleOutcome[] }); },
      (error) => (this.closed ? new Error('the reward engine was closed') : { kind: 'died', error }));
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
