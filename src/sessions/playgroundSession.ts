// The playground's host side without vscode ("RLHF: Try Checkpoint"; src/extension/playground.ts is
// the webview shell): it answers the page's validated messages, loads each column's ONNX export once
// (exporting it first through `prepare` when it has none), streams every token to the page as
// generate() chooses it, and scores each finished answer with the run's reward rules. The models
// load and generate in a worker thread (src/core/onnx/worker.ts), so the extension host's event loop is never
// held by onnxruntime; Stop (or a new Generate) aborts between two tokens.
import * as path from 'node:path';
import { readGuarded } from '../core/run/files';
import { type PromptRow, promptSettings, readPromptRows } from '../core/prompts';
import {
  COLUMNS, decodeRate, isPlaygroundToHost, type GenerateSettings, type HostToPlayground, type PlaygroundToHost,
} from '../../webview/playground/protocol';
import { Worker } from 'node:worker_threads';
import { onnxGraphPath, OnnxModelError, type LoadOptions } from '../core/onnx/model';
import { DEFAULT_SETTINGS, type PlaygroundChoice } from '../core/onnx/sampling';
import type { WorkerIn, WorkerOut } from '../core/onnx/worker';
import { readRunConfig } from '../core/run/config';

export { DEFAULT_SETTINGS, type PlaygroundChoice };

/**
 * The reward engine as the playground scores with it: rewards/engine's RewardEngine fits it. Written out
 * here because rewards/ imports onnx/ (ONNX reward models), and onnx/ importing rewards/ back made the
 * two folders a cycle (the dependency rules of npm run lint).
 */
export interface PlaygroundScorer {
  readonly fallback: number;
  evaluate(samples: { prompt: string; response: string; label?: unknown }[]): Promise<{ reward: number; breakdown: Record<string, number>; error?: string }[]>;
}

export interface PlaygroundOptions {
  title: string;
  /** The prompt box's first text (a dataset prompt). */
  prompt: string;
  choices: PlaygroundChoice[];
  /** Choice ids of the columns at start (null: the column is empty). */
  selected: (string | null)[];
  settings?: Partial<GenerateSettings>;
  /** Where `settings` came from, shown beside them (playgroundRun.ts playgroundSettings: the run's rollout, or the defaults). */
  settingsSource?: string;
  /** The run's reward rules (scored per answer) and how to describe them; absent: no reward column. */
  rewards?: { engine: PlaygroundScorer; describe: string };
  /** The dataset label of a prompt, for rules that compare with it (answer_match). */
  labelOf?: (prompt: string) => unknown;
  /** Creates `choice.dir`'s export (the trainer's exporter); called when it has no onnx/model.onnx. */
  prepare?: (choice: PlaygroundChoice, status: (message: string) => void, signal: AbortSignal) => Promise<void>;
  device?: LoadOptions['device'];
  /** dist/onnx-worker.js (the generation thread); defaults to the file next to the running bundle. */
  workerScript?: string;
  /** Written to for failures the page also shows (the extension's log). */
  log?: (message: string) => void;
}

export class PlaygroundSession {
  /** Each choice's model, loaded in the generation thread (resolves to the device it runs on). */
  private readonly models = new Map<string, Promise<'cpu' | 'cuda'>>();
  /** The columns waiting for each choice's export and load: its status lines go to every one of them. */
  private readonly waiting = new Map<string, Set<number>>();
  private readonly lastStatus = new Map<string, string>();
  private worker?: Worker;
  private nextReq = 0;
  private readonly loadWaiters = new Map<string, { resolve: (d: 'cpu' | 'cuda') => void; reject: (e: Error) => void }>();
  private readonly requests = new Map<number, { onToken: (index: number, text: string) => void; resolve: (m: Extract<WorkerOut, { type: 'done' }>) => void; reject: (e: Error) => void }>();
  private current?: AbortController;
  private disposed = false;
  /** The generation in flight (tests and the host wait on it). */
  running: Promise<void> = Promise.resolve();

  constructor(private readonly o: PlaygroundOptions, private readonly post: (m: HostToPlayground) => void) {}

  /** A message from the page; anything that does not validate is ignored (the page is not trusted to be well-formed). */
  handle(m: unknown): void {
    if (!isPlaygroundToHost(m) || this.disposed) return;
    this.dispatch(m);
  }

  private dispatch(m: PlaygroundToHost): void {
    switch (m.type) {
      case 'ready': this.sendInit(); return;
      case 'stop': this.current?.abort(); return;
      case 'generate': this.running = this.generate(m.prompt, m.models, m.settings); return;
    }
  }

  private sendInit(): void {
    const { title, prompt, choices, selected, rewards, settingsSource } = this.o;
    this.post({ type: 'init', title, prompt, choices: choices.map(({ id, label, detail }) => ({ id, label, detail })),
      selected: Array.from({ length: COLUMNS }, (_, i) => selected[i] ?? null), settings: { ...DEFAULT_SETTINGS, ...this.o.settings },
      ...(settingsSource ? { settingsSource } : {}), rewards: rewards?.describe ?? null });
  }

  /** Runs every selected column on the prompt at the same time; a previous generation is stopped first. */
  private async generate(prompt: string, models: (string | null)[], settings: GenerateSettings): Promise<void> {
    this.current?.abort();
    await this.running.catch(() => undefined);
    const ctl = new AbortController();
    this.current = ctl;
    // every column is waiting before either starts its model: both get the first status line of a shared export
    models.forEach((id, column) => { if (id !== null) this.wait(id, column); });
    await Promise.all(models.map((id, column) => (id === null ? Promise.resolve() : this.runColumn(column, id, prompt, settings, ctl.signal))));
  }

  private async runColumn(column: number, id: string, prompt: string, settings: GenerateSettings, signal: AbortSignal): Promise<void> {
    const choice = this.o.choices.find((c) => c.id === id);
    if (!choice) { this.post({ type: 'error', column, message: `unknown model ${id}` }); return; }
    try {
      await this.model(choice, signal);
    } catch (e) {
      this.fail(column, choice, e);
      return;
    } finally {
      this.waiting.get(choice.id)?.delete(column);
    }
    if (signal.aborted) { this.post({ type: 'error', column, message: 'stopped' }); return; }
    try {
      const { result: g, device } = await this.remoteGenerate(choice.id, prompt, settings, signal,
        (index, text) => this.post({ type: 'token', column, index, text }));
      this.post({ type: 'done', column, text: g.text,
        stats: { tokens: g.tokens.length, stoppedBy: g.stoppedBy, firstTokenMs: g.firstTokenMs, totalMs: g.totalMs,
          tokensPerSecond: decodeRate(g.tokens.length, g.firstTokenMs, g.totalMs), device } });
      await this.score(column, prompt, g.text);
    } catch (e) {
      this.fail(column, choice, e);
    }
  }

  /** The generation thread: onnxruntime's synchronous runs hold it, not the extension host's event loop. */
  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.o.workerScript ?? path.join(__dirname, 'onnx-worker.js'));
    w.on('message', (m: WorkerOut) => this.fromWorker(m));
    w.on('error', (e) => this.threadEnded(`the generation thread failed: ${e.message}`));
    w.on('exit', (code) => this.threadEnded(`the generation thread exited (code ${code})`));
    this.worker = w;
    return w;
  }

  private fromWorker(m: WorkerOut): void {
    switch (m.type) {
      case 'loaded': this.loadWaiters.get(m.id)?.resolve(m.device); this.loadWaiters.delete(m.id); return;
      case 'load-error': this.loadWaiters.get(m.id)?.reject(new OnnxModelError(m.message)); this.loadWaiters.delete(m.id); return;
      case 'token': this.requests.get(m.req)?.onToken(m.index, m.text); return;
      case 'done': this.requests.get(m.req)?.resolve(m); this.requests.delete(m.req); return;
      case 'error': this.requests.get(m.req)?.reject(new Error(m.message)); this.requests.delete(m.req); return;
      case 'released': return;
    }
  }

  /** Everything waiting on a thread that is gone fails with why; the next Generate starts a new one. */
  private threadEnded(why: string): void {
    this.worker = undefined;
    this.models.clear();
    for (const w of this.loadWaiters.values()) w.reject(new Error(why));
    for (const r of this.requests.values()) r.reject(new Error(why));
    this.loadWaiters.clear();
    this.requests.clear();
  }

  private remoteGenerate(id: string, prompt: string, s: GenerateSettings, signal: AbortSignal, onToken: (index: number, text: string) => void) {
    const req = ++this.nextReq;
    const w = this.thread();
    return new Promise<Extract<WorkerOut, { type: 'done' }>>((resolve, reject) => {
      this.requests.set(req, { onToken, resolve, reject });
      const abort = () => w.postMessage({ type: 'abort', req } satisfies WorkerIn);
      signal.addEventListener('abort', abort, { once: true });
      w.postMessage({ type: 'generate', req, id, prompt, maxNewTokens: s.maxNewTokens, greedy: s.greedy || s.temperature === 0,
        temperature: s.temperature, topP: s.topP, topK: s.topK ?? 0, seed: Math.floor(Math.random() * 2 ** 31) } satisfies WorkerIn);
    });
  }

  /** `column` waits for model `id`; it is shown the model's latest status line while its export or load is under way. */
  private wait(id: string, column: number): void {
    const waiting = this.waiting.get(id) ?? new Set<number>();
    this.waiting.set(id, waiting.add(column));
    const last = this.lastStatus.get(id);
    if (last !== undefined) this.post({ type: 'status', column, message: last });
  }

  /** A status line to every column waiting for `choice` (both columns may run the same model). */
  private status(choice: PlaygroundChoice, message: string): void {
    this.lastStatus.set(choice.id, message);
    for (const column of this.waiting.get(choice.id) ?? []) this.post({ type: 'status', column, message });
  }

  /**
   * A choice's export loaded in the thread, exported first when the folder has none (shared by both columns).
   * The exporter's progress lines reach the columns as `exporting MODEL to ONNX: LINE`: the first Generate
   * waits on the export (15-20 s), and the column is where the user is looking.
   */
  private model(choice: PlaygroundChoice, signal: AbortSignal): Promise<'cpu' | 'cuda'> {
    let p = this.models.get(choice.id);
    if (!p) {
      p = (async () => {
        if (!onnxGraphPath(choice.dir, choice.quantized)) {
          if (!this.o.prepare) throw new OnnxModelError(`${choice.dir}: no ONNX export (onnx/${choice.quantized ? 'model_quantized' : 'model'}.onnx)`);
          const name = exportName(choice);
          this.status(choice, `exporting ${name} to ONNX: starting the exporter (Python, torch)…`);
          await this.o.prepare(choice, (line) => this.status(choice, `exporting ${name} to ONNX: ${line}`), signal);
        }
        this.status(choice, `loading ${exportName(choice)}…`);
        const w = this.thread();
        return new Promise<'cpu' | 'cuda'>((resolve, reject) => {
          this.loadWaiters.set(choice.id, { resolve, reject });
          w.postMessage({ type: 'load', id: choice.id, dir: choice.dir, quantized: choice.quantized, device: this.o.device ?? 'auto' } satisfies WorkerIn);
        });
      })();
      this.models.set(choice.id, p);
      p.catch(() => this.models.delete(choice.id)); // a failed export or load is tried again on the next Generate
      p.then(() => this.lastStatus.delete(choice.id), () => this.lastStatus.delete(choice.id)); // replayed only while under way
    }
    return p;
  }

  private async score(column: number, prompt: string, response: string): Promise<void> {
    const engine = this.o.rewards?.engine;
    if (!engine) return;
    try {
      const [r] = await engine.evaluate([{ prompt, response, label: this.o.labelOf?.(prompt) }]);
      this.post({ type: 'reward', column, reward: r.reward, breakdown: r.breakdown, ...(r.error ? { error: r.error } : {}) });
    } catch (e) {
      this.post({ type: 'reward', column, reward: engine.fallback, breakdown: {}, error: firstLine(e) });
    }
  }

  private fail(column: number, choice: PlaygroundChoice, e: unknown): void {
    const message = firstLine(e);
    this.o.log?.(`playground ${choice.label}: ${message}`);
    this.post({ type: 'error', column, message });
  }

  /** Stops generation, releases the models' sessions and ends the thread. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.current?.abort();
    await this.running.catch(() => undefined);
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      w.on('message', (m: WorkerOut) => { if (m.type === 'released') { clearTimeout(t); resolve(); } });
      w.postMessage({ type: 'release' } satisfies WorkerIn);
    });
    await w.terminate();
  }
}

/** A choice's label without the "(exports first)" the model list adds. */
export const exportName = (c: Pick<PlaygroundChoice, 'label'>) => c.label.replace(/ \(exports first\)$/, '');

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

export interface DatasetPrompt { prompt: string; label?: unknown }

/**
 * The prompts of a run's dataset (its config.yaml data.prompts, prompt_key, label_key; the trainer
 * writes the config with absolute paths), at most `limit`; empty when the run has none readable.
 */
export function runDatasetPrompts(runDir: string, limit = 1000): DatasetPrompt[] {
  let data: { prompts?: unknown } | undefined;
  // through the run folder's guard: a config.yaml, or a dataset it names, that is a FIFO or a link to a device is never read
  try { data = readRunConfig(runDir)?.data; } catch { return []; }
  if (!data || typeof data.prompts !== 'string') return [];
  const file = path.resolve(runDir, data.prompts);
  let text: string;
  try { text = readGuarded(file, 'dataset') ?? ''; } catch { return []; }
  const d = promptSettings(data);
  let rows: PromptRow[];
  // the trainer's reader: a file it refuses (it names the line when the run starts) gives no prompts here
  try { rows = readPromptRows(text, file, d, limit); } catch { return []; }
  return rows.map((r) => ({ prompt: typeof r.prompt === 'string' ? r.prompt : chatText(r.prompt), label: r.label ?? undefined }));
}

/** Chat messages as one prompt for a model without a chat template: the contents, one per line. */
function chatText(messages: { content: unknown }[]): string {
  return messages.map((m) => String(m.content)).join('\n');
}
