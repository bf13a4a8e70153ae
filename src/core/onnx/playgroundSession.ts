// The playground's host side without vscode ("RLHF: Try Checkpoint"; src/extension/playground.ts is
// the webview shell): it answers the page's validated messages, loads each column's ONNX export once
// (exporting it first through `prepare` when it has none), streams every token to the page as
// generate() chooses it, and scores each finished answer with the run's reward rules. Generation is
// a loop of awaited onnxruntime calls, so the extension host stays responsive; Stop (or a new
// Generate) aborts it between two tokens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import type { RewardEngine } from '../rewards/engine';
import {
  COLUMNS, isPlaygroundToHost, type GenerateSettings, type HostToPlayground, type ModelChoice, type PlaygroundToHost,
} from '../playgroundProtocol';
import { encodePrompt, generate } from './generate';
import { loadOnnxCausalLM, onnxGraphPath, OnnxModelError, type LoadOptions, type OnnxCausalLM } from './model';

/** A model a column can run; `dir` is (or will be, after `prepare`) an ONNX export folder. */
export interface PlaygroundChoice extends ModelChoice {
  dir: string;
  /** The checkpoint (or Hugging Face model folder) `prepare` exports into `dir`; default `dir` itself (in place). */
  source?: string;
  /** Run the int8 graph (onnx/model_quantized.onnx). */
  quantized?: boolean;
}

export interface PlaygroundOptions {
  title: string;
  /** The prompt box's first text (a dataset prompt). */
  prompt: string;
  choices: PlaygroundChoice[];
  /** Choice ids of the columns at start (null: the column is empty). */
  selected: (string | null)[];
  settings?: Partial<GenerateSettings>;
  /** The run's reward rules (scored per answer) and how to describe them; absent: no reward column. */
  rewards?: { engine: RewardEngine; describe: string };
  /** The dataset label of a prompt, for rules that compare with it (answer_match). */
  labelOf?: (prompt: string) => unknown;
  /** Creates `choice.dir`'s export (the trainer's exporter); called when it has no onnx/model.onnx. */
  prepare?: (choice: PlaygroundChoice, status: (message: string) => void, signal: AbortSignal) => Promise<void>;
  device?: LoadOptions['device'];
  /** Written to for failures the page also shows (the extension's log). */
  log?: (message: string) => void;
}

export const DEFAULT_SETTINGS: GenerateSettings = { temperature: 0.7, topP: 0.95, maxNewTokens: 64, greedy: false };

export class PlaygroundSession {
  private readonly models = new Map<string, Promise<OnnxCausalLM>>();
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
    const { title, prompt, choices, selected, rewards } = this.o;
    this.post({ type: 'init', title, prompt, choices: choices.map(({ id, label, detail }) => ({ id, label, detail })),
      selected: Array.from({ length: COLUMNS }, (_, i) => selected[i] ?? null), settings: { ...DEFAULT_SETTINGS, ...this.o.settings },
      rewards: rewards?.describe ?? null });
  }

  /** Runs every selected column on the prompt at the same time; a previous generation is stopped first. */
  private async generate(prompt: string, models: (string | null)[], settings: GenerateSettings): Promise<void> {
    this.current?.abort();
    await this.running.catch(() => undefined);
    const ctl = new AbortController();
    this.current = ctl;
    await Promise.all(models.map((id, column) => (id === null ? undefined : this.runColumn(column, id, prompt, settings, ctl.signal))));
  }

  private async runColumn(column: number, id: string, prompt: string, settings: GenerateSettings, signal: AbortSignal): Promise<void> {
    const choice = this.o.choices.find((c) => c.id === id);
    if (!choice) { this.post({ type: 'error', column, message: `unknown model ${id}` }); return; }
    let model: OnnxCausalLM;
    try {
      model = await this.model(choice, column, signal);
    } catch (e) {
      this.fail(column, choice, e);
      return;
    }
    if (signal.aborted) { this.post({ type: 'error', column, message: 'stopped' }); return; }
    try {
      const g = await generate(model, encodePrompt(model, prompt), {
        maxNewTokens: settings.maxNewTokens, greedy: settings.greedy || settings.temperature === 0, temperature: settings.temperature,
        topP: settings.topP, seed: Math.floor(Math.random() * 2 ** 31), signal,
        onToken: (t) => this.post({ type: 'token', column, index: t.index, text: t.text }),
      });
      this.post({ type: 'done', column, text: g.text,
        stats: { tokens: g.tokens.length, stoppedBy: g.stoppedBy, firstTokenMs: g.firstTokenMs, tokensPerSecond: g.tokensPerSecond, device: model.device } });
      await this.score(column, prompt, g.text);
    } catch (e) {
      this.fail(column, choice, e);
    }
  }

  /** The loaded export of a choice, exported first when the folder has none (shared by both columns). */
  private model(choice: PlaygroundChoice, column: number, signal: AbortSignal): Promise<OnnxCausalLM> {
    let p = this.models.get(choice.id);
    if (!p) {
      p = (async () => {
        if (!onnxGraphPath(choice.dir, choice.quantized)) {
          if (!this.o.prepare) throw new OnnxModelError(`${choice.dir}: no ONNX export (onnx/${choice.quantized ? 'model_quantized' : 'model'}.onnx)`);
          this.post({ type: 'status', column, message: `exporting ${choice.label} to ONNX…` });
          await this.o.prepare(choice, (message) => this.post({ type: 'status', column, message }), signal);
        }
        this.post({ type: 'status', column, message: `loading ${choice.label}…` });
        return loadOnnxCausalLM(choice.dir, { device: this.o.device ?? 'auto', quantized: choice.quantized });
      })();
      this.models.set(choice.id, p);
      p.catch(() => this.models.delete(choice.id)); // a failed export or load is tried again on the next Generate
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
    this.o.log?.(`playground ${choice.label}: ${e instanceof Error && !(e instanceof OnnxModelError) ? e.stack ?? message : message}`);
    this.post({ type: 'error', column, message });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.current?.abort();
    await this.running.catch(() => undefined);
    for (const p of this.models.values()) await p.then((m) => m.session.release(), () => undefined);
    this.models.clear();
  }
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

export interface DatasetPrompt { prompt: string; label?: unknown }

/**
 * The prompts of a run's dataset (its config.yaml data.prompts, prompt_key, label_key; the trainer
 * writes the config with absolute paths), at most `limit`; empty when the run has none readable.
 */
export function runDatasetPrompts(runDir: string, limit = 1000): DatasetPrompt[] {
  let data: { prompts?: unknown; prompt_key?: unknown; label_key?: unknown } | undefined;
  try { data = (YAML.parse(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8')) as { data?: typeof data } | null)?.data; } catch { return []; }
  if (!data || typeof data.prompts !== 'string') return [];
  const promptKey = typeof data.prompt_key === 'string' ? data.prompt_key : 'prompt';
  const labelKey = typeof data.label_key === 'string' ? data.label_key : 'answer';
  let text: string;
  try { text = fs.readFileSync(path.resolve(runDir, data.prompts), 'utf8'); } catch { return []; }
  const out: DatasetPrompt[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= limit) break;
    try {
      const row = JSON.parse(line) as Record<string, unknown>;
      if (typeof row[promptKey] === 'string') out.push({ prompt: row[promptKey], label: row[labelKey] });
    } catch { /* not a JSON line (blank, or the trainer reports it) */ }
  }
  return out;
}
